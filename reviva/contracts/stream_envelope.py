"""The events stream's record formats: what ingest writes and enrich reads.

Two formats travel on the events stream; `decode_data` reads both:

- **event** (legacy): the record's data is one `CollectedEvent` as compact JSON (it starts with
  `{`). Every record written before envelopes, and still readable for as long as the stream
  retains them.
- **envelope**: `ENVELOPE_MAGIC` followed by a zlib stream of several events of ONE visitor (the
  events of one ingest request, in request order), each as compact JSON, separated by newlines.
  JSON text never holds a raw newline (serializers escape control characters), so splitting on
  `\\n` recovers the events exactly, and each is validated on its own: one bad event does not
  take its neighbours down with it.

Kinesis meters every record in whole 1 KB units and enrich pays per record, so one compressed
record per (request, visitor) costs about half of one plain record per event. The format is a
contract between the stages, so it lives here: ingest's publisher (`reviva.adapters.kinesis_publisher`)
encodes with it and enrich (`reviva.enrich.stream_records`) decodes with it, neither importing the other.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from pydantic import ValidationError

from reviva.contracts.events import CollectedEvent

# "RevivaTech, zlib, format 1". No JSON text starts with "R", so legacy records never match.
ENVELOPE_MAGIC: Final = b"RVZ1"
EVENT_SEPARATOR: Final = b"\n"
# zlib's default: within 2% of level 9 on our events and as fast as level 1 (~20 µs a record).
COMPRESSION_LEVEL: Final = 6
# A record is at most 1 MB compressed; JSON events rarely compress beyond 20:1. Anything that
# inflates past this is not something ingest wrote: refuse it instead of exhausting memory.
MAX_DECOMPRESSED_BYTES: Final = 32 * 1024 * 1024
# Bytes a legacy record may start with: a JSON object, possibly after whitespace.
_JSON_OBJECT_STARTS: Final = frozenset(b"{ \t\r\n")


class PoisonRecord(Exception):
    """A record that can never be processed (not decodable, not a CollectedEvent): never retried."""


@dataclass(frozen=True, slots=True)
class InvalidEvent:
    """An event of an envelope that is not a valid `CollectedEvent`: its position, why, its JSON."""

    index: int
    reason: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class DecodedRecord:
    """What a readable record holds: its valid events in record order, and its invalid ones."""

    events: list[CollectedEvent]
    invalid: list[InvalidEvent] = field(default_factory=list)
    # True for the legacy one-event format (no envelope).
    legacy: bool = False

    @property
    def event_count(self) -> int:
        """How many events the record carried, valid or not."""
        return len(self.events) + len(self.invalid)


def serialize_event(event: CollectedEvent) -> bytes:
    """One event as compact JSON, absent fields left out (a legacy record's data, an envelope line)."""
    return event.model_dump_json(exclude_none=True).encode("utf-8")


def encode_envelope(event_json: Sequence[bytes]) -> bytes:
    """An envelope record's data: the marker, then the events' JSON texts compressed together.

    `event_json` holds one compact JSON text per event (no raw newline inside, which every JSON
    serializer guarantees), in the order enrich must apply them.
    """
    if not event_json:
        raise ValueError("an envelope holds at least one event")
    return ENVELOPE_MAGIC + zlib.compress(EVENT_SEPARATOR.join(event_json), COMPRESSION_LEVEL)


def decode_data(data: bytes) -> DecodedRecord:
    """The events a record's data carries, in order, or `PoisonRecord` saying why it has none readable.

    A legacy record is one event: if it is invalid the record is poison. An envelope that cannot
    be inflated is poison as a whole; inside a readable envelope, each invalid event is listed in
    `invalid` (with its index) and the valid ones are kept.
    """
    if not data:
        raise PoisonRecord("record data is empty or not base64")
    if data.startswith(ENVELOPE_MAGIC):
        return _decode_envelope(data[len(ENVELOPE_MAGIC) :])
    if data[0] not in _JSON_OBJECT_STARTS:
        raise PoisonRecord(f"unknown record format: data starts with {data[:4]!r}")
    try:
        return DecodedRecord([CollectedEvent.model_validate_json(data)], legacy=True)
    except ValidationError as exc:
        raise PoisonRecord(f"not a CollectedEvent: {_first_error(exc)}") from exc


def _decode_envelope(compressed: bytes) -> DecodedRecord:
    payload = _inflate(compressed)
    if not payload:
        raise PoisonRecord("envelope holds no events")
    decoded = DecodedRecord([])
    for index, text in enumerate(payload.split(EVENT_SEPARATOR)):
        try:
            decoded.events.append(CollectedEvent.model_validate_json(text))
        except ValidationError as exc:
            decoded.invalid.append(InvalidEvent(index, f"not a CollectedEvent: {_first_error(exc)}", text))
    return decoded


def _inflate(compressed: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        payload = inflater.decompress(compressed, MAX_DECOMPRESSED_BYTES + 1)
    except zlib.error as exc:
        raise PoisonRecord(f"envelope is not valid zlib data ({exc})") from exc
    if len(payload) > MAX_DECOMPRESSED_BYTES or inflater.unconsumed_tail:
        raise PoisonRecord(f"envelope inflates beyond {MAX_DECOMPRESSED_BYTES} bytes")
    if not inflater.eof:
        raise PoisonRecord("envelope is truncated (the zlib stream does not end)")
    if inflater.unused_data:
        raise PoisonRecord(f"envelope has {len(inflater.unused_data)} bytes after its zlib stream")
    return payload


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "record"
    return f"{where}: {first.get('msg')}"
