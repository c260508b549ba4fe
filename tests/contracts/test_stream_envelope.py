"""The stream's record formats (`reviva.contracts.stream_envelope`): legacy one-event records and
envelopes, decoded as enrich reads them; what cannot be read is poison, with a reason."""

from __future__ import annotations

import json
import zlib

import pytest

from reviva.contracts.stream_envelope import (
    ENVELOPE_MAGIC,
    MAX_DECOMPRESSED_BYTES,
    PoisonRecord,
    encode_envelope,
    serialize_event,
)
from reviva.enrich.stream_records import StreamRecord, decode_record
from tests.enrich.builders import browse, event

SHARD = "shardId-000000000000"


def record(data: bytes, sequence: int = 100, key: str = "a:v1") -> StreamRecord:
    return StreamRecord(SHARD, str(sequence), key, data)


def test_legacy_single_event_records_still_decode() -> None:
    original = event("v1", path="/pricing")
    decoded = decode_record(record(serialize_event(original)))
    assert decoded.legacy and decoded.events == [original] and decoded.invalid == []
    # Records written before `exclude_none` and with whitespace are JSON objects too.
    assert decode_record(record(b" " + original.model_dump_json().encode())).events == [original]


def test_envelope_round_trip_keeps_order_and_content() -> None:
    events = browse("v1", 4)
    decoded = decode_record(record(encode_envelope([serialize_event(e) for e in events])))
    assert not decoded.legacy and decoded.events == events and decoded.event_count == 4


def test_an_invalid_event_in_an_envelope_does_not_take_its_neighbours_down() -> None:
    good = browse("v1", 2)
    bad = json.dumps({"message_id": "broken", "type": "page"}).encode()
    decoded = decode_record(
        record(encode_envelope([serialize_event(good[0]), bad, serialize_event(good[1])]))
    )
    assert decoded.events == good
    (invalid,) = decoded.invalid
    assert invalid.index == 1 and invalid.raw == bad
    assert invalid.reason.startswith("not a CollectedEvent: visitor_key")
    assert decoded.event_count == 3


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (ENVELOPE_MAGIC, "truncated"),
        (ENVELOPE_MAGIC + b"not zlib at all", "not valid zlib"),
        (ENVELOPE_MAGIC + zlib.compress(b"{}")[:-3], "truncated"),
        (ENVELOPE_MAGIC + zlib.compress(b"{}") + b"tail", "after its zlib stream"),
        (ENVELOPE_MAGIC + zlib.compress(b""), "no events"),
        (b"PK\x03\x04 a zip file", "unknown record format"),
        (b'{"message_id": "m"}', "not a CollectedEvent"),
    ],
)
def test_unreadable_records_are_poison_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(PoisonRecord, match=reason):
        decode_record(record(data))


def test_corrupted_compression_is_poison() -> None:
    data = bytearray(encode_envelope([serialize_event(e) for e in browse("v1", 5)]))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(PoisonRecord, match="zlib"):
        decode_record(record(bytes(data)))


def test_a_decompression_bomb_is_poison() -> None:
    bomb = ENVELOPE_MAGIC + zlib.compress(b" " * (MAX_DECOMPRESSED_BYTES + 1), 9)
    assert len(bomb) < 100_000
    with pytest.raises(PoisonRecord, match="inflates beyond"):
        decode_record(record(bomb))
