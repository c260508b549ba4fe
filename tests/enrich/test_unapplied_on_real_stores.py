"""A re-send after a given-up visitor write, on the real adapters: DynamoDB (moto) and an Iceberg lake."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from moto import mock_aws

from reviva.adapters.dynamodb.counter_repository import DynamoCounterRepository
from reviva.adapters.dynamodb.tables import create_tables
from reviva.adapters.lake import events_table_identifier, load_lake_catalog, scan_events
from reviva.composition import current_composition
from reviva.enrich.ports import VisitorCommit, VisitorRepository
from reviva.enrich.service import EnrichPorts, process_batch
from reviva.settings import load_settings, reset_settings_cache
from tests.enrich.builders import T0, Stream, browse
from tests.local_lake import use_local_lake


class _Throttled:
    """The real visitor repository, with the writes of some visitors failing as a throttled table's would."""

    def __init__(self, real: VisitorRepository, failing: set[str]) -> None:
        self._real = real
        self.failing = failing

    def load(self, visitor_keys):  # type: ignore[no-untyped-def]
        return self._real.load(visitor_keys)

    def commit(self, commit: VisitorCommit) -> None:
        if commit.visitor_key in self.failing:
            raise RuntimeError("ProvisionedThroughputExceededException (injected)")
        self._real.commit(commit)


@pytest.fixture
def ports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EnrichPorts]:
    use_local_lake(tmp_path, monkeypatch)
    with mock_aws():
        create_tables(load_settings())
        real = current_composition().enrich
        yield dataclasses.replace(real, visitors=_Throttled(real.visitors, set()))
    reset_settings_cache()


def test_a_resend_after_a_given_up_write_is_one_lake_row_one_count_one_profile_update(
    ports: EnrichPorts,
) -> None:
    throttled = ports.visitors
    assert isinstance(throttled, _Throttled)
    stream = Stream()
    events = [*browse("v1", 2), *browse("v2", 3)]
    for e in events:  # counted live: arrived within the hour
        e.received_at = T0 + timedelta(seconds=5)
    throttled.failing = {"a:v2"}
    first = process_batch(stream.records(*events), ports)
    assert first.failed_sequence_numbers  # ... and Lambda gives up after its retries
    throttled.failing = set()

    resend = process_batch(stream.records(*events[2:]), ports)

    assert resend.failed_sequence_numbers == [] and resend.stats["unapplied_applied"] == 3
    settings = load_settings()
    lake_table = load_lake_catalog(settings).load_table(events_table_identifier(settings))
    copies = Counter(scan_events(lake_table).column("message_id").to_pylist())
    assert copies == Counter({e.message_id: 1 for e in events})
    counters = ports.counters
    assert isinstance(counters, DynamoCounterRepository)
    window = counters.read_window(T0 + timedelta(minutes=10), minutes=30)
    assert sum(counts["page"] for _, counts, _ in window) == 5
    profiles = ports.visitors.load(["a:v1", "a:v2"])
    assert {k: p.state.profile.total_page_views for k, p in profiles.items()} == {"a:v1": 2, "a:v2": 3}
    assert ports.lake.unapplied(stream.shard_id) is None
