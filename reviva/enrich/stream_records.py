"""Kinesis records as the enrich stage sees them: built from the Lambda trigger, decoded with the
stream's record formats (`reviva.contracts.stream_envelope`, shared with ingest's publisher).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reviva.contracts.stream_envelope import DecodedRecord, decode_data


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One Kinesis record: where it came from and its payload."""

    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes
    # When Kinesis took the record (the trigger's approximateArrivalTimestamp), if known.
    arrived_at: datetime | None = None

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
                arrived_at=_arrival(kinesis.get("approximateArrivalTimestamp")),
            )
        )
    return records


def _arrival(epoch_seconds: Any) -> datetime | None:
    """The trigger's arrival time (epoch seconds) as a UTC datetime; None when absent or unreadable."""
    if isinstance(epoch_seconds, bool) or not isinstance(epoch_seconds, int | float):
        return None
    try:
        return datetime.fromtimestamp(epoch_seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def decode_record(record: StreamRecord) -> DecodedRecord:
    """The events a record carries (`reviva.contracts.stream_envelope.decode_data`), or `PoisonRecord`."""
    return decode_data(record.data)


def sequence_range(records: Sequence[StreamRecord]) -> tuple[str, str]:
    """The first and last sequence numbers of a non-empty run of records."""
    return records[0].sequence_number, records[-1].sequence_number
