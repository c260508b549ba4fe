"""Replaying batches enrich gave up on: from the on-failure pointer back through enrich, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reviva.enrich.replay import FailedBatch, InvalidFailurePointer, replay_failed_batches
from reviva.enrich.service import process_batch
from reviva.enrich.stream_records import StreamRecord
from reviva_dev.fakes.enrich import (
    memory_enrich_ports,
)
from reviva_dev.fakes.replay import MemoryFailedBatchQueue, MemoryStream
from tests.enrich.builders import T0, Stream, browse

STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/reviva-events"
RETENTION = timedelta(hours=24)


def pointer(records: list[StreamRecord], arrival: datetime = T0) -> dict[str, Any]:
    """What Lambda puts in the on-failure destination for a batch: where it lies, never the records."""
    stamp = arrival.isoformat().replace("+00:00", "Z")
    return {
        "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 6},
        "version": "1.0",
        "KinesisBatchInfo": {
            "shardId": records[0].shard_id,
            "startSequenceNumber": records[0].sequence_number,
            "endSequenceNumber": records[-1].sequence_number,
            "approximateArrivalOfFirstRecord": stamp,
            "approximateArrivalOfLastRecord": stamp,
            "batchSize": len(records),
            "streamArn": STREAM_ARN,
        },
    }


memory_ports = memory_enrich_ports


def test_a_batch_whose_visitor_write_failed_is_replayed_once_and_its_pointer_deleted() -> None:
    ports, visitors, lake, counters = memory_ports()
    records = Stream().records(*browse("v1", 3), *browse("v2", 2))
    # v2's writes fail through every retry (v1's carries the batch's counters, so it goes through).
    visitors.fail_keys = {"a:v2"}
    first = process_batch(records, ports)
    assert first.failed_sequence_numbers, "the failure the replay exists for"
    visitors.fail_keys = set()

    queue = MemoryFailedBatchQueue([pointer(records)])
    report = replay_failed_batches(
        queue, MemoryStream(records), ports, now=T0 + timedelta(hours=3), retention=RETENTION
    )
    assert [b.status for b in report.batches] == ["replayed"]
    assert queue.messages == [] and queue.deleted == ["m0"]
    assert visitors.profiles["a:v1"].state.profile.total_page_views == 3
    assert visitors.profiles["a:v2"].state.profile.total_page_views == 2
    # The lake and the counters had the batch already: the replay adds nothing to them.
    assert len(lake.rows) == 5
    assert counters.counts["page"] == 5

    # A second replay of the same pointer (a pointer delivered twice) changes nothing.
    again = replay_failed_batches(
        MemoryFailedBatchQueue([pointer(records)]),
        MemoryStream(records),
        ports,
        now=T0 + timedelta(hours=4),
        retention=RETENTION,
    )
    assert [b.status for b in again.batches] == ["replayed"]
    assert visitors.profiles["a:v1"].state.profile.total_page_views == 3
    assert visitors.profiles["a:v2"].state.profile.total_page_views == 2
    assert len(lake.rows) == 5 and counters.counts["page"] == 5


def test_a_batch_older_than_the_stream_retention_is_reported_expired_and_kept() -> None:
    ports, visitors, _, _ = memory_ports()
    records = Stream().records(*browse("v1", 2))
    queue = MemoryFailedBatchQueue([pointer(records)])
    report = replay_failed_batches(
        queue, MemoryStream(records), ports, now=T0 + RETENTION + timedelta(seconds=1), retention=RETENTION
    )
    assert [b.status for b in report.batches] == ["expired"]
    assert "dropped these records" in report.batches[0].detail
    assert len(queue.messages) == 1 and visitors.profiles == {}


def test_records_the_stream_no_longer_holds_are_expired_not_replayed() -> None:
    ports, _, _, _ = memory_ports()
    records = Stream().records(*browse("v1", 2))
    report = replay_failed_batches(
        MemoryFailedBatchQueue([pointer(records)]), MemoryStream([]), ports, now=T0, retention=RETENTION
    )
    assert [b.status for b in report.batches] == ["expired"]


def test_a_batch_that_fails_again_keeps_its_pointer() -> None:
    ports, visitors, _, _ = memory_ports()
    records = Stream().records(*browse("v1", 2))
    visitors.fail_keys = {"a:v1"}
    queue = MemoryFailedBatchQueue([pointer(records)])
    report = replay_failed_batches(queue, MemoryStream(records), ports, now=T0, retention=RETENTION)
    assert [b.status for b in report.batches] == ["partly_failed"]
    assert len(queue.messages) == 1


def test_a_dry_run_changes_nothing_and_says_how_long_is_left() -> None:
    ports, visitors, lake, _ = memory_ports()
    records = Stream().records(*browse("v1", 2))
    queue = MemoryFailedBatchQueue([pointer(records)])
    report = replay_failed_batches(
        queue, MemoryStream(records), ports, now=T0 + timedelta(hours=20), retention=RETENTION, dry_run=True
    )
    assert [b.status for b in report.batches] == ["would_replay"]
    assert "4:00:00 left" in report.batches[0].detail
    assert len(queue.messages) == 1 and visitors.profiles == {} and lake.rows == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "no KinesisBatchInfo"),
        ({"KinesisBatchInfo": {"shardId": "s"}}, "incomplete"),
        (
            {
                "KinesisBatchInfo": {
                    "shardId": "s",
                    "streamArn": STREAM_ARN,
                    "startSequenceNumber": "9",
                    "endSequenceNumber": "3",
                    "approximateArrivalOfFirstRecord": "2026-11-30T12:00:00Z",
                }
            },
            "not a range",
        ),
    ],
)
def test_a_message_that_is_not_a_kinesis_pointer_is_reported_invalid(
    body: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidFailurePointer, match=reason):
        FailedBatch.from_pointer(body)
    ports, _, _, _ = memory_ports()
    queue = MemoryFailedBatchQueue([body])
    report = replay_failed_batches(queue, MemoryStream(), ports, now=datetime.now(UTC), retention=RETENTION)
    assert [b.status for b in report.batches] == ["invalid"] and len(queue.messages) == 1
