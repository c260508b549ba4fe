"""KinesisPublisher: one envelope record per (request, visitor), chunking, retrying only failed
records, and reporting every event whose record never landed."""

from __future__ import annotations

import base64
import json
import random
import zlib
from datetime import UTC, datetime
from typing import Any

import pytest

from reviva.adapters.kinesis_publisher import (
    MAX_BYTES_PER_CALL,
    MAX_BYTES_PER_RECORD,
    MAX_EVENTS_PER_RECORD,
    MAX_PAYLOAD_BYTES_PER_RECORD,
    MAX_RECORDS_PER_CALL,
    KinesisPublisher,
    build_records,
    partition_key,
)
from reviva.contracts.events import CollectedEvent
from reviva.contracts.stream_envelope import ENVELOPE_MAGIC
from reviva.enrich.stream_records import StreamRecord, decode_record
from reviva.settings import load_settings
from reviva_dev.fakes.ingest import FlakyKinesis
from tests.ingest.harness import Harness, load_sample, read_stream

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


def event(n: int, visitor: str | None = None, blob: str = "", **properties: Any) -> CollectedEvent:
    return CollectedEvent(
        message_id=f"m-{n}",
        type="track",
        event="Pricing Viewed",
        visitor_key=visitor or f"a:visitor-{n % 7}",
        anonymous_id=f"visitor-{n % 7}",
        timestamp=NOW,
        received_at=NOW,
        properties={"blob": blob, **properties} if blob else properties,
    )


def incompressible(size: int, seed: int) -> str:
    """Text that deflate cannot shrink much (base64 of random bytes: ~75% of its length)."""
    return base64.b64encode(random.Random(seed).randbytes(size * 3 // 4)).decode()[:size]


def carried(data: bytes) -> list[CollectedEvent]:
    """The events a record's data carries, read the way enrich reads them."""
    decoded = decode_record(StreamRecord("shardId-test", "1", "", data))
    assert not decoded.invalid
    return decoded.events


def message_ids(record: dict[str, Any]) -> list[str]:
    return [e.message_id for e in carried(record["Data"])]


def publisher(client: Any, **kwargs: Any) -> KinesisPublisher:
    return KinesisPublisher(client, "events", sleep=lambda _: None, **kwargs)


def test_one_record_per_visitor_in_request_order() -> None:
    kinesis = FlakyKinesis()
    visitors = ["a:x", "a:y", "a:x", "a:z", "a:y", "a:x"]
    events = [event(n, visitor=v) for n, v in enumerate(visitors)]
    result = publisher(kinesis).publish(events)
    assert result.all_published and result.published == 6 and result.records == 3 and result.calls == 1
    (call,) = kinesis.calls
    # Records come in the order of each visitor's first event; each holds its visitor's events in order.
    assert [r["PartitionKey"] for r in call] == ["a:x", "a:y", "a:z"]
    assert [message_ids(r) for r in call] == [["m-0", "m-2", "m-5"], ["m-1", "m-4"], ["m-3"]]
    assert all(r["Data"].startswith(ENVELOPE_MAGIC) for r in call)
    assert carried(call[0]["Data"]) == [events[0], events[2], events[5]]
    assert result.record_bytes == sum(len(r["Data"]) + len(r["PartitionKey"]) for r in call)


def test_a_failed_record_fails_every_event_it_carries() -> None:
    kinesis = FlakyKinesis({"m-2": 99})
    visitors = ["a:x", "a:y", "a:x", "a:y", "a:x"]
    result = publisher(kinesis, max_attempts=3).publish([event(n, visitor=v) for n, v in enumerate(visitors)])
    # m-2 rides with m-0 and m-4 (visitor x): all three are reported, by their index in the request.
    assert [(f.index, f.error_code) for f in result.failed] == [
        (0, "ProvisionedThroughputExceededException"),
        (2, "ProvisionedThroughputExceededException"),
        (4, "ProvisionedThroughputExceededException"),
    ]
    assert result.published == 2 and result.records == 1 and result.calls == 3
    assert [message_ids(r) for r in kinesis.accepted] == [["m-1", "m-3"]]


def test_retries_only_the_failed_records() -> None:
    kinesis = FlakyKinesis({"m-1": 1, "m-3": 2})
    result = publisher(kinesis).publish([event(n) for n in range(5)])
    assert result.all_published and result.published == 5 and result.calls == 3
    assert [len(call) for call in kinesis.calls] == [5, 2, 1]
    assert [message_ids(r) for r in kinesis.calls[1]] == [["m-1"], ["m-3"]]
    assert sorted(m for r in kinesis.accepted for m in message_ids(r)) == [f"m-{n}" for n in range(5)]


def test_reports_records_that_never_land() -> None:
    kinesis = FlakyKinesis({"m-2": 99})
    result = publisher(kinesis, max_attempts=3).publish([event(n) for n in range(4)])
    assert result.published == 3 and result.calls == 3
    assert [(f.index, f.error_code) for f in result.failed] == [(2, "ProvisionedThroughputExceededException")]


def test_whole_call_errors_are_retried_then_reported() -> None:
    kinesis = FlakyKinesis(raise_times=1)
    assert publisher(kinesis).publish([event(1)]).all_published
    down = FlakyKinesis(raise_times=10)
    result = publisher(down, max_attempts=2).publish([event(1), event(2), event(8)])
    # Visitors 1 and 2 (event 8 is visitor 1 again): every event of every record is reported.
    assert result.failed_indexes() == {0, 1, 2} and result.failed[0].error_code == "EndpointConnectionError"
    assert result.published == 0 and result.records == 0
    missing = FlakyKinesis(raise_times=10, error_code="ResourceNotFoundException")
    result = publisher(missing, max_attempts=4).publish([event(1)])
    assert len(missing.calls) == 1, "a missing stream is not retried"
    assert result.failed[0].error_code == "ResourceNotFoundException"


def test_a_visitor_with_many_events_fills_several_records_in_order() -> None:
    kinesis = FlakyKinesis()
    count = MAX_EVENTS_PER_RECORD * 2 + 1
    result = publisher(kinesis).publish([event(n, visitor="a:busy") for n in range(count)])
    assert result.all_published and result.records == 3
    ids = [message_ids(r) for r in kinesis.calls[0]]
    assert [len(i) for i in ids] == [MAX_EVENTS_PER_RECORD, MAX_EVENTS_PER_RECORD, 1]
    assert [m for chunk in ids for m in chunk] == [f"m-{n}" for n in range(count)]


def test_envelopes_split_before_the_record_size_limit() -> None:
    kinesis = FlakyKinesis()
    blob_size = 300_000
    events = [event(n, visitor="a:big", blob=incompressible(blob_size, n)) for n in range(7)]
    result = publisher(kinesis).publish(events)
    assert result.all_published and result.published == 7
    records = [r for call in kinesis.calls for r in call]
    # Three 300 KB events fit the 1,000,000-byte payload budget; a fourth would not.
    assert [len(message_ids(r)) for r in records] == [3, 3, 1]
    assert [m for r in records for m in message_ids(r)] == [f"m-{n}" for n in range(7)]
    for record in records:
        assert len(record["Data"]) + len(record["PartitionKey"]) <= MAX_BYTES_PER_RECORD
        payload = zlib.decompress(record["Data"][len(ENVELOPE_MAGIC) :])
        assert len(payload) <= MAX_PAYLOAD_BYTES_PER_RECORD


def test_an_event_too_large_for_any_record_fails_alone() -> None:
    kinesis = FlakyKinesis()
    huge = incompressible(1_500_000, 1)
    events = [event(0, visitor="a:v"), event(1, visitor="a:v", blob=huge), event(2, visitor="a:v")]
    result = publisher(kinesis).publish(events)
    assert [(f.index, f.error_code) for f in result.failed] == [(1, "RecordTooLarge")]
    assert result.published == 2
    assert [message_ids(r) for call in kinesis.calls for r in call] == [["m-0"], ["m-2"]]


def test_an_event_that_cannot_be_serialized_fails_alone() -> None:
    kinesis = FlakyKinesis()
    events = [event(0, visitor="a:v"), event(1, visitor="a:v", note="\ud800"), event(2, visitor="a:v")]
    result = publisher(kinesis).publish(events)
    assert [(f.index, f.error_code) for f in result.failed] == [(1, "SerializationError")]
    assert [message_ids(r) for r in kinesis.calls[0]] == [["m-0", "m-2"]]


def test_chunks_by_count_and_bytes() -> None:
    kinesis = FlakyKinesis()
    count = MAX_RECORDS_PER_CALL * 2 + 1
    publisher(kinesis).publish([event(n, visitor=f"a:v{n}") for n in range(count)])
    assert [len(call) for call in kinesis.calls] == [500, 500, 1]
    kinesis = FlakyKinesis()
    events = [event(n, visitor=f"a:v{n}", blob=incompressible(800 * 1024, n)) for n in range(10)]
    result = publisher(kinesis).publish(events)
    assert result.all_published and len(kinesis.calls) > 1
    assert sum(len(call) for call in kinesis.calls) == 10
    for call in kinesis.calls:
        assert sum(len(r["Data"]) + len(r["PartitionKey"]) for r in call) <= MAX_BYTES_PER_CALL


def test_legacy_format_puts_one_plain_record_per_event() -> None:
    kinesis = FlakyKinesis()
    events = [event(n, visitor="a:same") for n in range(3)]
    result = publisher(kinesis, record_format="event").publish(events)
    assert result.records == 3
    assert [json.loads(r["Data"])["message_id"] for r in kinesis.calls[0]] == ["m-0", "m-1", "m-2"]
    with pytest.raises(ValueError):
        publisher(kinesis, record_format="zip")


def test_envelopes_fit_what_ingest_builds_from_the_samples_in_fewer_kilobyte_units(harness: Harness) -> None:
    """Kinesis bills each record in whole 1 KB units: a plain event (~1.4 KB) costs two."""
    harness.post("/v1/batch", load_sample("segment/batch.json"))
    events = harness.publisher.events
    legacy, _ = build_records(events, "event")
    envelopes, _ = build_records(events)
    assert len(legacy) == len(events) and len({e.visitor_key for e in events}) == len(envelopes)
    assert [carried(r.data) for r in envelopes] == [
        [e for e in events if partition_key(e.visitor_key) == r.partition_key] for r in envelopes
    ]
    legacy_units = sum(-(-r.size // 1024) for r in legacy)
    envelope_units = sum(-(-r.size // 1024) for r in envelopes)
    assert sum(r.size for r in envelopes) < 0.6 * sum(r.size for r in legacy)
    assert envelope_units < legacy_units


def test_partition_key_is_the_visitor_and_stays_within_kinesis_limits() -> None:
    assert partition_key("a:anon-1") == "a:anon-1"
    long_key = "a:" + "x" * 256
    hashed = partition_key(long_key)
    assert hashed.startswith("h:") and len(hashed) <= 256 and hashed == partition_key(long_key)
    kinesis = FlakyKinesis()
    publisher(kinesis).publish([event(1, visitor="a:v1"), event(2, visitor=long_key)])
    assert [r["PartitionKey"] for r in kinesis.calls[0]] == ["a:v1", hashed]


def test_on_moto_records_land_on_the_stream_and_decode(aws: None) -> None:
    from reviva.aws_clients import client

    settings = load_settings()
    events = [event(n) for n in range(30)]
    result = KinesisPublisher(client("kinesis", settings), settings.events_stream).publish(events)
    assert result.all_published and result.published == 30 and result.calls == 1 and result.records == 7
    landed = read_stream(settings.events_stream)
    assert len(landed) == 7
    decoded = [carried(data) for data in landed]
    assert sorted(e.message_id for chunk in decoded for e in chunk) == sorted(e.message_id for e in events)
    for chunk in decoded:
        # One visitor per record, its events in the order they were published, unchanged.
        assert len({e.visitor_key for e in chunk}) == 1
        assert chunk == [e for e in events if e.visitor_key == chunk[0].visitor_key]


@pytest.mark.parametrize("attempts", [0, -1])
def test_needs_at_least_one_attempt(attempts: int) -> None:
    with pytest.raises(ValueError):
        KinesisPublisher(FlakyKinesis(), "events", max_attempts=attempts)
