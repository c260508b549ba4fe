"""The ports the enrich service writes through. The real adapters live in `reviva.adapters`
(DynamoDB and the Iceberg lake); tests, bench and cost pass the fakes in `reviva_dev.fakes`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from reviva.contracts.events import EnrichedEvent
from reviva.enrich.stream_records import StreamRecord
from reviva.enrich.visitor_state import SessionState, VisitorState


class ConcurrentUpdate(Exception):
    """The stored item changed since it was read: recompute from fresh state."""


@dataclass
class StoredVisitor:
    """A visitor's state as read, with what makes the next write exactly-once."""

    state: VisitorState
    version: int = 0
    watermarks: dict[str, str] = field(default_factory=dict)
    recent_ids: bytes | None = None
    recent_deliveries: bytes | None = None


@dataclass
class MinuteCounts:
    """Live counters of one minute bucket."""

    counts: dict[str, int] = field(default_factory=dict)
    visitors: set[str] = field(default_factory=set)


class CountersMoved(Exception):
    """The shard's counter watermark moved since it was read: the whole batch must be redelivered."""


@dataclass
class CounterCommit:
    """One batch's counter increments and the shard watermark they move, applied atomically."""

    shard_id: str
    expected: str | None  # the watermark as read; None = never counted on this shard
    new_watermark: str
    minutes: dict[str, MinuteCounts]


@dataclass
class VisitorCommit:
    """Everything one visitor's write stores.

    The profile item alone carries what makes the write exactly-once (its version, the per-shard
    watermark and the recent messageIds), so it is one conditional write, not a transaction.
    Closed sessions and identity links are deterministic for a given stored state and batch, so
    writing them first, without a condition, is idempotent under redelivery.

    `counters`, when set, ride with the profile in one transaction: the batch's counter update then
    costs no write request of its own (what sparse traffic needs). Its failure fails the whole batch.
    """

    visitor_key: str
    expected_version: int  # 0 = the item must not exist yet
    state: VisitorState
    watermarks: dict[str, str]
    recent_ids: bytes
    sessions: list[SessionState]  # sessions this batch closed; the open one rides in the profile
    identity_links: list[tuple[str, str, str]]
    counters: CounterCommit | None = None
    # Digests of the visitor's recent large deliveries (`reviva.enrich.dedupe`); empty for most.
    recent_deliveries: bytes = b""


class VisitorRepository(Protocol):
    """Profiles, sessions and identity links (DynamoDB in AWS)."""

    def load(self, visitor_keys: Sequence[str]) -> dict[str, StoredVisitor]:
        """The stored state of each key that exists."""
        ...

    def commit(self, commit: VisitorCommit) -> None:
        """Write one visitor's closed sessions and links, then its profile conditionally.

        With `commit.counters`, the profile and the counters go in one transaction. Raise
        ConcurrentUpdate when the profile's version moved since it was read, CountersMoved when the
        counters' watermark did.
        """
        ...


class CounterRepository(Protocol):
    """Per-minute live counters with a per-shard watermark (DynamoDB in AWS)."""

    def watermark(self, shard_id: str) -> str | None:
        """The last sequence number of `shard_id` already counted."""
        ...

    def commit(self, counters: CounterCommit) -> None:
        """Add the minutes and move the watermark, atomically; CountersMoved if it moved meanwhile."""
        ...


class LakeSink(Protocol):
    """The lake's events table, appended with a per-shard watermark in the same commit."""

    def watermark(self, shard_id: str) -> str | None:
        """The last sequence number of `shard_id` already in the lake."""
        ...

    def append(self, shard_id: str, rows: list[EnrichedEvent], last_sequence: str) -> int:
        """Append rows and advance the watermark to `last_sequence` in one commit; rows written."""
        ...

    def unapplied(self, shard_id: str) -> bytes | None:
        """The shard's packed `UnappliedMessages` (`reviva.enrich.unapplied`), as `watermark` read them."""
        ...

    def record_unapplied(self, shard_id: str, packed: bytes) -> None:
        """Replace the shard's unapplied messages (empty bytes: none), refusing if they changed since read."""
        ...


@dataclass(frozen=True)
class PoisonItem:
    """A stream record, or one event of it, that can never be processed, kept with its reason.

    (`shard_id`, `sequence_number`, `index`) names it on the stream: `index` is the event's
    position in its record, None for a record unreadable as a whole. A redelivery finds the same
    poison again, so a sink stores an item once per name, not once per delivery. `seen_at` is
    when the stream (or ingest) first had it, so a re-stored item keeps its place in time.
    """

    shard_id: str
    sequence_number: str
    partition_key: str
    reason: str
    raw: bytes
    index: int | None = None
    seen_at: datetime | None = None

    @property
    def name(self) -> str:
        """Where the item sat on the stream: "<shard>/<sequence>" or "<shard>/<sequence>/<index>"."""
        where = f"{self.shard_id}/{self.sequence_number}"
        return where if self.index is None else f"{where}/{self.index}"


class PoisonSink(Protocol):
    """Where poison records and rejected events go (the rejected-events store)."""

    def record_poison(self, items: list[PoisonItem]) -> None:
        """Store poison items so they can be listed and counted; an item stored before is kept once."""
        ...


@dataclass(frozen=True)
class FailureMessage:
    """One message of the stream mapping's on-failure destination: its id and its parsed JSON body."""

    id: str
    body: dict[str, Any]
    receipt: str = ""


class FailedBatchQueue(Protocol):
    """The on-failure destination of enrich's stream mapping (SQS in AWS)."""

    def receive(self, max_messages: int) -> list[FailureMessage]:
        """Up to `max_messages` pointers, hidden from other readers for a while."""
        ...

    def delete(self, message: FailureMessage) -> None:
        """Remove a pointer whose batch was replayed."""
        ...

    def release(self, message: FailureMessage) -> None:
        """Make a pointer that stays (dry run, expired, failed again) visible to the next reader at once."""
        ...


class StreamRangeReader(Protocol):
    """Reads records back from the events stream while it retains them (Kinesis in AWS)."""

    def read_range(self, stream_arn: str, shard_id: str, start: str, end: str) -> list[StreamRecord]:
        """The shard's records from sequence `start` to `end` inclusive, in order ([] once expired)."""
        ...
