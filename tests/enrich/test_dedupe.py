"""The window of recent messageIds: what it catches, how it packs, and the previous format."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviva.adapters.kinesis_publisher import StreamRecordDraft, build_records
from reviva.enrich.dedupe import (
    DELIVERY_MIN_EVENTS,
    DIGEST_BITS,
    WINDOW,
    RecentMessageIds,
    from_legacy,
    message_digest,
    pack_digests,
    unpack_digests,
)
from reviva.enrich.journey_rules import load_journey_rules
from reviva.enrich.service import EnrichPorts, process_batch
from reviva.enrich.stream_records import StreamRecord
from reviva_dev.fakes.enrich import MemoryCounters, MemoryLake, MemoryPoison, MemoryVisitors
from tests.enrich.builders import T0, Stream, event

TRACKER_POLICY = Path(__file__).resolve().parents[2] / "tracker" / "delivery-policy.json"
EVENTS_PER_YEAR = 12 * 1_000_000_000  # 1 billion events a month


def test_the_window_holds_a_whole_retried_tracker_request() -> None:
    # A client retries an unanswered request before its next one: every message of the largest
    # request the tracker sends must still be remembered when the retry arrives.
    max_batch = json.loads(TRACKER_POLICY.read_text())["maxBatch"]
    assert max_batch <= WINDOW
    recent = RecentMessageIds()
    request = [f"m-{i}" for i in range(max_batch)]
    for message_id in request:
        recent.add(message_id)
    restored = RecentMessageIds(recent.pack())
    assert all(message_id in restored for message_id in request)


def test_false_drops_stay_under_one_tenth_of_an_event_a_year_at_a_billion_a_month() -> None:
    # A new message is dropped only if its digest equals one of the <= WINDOW remembered ones.
    assert EVENTS_PER_YEAR * WINDOW / 2**DIGEST_BITS < 0.1


def test_the_oldest_ids_are_forgotten_beyond_the_window() -> None:
    recent = RecentMessageIds(window=3)
    for message_id in ("a", "b", "c", "b", "d"):
        recent.add(message_id)
    assert len(recent) == 3
    assert "a" not in recent
    assert all(message_id in recent for message_id in ("b", "c", "d"))
    restored = RecentMessageIds(recent.pack(), window=3)
    restored.add("e")
    assert "b" not in restored and "e" in restored


@given(st.lists(st.integers(min_value=0, max_value=2**DIGEST_BITS - 1), max_size=WINDOW + 5))
def test_digests_pack_in_five_and_a_half_bytes_each_and_unpack_in_order(digests: list[int]) -> None:
    packed = pack_digests(digests)
    assert len(packed) == math.ceil(len(digests) * DIGEST_BITS / 8)
    assert unpack_digests(packed) == digests


def test_a_full_window_is_smaller_than_the_previous_format() -> None:
    recent = RecentMessageIds()
    for i in range(WINDOW + 10):
        recent.add(f"message-{i}")
    assert len(recent) == WINDOW
    assert len(recent.pack()) == 704  # 768 with the previous 6-byte digests


def test_a_window_in_the_previous_format_converts_exactly() -> None:
    # The previous format stored whole 6-byte BLAKE2b digests, oldest first.
    ids = [f"legacy-{i}" for i in range(WINDOW)]
    legacy = b"".join(hashlib.blake2b(m.encode(), digest_size=6).digest() for m in ids)
    converted = from_legacy(legacy)
    assert unpack_digests(converted) == [message_digest(m) for m in ids]
    recent = RecentMessageIds(converted)
    assert all(m in recent for m in ids)
    recent.add("new")  # the oldest legacy id makes room, as it would have before
    assert ids[0] not in recent and ids[1] in recent and "new" in recent
    assert from_legacy(None) == b"" and from_legacy(b"") == b""


def test_a_digest_stored_twice_is_kept_at_its_latest_position() -> None:
    first, second = message_digest("x"), message_digest("y")
    recent = RecentMessageIds(pack_digests([first, second, first]), window=2)
    recent.add("z")  # forgets "y", the oldest distinct id
    assert "x" in recent and "y" not in recent and "z" in recent


# ------------------------------------------------------------------ whole deliveries, of any size


def _delivered(drafts: list[StreamRecordDraft], stream: Stream) -> list[StreamRecord]:
    """The records `build_records` made, put on one shard (in order, each with the next sequence)."""
    records = []
    for draft in drafts:
        records.append(
            StreamRecord(stream.shard_id, str(stream.next_sequence), draft.partition_key, draft.data)
        )
        stream.next_sequence += 1
    return records


@pytest.mark.parametrize("size", [129, 500, 2_500])
@pytest.mark.parametrize("same_batch", [False, True])
def test_a_request_of_any_size_delivered_twice_counts_once(size: int, same_batch: bool) -> None:
    counters = MemoryCounters()
    visitors = MemoryVisitors(counters)
    lake = MemoryLake()
    ports = EnrichPorts(visitors, counters, lake, MemoryPoison(), load_journey_rules(None))
    events = [
        event("v1", kind="track", name="Quote Requested", at=T0 + timedelta(seconds=i), message_id=f"m{i}")
        for i in range(size)
    ]
    drafts, failed = build_records(events)
    assert not failed
    stream = Stream()
    first, again = _delivered(drafts, stream), _delivered(drafts, stream)  # ingest re-put every record
    if same_batch:
        process_batch([*first, *again], ports)
    else:
        process_batch(first, ports)
        process_batch(again, ports)
    assert visitors.profiles["a:v1"].state.profile.total_events == size
    assert len(lake.rows) == size
    assert counters.counts["track"] == size


def test_tracker_requests_stay_below_the_delivery_threshold() -> None:
    # Only records above the threshold are remembered whole; the tracker's ordinary requests (it
    # flushes at `flushAt` messages) never are, so its visitors' profile items carry nothing more.
    assert json.loads(TRACKER_POLICY.read_text())["flushAt"] <= DELIVERY_MIN_EVENTS
