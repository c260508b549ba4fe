"""Fakes of the replay's ports (`reviva.enrich.ports`): the on-failure queue and the stream read back."""

from __future__ import annotations

from collections.abc import Sequence

from reviva.enrich.ports import FailureMessage
from reviva.enrich.stream_records import StreamRecord


class MemoryFailedBatchQueue:
    """Pointers in memory; `delete` removes one, like SQS after a successful replay."""

    def __init__(self, bodies: Sequence[dict] = ()) -> None:  # type: ignore[type-arg]
        self.messages = [FailureMessage(f"m{i}", dict(body), f"r{i}") for i, body in enumerate(bodies)]
        self.deleted: list[str] = []
        self.released: list[str] = []

    def receive(self, max_messages: int) -> list[FailureMessage]:
        """The first `max_messages` pointers still queued."""
        return self.messages[:max_messages]

    def delete(self, message: FailureMessage) -> None:
        """Forget a replayed pointer."""
        self.messages = [m for m in self.messages if m.id != message.id]
        self.deleted.append(message.id)

    def release(self, message: FailureMessage) -> None:
        """Kept pointers stay queued (memory has no visibility timeout)."""
        self.released.append(message.id)


class MemoryStream:
    """A shard's records kept in memory; `read_range` serves them as Kinesis would while retained."""

    def __init__(self, records: Sequence[StreamRecord] = ()) -> None:
        self.records = list(records)

    def read_range(self, stream_arn: str, shard_id: str, start: str, end: str) -> list[StreamRecord]:
        """Records of `shard_id` with sequence numbers in [start, end]."""
        return [
            r
            for r in self.records
            if r.shard_id == shard_id and int(start) <= int(r.sequence_number) <= int(end)
        ]
