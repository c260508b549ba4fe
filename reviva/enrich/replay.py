"""Replaying the batches enrich gave up on, from the on-failure destination, while the stream keeps them.

When a batch exhausts its retries (a store was unavailable for longer than the retries last),
Lambda puts a pointer in the stream mapping's on-failure destination (SQS): the shard and the
first and last sequence numbers, never the records. The records stay readable on the stream only
for its retention (24 h by default), so an operator replays them with `reviva replay-failed`
before that: each pointer's records are read back from the stream and enriched again.

A replay never double-counts: enrich is effect-exactly-once per record (the lake and counter
watermarks per shard, the per-visitor watermark and recent messageIds on each profile), so records
an earlier attempt already applied are skipped wherever they were applied. A pointer is deleted
only once its whole batch went through; a batch whose records the stream no longer holds is
reported as expired (and kept, for the operator to see, until the queue's own retention).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from reviva.enrich.ports import FailedBatchQueue, FailureMessage, StreamRangeReader
from reviva.enrich.service import EnrichPorts, process_batch


class InvalidFailurePointer(ValueError):
    """An on-failure message that is not a Kinesis batch pointer."""


@dataclass(frozen=True)
class FailedBatch:
    """Where a failed batch lies on the stream, as Lambda's on-failure record names it."""

    stream_arn: str
    shard_id: str
    start_sequence: str
    end_sequence: str
    first_arrival: datetime
    batch_size: int

    @classmethod
    def from_pointer(cls, body: Mapping[str, Any]) -> FailedBatch:
        """Read Lambda's on-failure record (`KinesisBatchInfo`); `InvalidFailurePointer` otherwise."""
        info = body.get("KinesisBatchInfo")
        if not isinstance(info, Mapping):
            raise InvalidFailurePointer("no KinesisBatchInfo: not a Kinesis stream mapping's failure record")
        try:
            start, end = str(info["startSequenceNumber"]), str(info["endSequenceNumber"])
            arrival = datetime.fromisoformat(
                str(info["approximateArrivalOfFirstRecord"]).replace("Z", "+00:00")
            )
            batch = cls(
                stream_arn=str(info["streamArn"]),
                shard_id=str(info["shardId"]),
                start_sequence=start,
                end_sequence=end,
                first_arrival=arrival,
                batch_size=int(info.get("batchSize") or 0),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidFailurePointer(f"KinesisBatchInfo is incomplete or malformed: {error}") from None
        if not (start.isdigit() and end.isdigit()) or int(start) > int(end):
            raise InvalidFailurePointer(
                f"sequence range {start!r}..{end!r} is not a range of sequence numbers"
            )
        return batch

    def expires_at(self, retention: timedelta) -> datetime:
        """When the stream drops the batch's first record."""
        return self.first_arrival + retention


@dataclass
class ReplayedBatch:
    """What became of one pointer."""

    message_id: str
    status: str  # "replayed", "partly_failed", "expired", "invalid", "would_replay"
    detail: str
    batch: FailedBatch | None = None
    records: int = 0


@dataclass
class ReplayReport:
    """Every pointer seen in one replay, and the enrich counters of the batches replayed."""

    batches: list[ReplayedBatch] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)

    def count(self, status: str) -> int:
        """How many pointers ended with `status`."""
        return sum(1 for batch in self.batches if batch.status == status)


def replay_failed_batches(
    queue: FailedBatchQueue,
    stream: StreamRangeReader,
    ports: EnrichPorts,
    *,
    now: datetime,
    retention: timedelta,
    max_batches: int = 100,
    dry_run: bool = False,
) -> ReplayReport:
    """Read up to `max_batches` pointers, replay each batch through enrich, delete those fully replayed."""
    report = ReplayReport()
    stats: dict[str, int] = {}
    seen: set[str] = set()
    while len(report.batches) < max_batches:
        received = queue.receive(min(10, max_batches - len(report.batches)))
        messages = [m for m in received if m.id not in seen]
        for message in received:
            if message.id in seen:  # a pointer this replay kept, received again: hand it back
                queue.release(message)
        if not messages:
            break
        for message in messages:
            seen.add(message.id)
            replayed = _replay_one(message, queue, stream, ports, now, retention, dry_run, stats)
            report.batches.append(replayed)
            if replayed.status != "replayed":
                queue.release(message)
    report.stats = stats
    return report


def _replay_one(
    message: FailureMessage,
    queue: FailedBatchQueue,
    stream: StreamRangeReader,
    ports: EnrichPorts,
    now: datetime,
    retention: timedelta,
    dry_run: bool,
    stats: dict[str, int],
) -> ReplayedBatch:
    try:
        batch = FailedBatch.from_pointer(message.body)
    except InvalidFailurePointer as error:
        return ReplayedBatch(message.id, "invalid", str(error))
    if now >= batch.expires_at(retention):
        return ReplayedBatch(
            message.id,
            "expired",
            f"the stream dropped these records at {batch.expires_at(retention).isoformat()}",
            batch,
        )
    records = stream.read_range(batch.stream_arn, batch.shard_id, batch.start_sequence, batch.end_sequence)
    if not records:
        return ReplayedBatch(
            message.id, "expired", "the stream no longer holds any record of the range", batch
        )
    if dry_run:
        left = batch.expires_at(retention) - now
        return ReplayedBatch(
            message.id, "would_replay", f"{len(records)} records, {left} left", batch, len(records)
        )
    try:
        outcome = process_batch(records, ports)
    except Exception as error:  # a store still unavailable: keep the pointer for the next replay
        return ReplayedBatch(
            message.id, "partly_failed", f"enrich failed again: {error!r}", batch, len(records)
        )
    for name, value in outcome.stats.items():
        stats[name] = stats.get(name, 0) + value
    if outcome.failed_sequence_numbers:
        failed = len(outcome.failed_sequence_numbers)
        return ReplayedBatch(
            message.id,
            "partly_failed",
            f"{failed} records failed again; kept for the next replay",
            batch,
            len(records),
        )
    queue.delete(message)
    return ReplayedBatch(message.id, "replayed", f"{len(records)} records enriched", batch, len(records))
