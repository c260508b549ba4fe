"""Poison items in the rejected store (moto DynamoDB): with their reason and place, once per redelivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from reviva.adapters.dynamodb.rejected_repository import RejectedRepository
from reviva.adapters.poison_sink import RejectedPoisonSink
from reviva.enrich.ports import PoisonItem

SEEN = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


def test_a_redelivered_poison_item_is_stored_once(aws: None) -> None:
    repository = RejectedRepository(b"k" * 32, clock=lambda: SEEN)
    sink = RejectedPoisonSink(repository)
    event = PoisonItem(
        "shardId-000000000000",
        "42",
        "a:v1",
        "event 1 of the record: enrich could not describe it: ValueError",
        json.dumps({"message_id": "m-1", "traits": {"email": "ana@example.com"}}).encode(),
        index=1,
        seen_at=SEEN,
    )
    record = PoisonItem("shardId-000000000000", "43", "a:v2", "envelope is truncated", b"RVZ1x", seen_at=SEEN)
    for _ in range(3):  # the first delivery and two of Lambda's retries
        sink.record_poison([event, record])

    stored = repository.list_recent(10)
    assert len(stored) == 2
    by_index = {item["index"]: item for item in stored}
    assert by_index[1]["reason"].startswith("event 1 of the record: enrich could not describe it")
    assert "sequence 42" in by_index[1]["reason"]
    assert "ana@example.com" not in by_index[1]["raw"]  # masked by the store
    assert by_index[1]["rejected_at"] == SEEN.isoformat()
