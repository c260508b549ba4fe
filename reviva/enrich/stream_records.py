"""Kinesis records as the enrich stage sees them, decoded from a Lambda trigger event."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from reviva.events import CollectedEvent


class PoisonRecord(Exception):
    """A record that can never be processed (not JSON, not a CollectedEvent): never retried."""


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One Kinesis record: where it came from and its payload."""

    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes

    @property
    def sequence(self) -> int:
        """The sequence number as an integer (Kinesis numbers are decimal strings)."""
        return int(self.sequence_number)


def records_from_trigger(event: Mapping[str, Any]) -> list[StreamRecord]:
    """Build `StreamRecord`s from a Lambda Kinesis trigger (`eventID` is "<shardId>:<sequence>")."""
    records: list[StreamRecord] = []
    for raw in event.get("Records", []):
        kinesis = raw["kinesis"]
        shard_id = str(raw.get("eventID", "")).split(":", 1)[0] or "shard-unknown"
        try:
            data = base64.b64decode(kinesis["data"], validate=True)
        except (binascii.Error, ValueError):
            data = b""
        records.append(
            StreamRecord(
                shard_id=shard_id,
                sequence_number=str(kinesis["sequenceNumber"]),
                partition_key=str(kinesis.get("partitionKey", "")),
                data=data,
            )
        )
    return records


def decode_record(record: StreamRecord) -> CollectedEvent:
    """Parse a record's payload, or raise `PoisonRecord` saying why it cannot be."""
    if not record.data:
        raise PoisonRecord("record data is empty or not base64")
    try:
        return CollectedEvent.model_validate_json(record.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "record"
        raise PoisonRecord(f"not a CollectedEvent: {where}: {first.get('msg')}") from exc


def sequence_range(records: Sequence[StreamRecord]) -> tuple[str, str]:
    """The first and last sequence numbers of a non-empty run of records."""
    return records[0].sequence_number, records[-1].sequence_number
