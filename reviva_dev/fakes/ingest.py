"""Fakes of ingest's ports (`EventPublisher`, `RejectedStore`) and of the Kinesis client its
publisher calls: for the benchmarks, which measure ingest's own work with AWS out of the way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reviva.contracts.events import CollectedEvent
from reviva.ingest.ports import PublishResult, Rejection


class RefusingPublisher:
    """An `EventPublisher` for a service whose caller only builds events (`build_events`): any
    publish is a mistake in the caller, so it fails loudly instead of dropping events."""

    def publish(self, events: Sequence[CollectedEvent]) -> PublishResult:
        """Never called by a caller that only builds events."""
        raise AssertionError("this service builds events; nothing may publish them")


class DiscardingRejectedStore:
    """A `RejectedStore` that keeps nothing (the benchmark's traffic is valid)."""

    def record(self, rejections: Sequence[Rejection]) -> None:
        """Drop the rejections."""

    def list_recent(self, limit: int) -> list[dict[str, Any]]:
        """Nothing is ever kept."""
        return []


class AcceptingKinesis:
    """A Kinesis client whose PutRecords accepts every record, so a `KinesisPublisher` on it
    measures only our side of the call (records built, grouped and compressed)."""

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        """Every record accepted, on one shard."""
        return {
            "FailedRecordCount": 0,
            "Records": [{"SequenceNumber": "1", "ShardId": "shardId-000000000000"} for _ in Records],
        }
