"""The ports ingest writes through: the event stream and the rejected-events store.

Real adapters live in `reviva.adapters` (`KinesisPublisher`, `RejectedRepository`); tests and
benchmarks pass fakes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from reviva.contracts.events import CollectedEvent

Stage = Literal["ingest", "enrich"]


@dataclass(frozen=True)
class FailedRecord:
    """An event the stream did not accept: its position in the published list and why."""

    index: int
    error_code: str
    error_message: str = ""


@dataclass
class PublishResult:
    """What happened to a `publish` call's events."""

    # Events the stream accepted (their records landed).
    published: int = 0
    failed: list[FailedRecord] = field(default_factory=list)
    # PutRecords calls made, retries included (the benchmark reports calls per event).
    calls: int = 0
    # Records the stream accepted and their metered size (data + partition key).
    records: int = 0
    record_bytes: int = 0

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


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Rejection:
    """One refused message (or whole request, `index` None) and why."""

    stage: Stage
    reason: str
    raw: Any  # the payload as received: decoded JSON, text or bytes
    index: int | None = None
    message_id: str | None = None
    source_id: str | None = None
    rejected_at: datetime = field(default_factory=_now)
    # A stable name (enrich's poison: "<shard>/<sequence>[/<index>]"): a rejection stored again
    # under the same name and time replaces the first instead of adding one (redeliveries).
    key: str | None = None


class RejectedStore(Protocol):
    """Where rejections go; ingest and enrich write to it, the query API lists it."""

    def record(self, rejections: Sequence[Rejection]) -> None:
        """Store `rejections` (masked, truncated)."""
        ...

    def list_recent(self, limit: int) -> list[dict[str, Any]]:
        """The `limit` most recent rejections, newest first."""
        ...
