"""The window of recent messageIds: what it catches, how it packs, and the previous format."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from reviva.enrich.dedupe import (
    DIGEST_BITS,
    WINDOW,
    RecentMessageIds,
    from_legacy,
    message_digest,
    pack_digests,
    unpack_digests,
)

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
