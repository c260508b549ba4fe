"""KinesisPublisher: chunking, retrying only failed records, reporting what never landed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from reviva.events import CollectedEvent
from reviva.ingest.publisher import (
    MAX_RECORDS_PER_CALL,
    KinesisPublisher,
    partition_key,
)
from reviva.settings import load_settings

from .conftest import read_stream

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


def event(n: int, visitor: str | None = None, blob: str = "") -> CollectedEvent:
    return CollectedEvent(
        message_id=f"m-{n}",
        type="track",
        event="Pricing Viewed",
        visitor_key=visitor or f"a:visitor-{n % 7}",
        anonymous_id=f"visitor-{n % 7}",
        timestamp=NOW,
        received_at=NOW,
        properties={"blob": blob} if blob else {},
    )


class FlakyKinesis:
    """Fails the records whose message id is listed, a given number of times each, then accepts them."""

    def __init__(
        self, failures: dict[str, int] | None = None, raise_times: int = 0, error_code: str = ""
    ) -> None:
        self.failures = dict(failures or {})
        self.raise_times = raise_times
        self.error_code = error_code
        self.calls: list[list[dict[str, Any]]] = []
        self.accepted: list[dict[str, Any]] = []

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Records)
        if self.raise_times:
            self.raise_times -= 1
            if self.error_code:
                raise ClientError({"Error": {"Code": self.error_code, "Message": "no"}}, "PutRecords")
            raise EndpointConnectionError(endpoint_url="http://kinesis")
        results: list[dict[str, Any]] = []
        for record in Records:
            message_id = json.loads(record["Data"])["message_id"]
            if self.failures.get(message_id, 0) > 0:
                self.failures[message_id] -= 1
                results.append(
                    {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"}
                )
            else:
                self.accepted.append(record)
                results.append({"SequenceNumber": str(len(self.accepted)), "ShardId": "shardId-000000000000"})
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedRecordCount": failed, "Records": results}


def publisher(client: Any, **kwargs: Any) -> KinesisPublisher:
    return KinesisPublisher(client, "events", sleep=lambda _: None, **kwargs)


def test_retries_only_the_failed_records() -> None:
    kinesis = FlakyKinesis({"m-1": 1, "m-3": 2})
    result = publisher(kinesis).publish([event(n) for n in range(5)])
    assert result.all_published and result.published == 5 and result.calls == 3
    assert [len(call) for call in kinesis.calls] == [5, 2, 1]
    retried = [json.loads(r["Data"])["message_id"] for r in kinesis.calls[1]]
    assert retried == ["m-1", "m-3"]
    assert sorted(json.loads(r["Data"])["message_id"] for r in kinesis.accepted) == [
        f"m-{n}" for n in range(5)
    ]


def test_reports_records_that_never_land() -> None:
    kinesis = FlakyKinesis({"m-2": 99})
    result = publisher(kinesis, max_attempts=3).publish([event(n) for n in range(4)])
    assert result.published == 3 and result.calls == 3
    assert [(f.index, f.error_code) for f in result.failed] == [(2, "ProvisionedThroughputExceededException")]


def test_whole_call_errors_are_retried_then_reported() -> None:
    kinesis = FlakyKinesis(raise_times=1)
    assert publisher(kinesis).publish([event(1)]).all_published
    down = FlakyKinesis(raise_times=10)
    result = publisher(down, max_attempts=2).publish([event(1), event(2)])
    assert result.failed_indexes() == {0, 1} and result.failed[0].error_code == "EndpointConnectionError"
    missing = FlakyKinesis(raise_times=10, error_code="ResourceNotFoundException")
    result = publisher(missing, max_attempts=4).publish([event(1)])
    assert len(missing.calls) == 1, "a missing stream is not retried"
    assert result.failed[0].error_code == "ResourceNotFoundException"


def test_chunks_by_count_and_bytes() -> None:
    kinesis = FlakyKinesis()
    publisher(kinesis).publish([event(n) for n in range(MAX_RECORDS_PER_CALL * 2 + 1)])
    assert [len(call) for call in kinesis.calls] == [500, 500, 1]
    kinesis = FlakyKinesis()
    big = "x" * (600 * 1024)
    publisher(kinesis).publish([event(n, blob=big) for n in range(10)])
    assert [len(call) for call in kinesis.calls] == [8, 2]
    for call in kinesis.calls:
        assert sum(len(r["Data"]) + len(r["PartitionKey"]) for r in call) <= 5 * 1024 * 1024


def test_backoff_grows_and_is_bounded() -> None:
    waits: list[float] = []
    kinesis = FlakyKinesis({"m-0": 99})
    KinesisPublisher(kinesis, "events", sleep=waits.append, max_attempts=5, max_delay_seconds=0.3).publish(
        [event(0)]
    )
    assert len(waits) == 4 and all(0 < w <= 0.3 for w in waits)
    assert waits[2] >= 0.1 and waits[3] >= 0.15


def test_partition_key_is_the_visitor_and_stays_within_kinesis_limits() -> None:
    assert partition_key("a:anon-1") == "a:anon-1"
    long_key = "a:" + "x" * 256
    hashed = partition_key(long_key)
    assert hashed.startswith("h:") and len(hashed) <= 256 and hashed == partition_key(long_key)
    kinesis = FlakyKinesis()
    publisher(kinesis).publish([event(1, visitor="a:v1"), event(2, visitor=long_key)])
    assert [r["PartitionKey"] for r in kinesis.calls[0]] == ["a:v1", hashed]


def test_on_moto_records_land_on_the_stream(aws: None) -> None:
    from reviva.aws_clients import client

    settings = load_settings()
    events = [event(n) for n in range(30)]
    result = KinesisPublisher(client("kinesis", settings), settings.events_stream).publish(events)
    assert result.all_published and result.published == 30 and result.calls == 1
    landed = [CollectedEvent.model_validate_json(data) for data in read_stream(settings.events_stream)]
    assert sorted(e.message_id for e in landed) == sorted(e.message_id for e in events)


@pytest.mark.parametrize("attempts", [0, -1])
def test_needs_at_least_one_attempt(attempts: int) -> None:
    with pytest.raises(ValueError):
        KinesisPublisher(FlakyKinesis(), "events", max_attempts=attempts)
