"""Stream records as enrich takes them: from the trigger, in both record formats, enriched exactly once."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from reviva.adapters.kinesis_publisher import build_records
from reviva.contracts.events import CollectedEvent
from reviva.contracts.stream_envelope import (
    ENVELOPE_MAGIC,
    encode_envelope,
    serialize_event,
)
from reviva.enrich.journey_rules import load_journey_rules
from reviva.enrich.service import EnrichPorts, process_batch
from reviva.enrich.stream_records import StreamRecord, decode_record, records_from_trigger
from reviva_dev.fakes.enrich import MemoryCounters, MemoryLake, MemoryPoison, MemoryVisitors
from tests.enrich.builders import GOOGLEBOT_UA, T0, browse, event

SHARD = "shardId-000000000000"
TRIGGERS = Path(__file__).resolve().parents[2] / "events" / "samples" / "triggers"


class EnvelopeStream:
    """One shard fed the way ingest feeds it: each `request` becomes its per-visitor envelopes."""

    def __init__(self) -> None:
        self.next_sequence = 100

    def request(self, *events: CollectedEvent) -> list[StreamRecord]:
        drafts, failed = build_records(events)
        assert not failed
        return [self._next(draft.partition_key, draft.data) for draft in drafts]

    def legacy(self, *events: CollectedEvent) -> list[StreamRecord]:
        return [self._next(e.visitor_key, serialize_event(e)) for e in events]

    def raw(self, data: bytes, key: str = "a:v1") -> StreamRecord:
        return self._next(key, data)

    def _next(self, key: str, data: bytes) -> StreamRecord:
        self.next_sequence += 1
        return StreamRecord(SHARD, str(self.next_sequence), key, data)


def new_ports() -> EnrichPorts:
    counters = MemoryCounters()
    return EnrichPorts(
        MemoryVisitors(counters), counters, MemoryLake(), MemoryPoison(), load_journey_rules(None)
    )


def memory(ports: EnrichPorts) -> tuple[MemoryVisitors, MemoryLake, MemoryCounters, MemoryPoison]:
    assert isinstance(ports.visitors, MemoryVisitors) and isinstance(ports.lake, MemoryLake)
    assert isinstance(ports.counters, MemoryCounters) and isinstance(ports.poison, MemoryPoison)
    return ports.visitors, ports.lake, ports.counters, ports.poison


def snapshot(ports: EnrichPorts) -> dict[str, Any]:
    """Everything the stores hold, minus stream provenance (which differs between formats)."""
    visitors, lake, counters, _ = memory(ports)
    return {
        "profiles": {k: v.state.model_dump() for k, v in visitors.profiles.items()},
        "sessions": {k: {s: v.model_dump() for s, v in d.items()} for k, d in visitors.sessions.items()},
        "links": visitors.links,
        "lake": sorted(
            (r.model_dump(exclude={"sequence_number", "shard_id"}) for r in lake.rows),
            key=lambda row: row["message_id"],
        ),
        "counts": dict(counters.counts),
        "minute_visitors": counters.visitors,
    }


# -------------------------------------------------------------------------------------- trigger


def test_envelope_trigger_sample_decodes_to_one_visitor_per_record() -> None:
    trigger = json.loads((TRIGGERS / "kinesis_envelope_batch.json").read_text())
    records = records_from_trigger(trigger)
    assert len(records) >= 2
    for stream_record in records:
        decoded = decode_record(stream_record)
        assert not decoded.legacy and not decoded.invalid and decoded.events
        assert {e.visitor_key for e in decoded.events} == {stream_record.partition_key}
        timestamps = [e.timestamp for e in decoded.events]
        assert timestamps == sorted(timestamps)


# ----------------------------------------------------------------------------------- enrichment


def test_envelopes_enrich_exactly_like_one_record_per_event() -> None:
    requests = [
        [*browse("v1", 2), *browse("v2", 1)],
        [*browse("v1", 1, start=2), event("bot", user_agent=GOOGLEBOT_UA, message_id="bot-1")],
        [*browse("v2", 3, start=1), event("v1", kind="track", name="Quote Requested", message_id="q-1")],
    ]
    legacy_ports, envelope_ports = new_ports(), new_ports()
    legacy_stream, envelope_stream = EnvelopeStream(), EnvelopeStream()
    legacy = process_batch([r for req in requests for r in legacy_stream.legacy(*req)], legacy_ports)
    records = [r for req in requests for r in envelope_stream.request(*req)]
    enveloped = process_batch(records, envelope_ports)

    assert len(records) == 6, "one record per (request, visitor)"
    assert snapshot(envelope_ports) == snapshot(legacy_ports)
    assert enveloped.stats["records"] == 6 and legacy.stats["records"] == 9
    for name in ("events", "new", "bot"):
        assert enveloped.stats[name] == legacy.stats[name], name
    assert enveloped.stats["events"] == 9 and enveloped.stats["bot"] == 1
    _, lake, _, _ = memory(envelope_ports)
    # Every row names the record that carried it; the lake's watermark compares those numbers.
    by_message = {row.message_id: row.sequence_number for row in lake.rows}
    assert {by_message["v1-0"], by_message["v1-1"]} == {records[0].sequence_number}
    assert by_message["v2-0"] == records[1].sequence_number


def test_redelivered_envelopes_change_nothing() -> None:
    ports, stream = new_ports(), EnvelopeStream()
    records = [
        *stream.request(*browse("v1", 3), *browse("v2", 2)),
        *stream.request(*browse("v1", 2, start=3)),
    ]
    process_batch(records, ports)
    before = snapshot(ports)
    again = process_batch(records, ports)
    assert again.failed_sequence_numbers == []
    assert again.stats["already_applied"] == 7 and again.stats["new"] == 0
    assert snapshot(ports) == before
    visitors, lake, counters, _ = memory(ports)
    assert visitors.profiles["a:v1"].state.profile.total_page_views == 5
    assert len(lake.rows) == 7 and counters.counts["page"] == 7


def test_duplicates_inside_an_envelope_and_across_requests_count_once() -> None:
    ports, stream = new_ports(), EnvelopeStream()
    first = event("v1", path="/pricing", message_id="m-1")
    retried = event("v1", at=T0 + timedelta(seconds=5), path="/pricing", message_id="m-1")
    outcome = process_batch(stream.request(first, retried), ports)
    assert outcome.stats["duplicate"] == 1
    # A client retry of the whole request arrives as a new record in a later batch.
    later = process_batch(stream.request(first, event("v1", path="/book", message_id="m-2")), ports)
    assert later.stats["duplicate"] == 1 and later.stats["new"] == 1
    visitors, lake, counters, _ = memory(ports)
    assert visitors.profiles["a:v1"].state.profile.total_page_views == 2
    assert sorted(r.message_id for r in lake.rows) == ["m-1", "m-2"]
    assert counters.counts["page"] == 2


def test_a_failed_visitor_reports_each_record_once_and_redelivery_is_exact() -> None:
    requests = [
        [*browse("ok", 2), *browse("x-broken", 2)],
        [*browse("x-broken", 2, start=2), *browse("ok", 1, start=2)],
    ]
    reference = new_ports()
    reference_stream = EnvelopeStream()
    process_batch([r for req in requests for r in reference_stream.request(*req)], reference)

    ports, stream = new_ports(), EnvelopeStream()
    records = [r for req in requests for r in stream.request(*req)]
    visitors, _, _, _ = memory(ports)
    # Not the batch's first visitor: that one carries the counters, and its failure fails the batch.
    visitors.fail_keys.add("a:x-broken")
    outcome = process_batch(records, ports)
    broken = [r.sequence_number for r in records if r.partition_key == "a:x-broken"]
    assert outcome.failed_sequence_numbers == broken and len(broken) == 2

    # Lambda redelivers from the lowest failed record onwards (a healthy visitor's record with it).
    visitors.fail_keys.clear()
    lowest = int(outcome.failed_sequence_numbers[0])
    again = process_batch([r for r in records if r.sequence >= lowest], ports)
    assert again.failed_sequence_numbers == []
    assert snapshot(ports) == snapshot(reference)


def test_legacy_and_envelope_records_mix_in_one_batch() -> None:
    ports, stream = new_ports(), EnvelopeStream()
    records = [*stream.legacy(*browse("v1", 2)), *stream.request(*browse("v1", 2, start=2), *browse("v2", 1))]
    outcome = process_batch(records, ports)
    assert outcome.stats["records"] == 4 and outcome.stats["events"] == 5 and outcome.stats["new"] == 5
    visitors, lake, _, _ = memory(ports)
    profile = visitors.profiles["a:v1"]
    assert profile.state.profile.total_page_views == 4
    assert profile.watermarks[SHARD] == records[2].sequence_number
    assert len(lake.rows) == 5


def test_invalid_events_are_kept_as_poison_and_their_neighbours_enriched() -> None:
    ports, stream = new_ports(), EnvelopeStream()
    good = browse("v1", 2)
    bad = json.dumps({"message_id": "broken", "type": "page", "visitor_key": "a:v1"}).encode()
    mixed = stream.raw(encode_envelope([serialize_event(good[0]), bad, serialize_event(good[1])]))
    unreadable = stream.raw(ENVELOPE_MAGIC + b"\x00garbage", key="a:v2")
    outcome = process_batch([mixed, unreadable, *stream.request(*browse("v3", 1))], ports)
    assert outcome.failed_sequence_numbers == []
    assert outcome.stats["poison"] == 1 and outcome.stats["poison_events"] == 1
    assert outcome.stats["events"] == 3 and outcome.stats["new"] == 3
    visitors, lake, _, poison = memory(ports)
    assert visitors.profiles["a:v1"].state.profile.total_page_views == 2
    assert sorted(r.message_id for r in lake.rows) == ["v1-0", "v1-1", "v3-0"]
    by_sequence = {item.sequence_number: item for item in poison.items}
    event_item, record_item = by_sequence[mixed.sequence_number], by_sequence[unreadable.sequence_number]
    assert event_item.raw == bad and event_item.reason.startswith("event 1 of 3 in the record: ")
    assert "timestamp" in event_item.reason or "received_at" in event_item.reason
    assert record_item.raw == unreadable.data and "zlib" in record_item.reason


def test_records_from_the_local_trigger_shape_enrich() -> None:
    """The local stream poller hands enrich base64 data; an envelope survives the round trip."""
    from reviva_dev.local.stream_poller import StreamRecord as PolledRecord
    from reviva_dev.local.stream_poller import build_kinesis_event

    stream = EnvelopeStream()
    records = stream.request(*browse("v1", 3))
    trigger = build_kinesis_event(
        [PolledRecord(r.shard_id, r.sequence_number, r.partition_key, r.data, 0.0) for r in records],
        stream_arn="arn:aws:kinesis:us-east-1:123456789012:stream/events",
        region="us-east-1",
        invoke_identity_arn="arn:aws:iam::123456789012:role/enrich",
    )
    assert base64.b64decode(trigger["Records"][0]["kinesis"]["data"]).startswith(ENVELOPE_MAGIC)
    ports = new_ports()
    outcome = process_batch(records_from_trigger(trigger), ports)
    assert outcome.stats["new"] == 3
    assert memory(ports)[0].profiles["a:v1"].state.profile.total_page_views == 3


def test_a_record_knows_when_the_stream_took_it() -> None:
    """The arrival time names a poison item's place in time, the same on every redelivery."""

    def trigger(arrival: object) -> dict[str, Any]:
        kinesis = {"data": base64.b64encode(b"{}").decode(), "sequenceNumber": "7", "partitionKey": "a:v1"}
        if arrival is not None:
            kinesis["approximateArrivalTimestamp"] = arrival  # type: ignore[assignment]
        return {"Records": [{"eventID": "shardId-000000000000:7", "kinesis": kinesis}]}

    [record] = records_from_trigger(trigger(1741953600.25))
    assert (
        record.arrived_at is not None and record.arrived_at.isoformat() == "2025-03-14T12:00:00.250000+00:00"
    )
    assert records_from_trigger(trigger(None))[0].arrived_at is None
    assert records_from_trigger(trigger("yesterday"))[0].arrived_at is None
    assert records_from_trigger(trigger(1e300))[0].arrived_at is None
