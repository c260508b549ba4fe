"""Publishing collected events to the Kinesis stream, durably.

`KinesisPublisher` groups a request's events by visitor (the partition key), in request order,
into envelope records (`reviva.contracts.stream_envelope`: one compressed record for up to
`MAX_EVENTS_PER_RECORD` events, safely under Kinesis' 1 MB record limit). Kinesis bills every
record in whole 1 KB units and enrich works per record, so this halves what a plain JSON record
per event (~1.4 KB, two units) costs. It sends `PutRecords` calls of at most 500 records and 5 MB,
retries only the records Kinesis reports as failed (with jittered exponential backoff and a
bounded number of attempts) and reports every EVENT whose record never made it, by its index in
the published list, so ingest never acknowledges an event the stream did not accept. The
partition key is the visitor key, keeping each visitor's records ordered in one shard.
It implements ingest's `EventPublisher` port (`reviva.ingest.ports`).
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from botocore.exceptions import BotoCoreError, ClientError

from reviva.contracts.events import CollectedEvent
from reviva.contracts.stream_envelope import encode_envelope, serialize_event
from reviva.ingest.ports import FailedRecord, PublishResult

logger = logging.getLogger(__name__)

MAX_RECORDS_PER_CALL: Final = 500
MAX_BYTES_PER_CALL: Final = 5 * 1024 * 1024
MAX_BYTES_PER_RECORD: Final = 1024 * 1024
MAX_PARTITION_KEY_LENGTH: Final = 256
# Events in one envelope. A request holds at most 2,500 messages; bounding the envelope bounds
# what one unreadable record can take with it and the work of one record in enrich.
MAX_EVENTS_PER_RECORD: Final = 500
# Uncompressed JSON in one envelope. zlib never grows data by more than ~0.03% (compressBound:
# n + n/4096 + n/16384 + 13), so an envelope under this stays under MAX_BYTES_PER_RECORD with its
# marker and a 256-character partition key, without compressing twice to find out.
MAX_PAYLOAD_BYTES_PER_RECORD: Final = 1_000_000

RecordFormat = Literal["envelope", "event"]

# Errors a retry cannot cure: give up on the chunk at once.
_PERMANENT_ERROR_CODES: Final = frozenset(
    {
        "ResourceNotFoundException",
        "ValidationException",
        "InvalidArgumentException",
        "AccessDeniedException",
        "KMSAccessDeniedException",
        "KMSDisabledException",
        "KMSNotFoundException",
        "UnrecognizedClientException",
    }
)


def partition_key(visitor_key: str) -> str:
    """The stream partition key: the visitor key, hashed when it exceeds Kinesis' 256 characters."""
    if len(visitor_key) <= MAX_PARTITION_KEY_LENGTH:
        return visitor_key
    return "h:" + hashlib.sha256(visitor_key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class StreamRecordDraft:
    """A record to put: its partition key, data, and the positions of the events it carries."""

    partition_key: str
    data: bytes
    event_indexes: tuple[int, ...]

    @property
    def size(self) -> int:
        """What Kinesis meters and limits: data plus partition key, in bytes."""
        return len(self.data) + len(self.partition_key.encode("utf-8"))


@dataclass
class _Group:
    partition_key: str
    indexes: list[int] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)
    payload_bytes: int = 0

    def fits(self, line: bytes) -> bool:
        return (
            len(self.indexes) < MAX_EVENTS_PER_RECORD
            and self.payload_bytes + len(line) + 1 <= MAX_PAYLOAD_BYTES_PER_RECORD
        )

    def add(self, index: int, line: bytes) -> None:
        self.indexes.append(index)
        self.lines.append(line)
        self.payload_bytes += len(line) + 1


def build_records(
    events: Sequence[CollectedEvent], record_format: RecordFormat = "envelope"
) -> tuple[list[StreamRecordDraft], list[FailedRecord]]:
    """The records that carry `events`, and the events no record can carry (with the reason).

    Envelopes: each visitor's events, in their order, fill records of at most
    `MAX_EVENTS_PER_RECORD` events and `MAX_PAYLOAD_BYTES_PER_RECORD` bytes before compression;
    records come out in the order of their first event. "event" is the legacy format, one plain
    JSON record per event (kept for rolling out envelopes after every reader understands them).
    """
    groups: list[_Group] = []
    open_groups: dict[str, _Group] = {}
    failed: list[FailedRecord] = []
    for index, event in enumerate(events):
        try:
            line = serialize_event(event)
        except ValueError as error:  # pydantic's serialization error; the service screens for it
            failed.append(FailedRecord(index, "SerializationError", str(error)))
            continue
        key = partition_key(event.visitor_key)
        group = open_groups.get(key) if record_format == "envelope" else None
        if group is None or not group.fits(line):
            group = _Group(key)
            groups.append(group)
            open_groups[key] = group
        group.add(index, line)

    drafts: list[StreamRecordDraft] = []
    for group in groups:
        data = encode_envelope(group.lines) if record_format == "envelope" else group.lines[0]
        draft = StreamRecordDraft(group.partition_key, data, tuple(group.indexes))
        if draft.size > MAX_BYTES_PER_RECORD:
            # Only a single event beyond the payload budget that does not compress gets here.
            failed.extend(FailedRecord(i, "RecordTooLarge", f"{draft.size} bytes") for i in group.indexes)
            continue
        drafts.append(draft)
    return drafts, failed


@dataclass
class _Pending:
    position: int  # in the chunk: errors are tracked per record, reported per event
    draft: StreamRecordDraft

    @property
    def request_entry(self) -> dict[str, Any]:
        return {"Data": self.draft.data, "PartitionKey": self.draft.partition_key}


class KinesisPublisher:
    """`EventPublisher` over a boto3 Kinesis client."""

    def __init__(
        self,
        kinesis_client: Any,
        stream_name: str,
        *,
        max_attempts: int = 4,
        base_delay_seconds: float = 0.05,
        max_delay_seconds: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        record_format: RecordFormat = "envelope",
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if record_format not in ("envelope", "event"):
            raise ValueError(f"unknown record format {record_format!r}")
        self._client = kinesis_client
        self._stream_name = stream_name
        self._max_attempts = max_attempts
        self._base_delay = base_delay_seconds
        self._max_delay = max_delay_seconds
        self._sleep = sleep
        self._record_format: RecordFormat = record_format

    def publish(self, events: Sequence[CollectedEvent]) -> PublishResult:
        """Put `events` on the stream; retry records Kinesis rejects; report the events that never land."""
        drafts, failed = build_records(events, self._record_format)
        result = PublishResult(failed=failed)
        chunk: list[_Pending] = []
        chunk_bytes = 0
        for draft in drafts:
            if len(chunk) == MAX_RECORDS_PER_CALL or chunk_bytes + draft.size > MAX_BYTES_PER_CALL:
                self._put_chunk(chunk, result)
                chunk, chunk_bytes = [], 0
            chunk.append(_Pending(len(chunk), draft))
            chunk_bytes += draft.size
        if chunk:
            self._put_chunk(chunk, result)
        result.failed.sort(key=lambda failure: failure.index)
        return result

    def _put_chunk(self, chunk: list[_Pending], result: PublishResult) -> None:
        pending = chunk
        errors: dict[int, tuple[str, str]] = {}
        for attempt in range(1, self._max_attempts + 1):
            result.calls += 1
            try:
                response = self._client.put_records(
                    StreamName=self._stream_name, Records=[item.request_entry for item in pending]
                )
            except ClientError as error:
                code = str(error.response.get("Error", {}).get("Code", "ClientError"))
                errors = {item.position: (code, str(error)) for item in pending}
                if code in _PERMANENT_ERROR_CODES:
                    break
            except BotoCoreError as error:  # connection reset, timeout, endpoint unreachable
                errors = {item.position: (type(error).__name__, str(error)) for item in pending}
            else:
                pending = self._still_failed(pending, response, errors)
                if not pending:
                    break
            if attempt < self._max_attempts:
                self._sleep(self._backoff(attempt))
        failed_positions = {item.position for item in pending}
        for item in chunk:
            if item.position not in failed_positions:
                result.records += 1
                result.record_bytes += item.draft.size
                result.published += len(item.draft.event_indexes)
        for item in pending:
            # A record that never landed takes all its events with it: each is reported.
            code, message = errors.get(item.position, ("Unknown", ""))
            result.failed.extend(FailedRecord(index, code, message) for index in item.draft.event_indexes)
        if pending:
            logger.warning(
                "kinesis did not accept %d of %d records (%d events) after %d attempts",
                len(pending),
                len(chunk),
                sum(len(item.draft.event_indexes) for item in pending),
                self._max_attempts,
            )

    @staticmethod
    def _still_failed(
        pending: list[_Pending], response: dict[str, Any], errors: dict[int, tuple[str, str]]
    ) -> list[_Pending]:
        if not response.get("FailedRecordCount"):
            return []
        failed: list[_Pending] = []
        # PutRecords answers one entry per record, in request order.
        for item, outcome in zip(pending, response.get("Records", []), strict=False):
            code = outcome.get("ErrorCode")
            if code:
                failed.append(item)
                errors[item.position] = (str(code), str(outcome.get("ErrorMessage", "")))
        return failed

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._max_delay, self._base_delay * 2 ** (attempt - 1))
        # Equal jitter: always wait a little, spread the rest so retries do not stampede.
        return ceiling / 2 + random.uniform(0, ceiling / 2)
