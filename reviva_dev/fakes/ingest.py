"""Fakes of ingest's ports (`EventPublisher`, `RejectedStore`) and of the Kinesis client its
publisher calls: in-memory ones that keep what they are given (tests), ones that keep nothing
(the benchmarks, which measure ingest's own work with AWS out of the way), and a Kinesis client
with failure injection for the publisher's retries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from reviva.contracts.events import CollectedEvent
from reviva.contracts.stream_envelope import decode_data, serialize_event
from reviva.ingest.ports import FailedRecord, PublishResult, Rejection


@dataclass
class FakePublisher:
    """Accepts everything, keeping the events and the bytes a Kinesis record would carry;
    `fail_indexes` makes the events at those positions of a call fail."""

    events: list[CollectedEvent] = field(default_factory=list)
    records: list[bytes] = field(default_factory=list)
    fail_indexes: set[int] = field(default_factory=set)

    def publish(self, events: Sequence[CollectedEvent]) -> PublishResult:
        """Keep every event but those at `fail_indexes`, which are reported failed."""
        result = PublishResult(calls=1)
        for index, event in enumerate(events):
            if index in self.fail_indexes:
                result.failed.append(FailedRecord(index, "InternalFailure"))
                continue
            self.events.append(event)
            self.records.append(serialize_event(event))
            result.published += 1
        return result


@dataclass
class FakeRejectedStore:
    """Keeps rejections in memory."""

    rejections: list[Rejection] = field(default_factory=list)

    def record(self, rejections: Sequence[Rejection]) -> None:
        """Keep the rejections."""
        self.rejections.extend(rejections)

    def list_recent(self, limit: int) -> list[dict[str, Any]]:
        """The reasons of the newest `limit` rejections, newest first."""
        return [{"reason": r.reason} for r in reversed(self.rejections)][:limit]


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


class FlakyKinesis:
    """A Kinesis client that fails the records carrying a listed message id, a given number of times
    each, then accepts them; `raise_times` makes whole calls raise first (a `ClientError` with
    `error_code`, else a connection error). Keeps every call's records and the accepted ones."""

    def __init__(
        self, failures: dict[str, int] | None = None, raise_times: int = 0, error_code: str = ""
    ) -> None:
        self.failures = dict(failures or {})
        self.raise_times = raise_times
        self.error_code = error_code
        self.calls: list[list[dict[str, Any]]] = []
        self.accepted: list[dict[str, Any]] = []

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        """PutRecords: a per-record answer, failing the records that still owe a failure."""
        self.calls.append(Records)
        if self.raise_times:
            self.raise_times -= 1
            if self.error_code:
                raise ClientError({"Error": {"Code": self.error_code, "Message": "no"}}, "PutRecords")
            raise EndpointConnectionError(endpoint_url="http://kinesis")
        results: list[dict[str, Any]] = []
        for record in Records:
            carried = [event.message_id for event in decode_data(record["Data"]).events]
            failing = [m for m in carried if self.failures.get(m, 0) > 0]
            for message_id in failing:
                self.failures[message_id] -= 1
            if failing:
                results.append(
                    {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"}
                )
            else:
                self.accepted.append(record)
                results.append({"SequenceNumber": str(len(self.accepted)), "ShardId": "shardId-000000000000"})
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedRecordCount": failed, "Records": results}
