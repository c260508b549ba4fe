"""Publishing collected events to the Kinesis stream, durably.

`KinesisPublisher` sends `PutRecords` calls of at most 500 records and 5 MB, retries only the
records Kinesis reports as failed (with jittered exponential backoff and a bounded number of
attempts) and reports the records that never made it, so ingest never acknowledges an event
the stream did not accept. The partition key is the visitor key, keeping each visitor's events
ordered in one shard. `EventPublisher` is the port ingest depends on; tests and benchmarks pass
fakes.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from reviva.events import CollectedEvent

logger = logging.getLogger(__name__)

MAX_RECORDS_PER_CALL: Final = 500
MAX_BYTES_PER_CALL: Final = 5 * 1024 * 1024
MAX_BYTES_PER_RECORD: Final = 1024 * 1024
MAX_PARTITION_KEY_LENGTH: Final = 256

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


@dataclass(frozen=True)
class FailedRecord:
    """An event the stream did not accept: its position in the published list and why."""

    index: int
    error_code: str
    error_message: str = ""


@dataclass
class PublishResult:
    """What happened to a `publish` call's events."""

    published: int = 0
    failed: list[FailedRecord] = field(default_factory=list)
    # PutRecords calls made, retries included (the benchmark reports calls per event).
    calls: int = 0

    @property
    def all_published(self) -> bool:
        """True when the stream accepted every event."""
        return not self.failed

    def failed_indexes(self) -> set[int]:
        """Positions (in the published list) of the events that were not accepted."""
        return {failure.index for failure in self.failed}


class EventPublisher(Protocol):
    """Puts collected events on the stream and says which ones it could not."""

    def publish(self, events: Sequence[CollectedEvent]) -> PublishResult:
        """Publish `events`; the result lists every event that was not accepted."""
        ...


def partition_key(visitor_key: str) -> str:
    """The stream partition key: the visitor key, hashed when it exceeds Kinesis' 256 characters."""
    if len(visitor_key) <= MAX_PARTITION_KEY_LENGTH:
        return visitor_key
    return "h:" + hashlib.sha256(visitor_key.encode("utf-8", "surrogatepass")).hexdigest()


def serialize_event(event: CollectedEvent) -> bytes:
    """A Kinesis record's data: the event as compact JSON, absent fields left out."""
    return event.model_dump_json(exclude_none=True).encode("utf-8")


@dataclass
class _Pending:
    index: int
    record: dict[str, Any]
    size: int


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
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._client = kinesis_client
        self._stream_name = stream_name
        self._max_attempts = max_attempts
        self._base_delay = base_delay_seconds
        self._max_delay = max_delay_seconds
        self._sleep = sleep

    def publish(self, events: Sequence[CollectedEvent]) -> PublishResult:
        """Put `events` on the stream; retry the records Kinesis rejects; report those that never land."""
        result = PublishResult()
        chunk: list[_Pending] = []
        chunk_bytes = 0
        for index, event in enumerate(events):
            try:
                data = serialize_event(event)
            except ValueError as error:  # pydantic's serialization error; the service screens for it
                result.failed.append(FailedRecord(index, "SerializationError", str(error)))
                continue
            key = partition_key(event.visitor_key)
            size = len(data) + len(key.encode("utf-8"))
            if size > MAX_BYTES_PER_RECORD:
                result.failed.append(FailedRecord(index, "RecordTooLarge", f"{size} bytes"))
                continue
            if len(chunk) == MAX_RECORDS_PER_CALL or chunk_bytes + size > MAX_BYTES_PER_CALL:
                self._put_chunk(chunk, result)
                chunk, chunk_bytes = [], 0
            chunk.append(_Pending(index, {"Data": data, "PartitionKey": key}, size))
            chunk_bytes += size
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
                    StreamName=self._stream_name, Records=[item.record for item in pending]
                )
            except ClientError as error:
                code = str(error.response.get("Error", {}).get("Code", "ClientError"))
                errors = {item.index: (code, str(error)) for item in pending}
                if code in _PERMANENT_ERROR_CODES:
                    break
            except BotoCoreError as error:  # connection reset, timeout, endpoint unreachable
                errors = {item.index: (type(error).__name__, str(error)) for item in pending}
            else:
                pending = self._still_failed(pending, response, errors)
                if not pending:
                    break
            if attempt < self._max_attempts:
                self._sleep(self._backoff(attempt))
        failed_indexes = {item.index for item in pending}
        result.published += len(chunk) - len(failed_indexes)
        for item in pending:
            code, message = errors.get(item.index, ("Unknown", ""))
            result.failed.append(FailedRecord(item.index, code, message))
        if pending:
            logger.warning(
                "kinesis did not accept %d of %d records after %d attempts",
                len(pending),
                len(chunk),
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
                errors[item.index] = (str(code), str(outcome.get("ErrorMessage", "")))
        return failed

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._max_delay, self._base_delay * 2 ** (attempt - 1))
        # Equal jitter: always wait a little, spread the rest so retries do not stampede.
        return ceiling / 2 + random.uniform(0, ceiling / 2)
