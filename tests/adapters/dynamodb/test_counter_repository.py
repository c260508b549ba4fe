"""DynamoCounterRepository on moto: the shard watermark guards the live counters against double counting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reviva.adapters.dynamodb.counter_repository import DynamoCounterRepository
from reviva.enrich.ports import CounterCommit, CountersMoved, MinuteCounts
from reviva.settings import Settings


def test_counter_watermark_guards_double_counting(settings: Settings) -> None:
    counters = DynamoCounterRepository(settings)
    minute = MinuteCounts(counts={"page": 3, "event:Pricing Viewed": 1}, visitors={"abc", "def"})
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    bucket = now.strftime("%Y-%m-%dT%H:%M")
    counters.commit(CounterCommit("shard-1", None, "10", {bucket: minute}))
    assert counters.watermark("shard-1") == "10"
    with pytest.raises(CountersMoved):
        counters.commit(CounterCommit("shard-1", None, "10", {bucket: minute}))
    counters.commit(
        CounterCommit("shard-2", None, "4", {bucket: MinuteCounts(counts={"page": 2}, visitors={"abc"})})
    )
    window = counters.read_window(now + timedelta(seconds=30))
    assert len(window) == 1
    _, totals, visitors = window[0]
    assert totals["page"] == 5
    assert totals["event:Pricing Viewed"] == 1
    assert visitors == {"abc", "def"}
