"""Fakes and fixtures for the ingest tests: in-memory adapters, a fixed clock, moto resources."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from reviva.events import CollectedEvent
from reviva.ingest.publisher import PublishResult, serialize_event
from reviva.ingest.rejected import Rejection
from reviva.ingest.service import IngestConfig, IngestRequest, IngestResponse, IngestService
from reviva.settings import load_settings

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "samples"
WRITE_KEY = "test-write-key"  # what tests/conftest.py puts in REVIVA_WRITE_KEYS
HMAC_KEY = b"k" * 32
NOW = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)


def load_sample(relative: str) -> Any:
    """A checked-in sample (events/samples/...), decoded."""
    return json.loads((SAMPLES / relative).read_text())


def basic_auth(key: str = WRITE_KEY) -> str:
    """An `Authorization` header value carrying `key` the way Segment SDKs do."""
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


@dataclass
class FakePublisher:
    """Accepts everything, keeping the events and the bytes a Kinesis record would carry."""

    events: list[CollectedEvent] = field(default_factory=list)
    records: list[bytes] = field(default_factory=list)
    fail_indexes: set[int] = field(default_factory=set)

    def publish(self, events: Sequence[CollectedEvent]) -> PublishResult:
        result = PublishResult(calls=1)
        for index, event in enumerate(events):
            if index in self.fail_indexes:
                from reviva.ingest.publisher import FailedRecord

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
        self.rejections.extend(rejections)

    def list_recent(self, limit: int) -> list[dict[str, Any]]:
        return [{"reason": r.reason} for r in reversed(self.rejections)][:limit]


@dataclass
class Harness:
    """A service wired to fakes, and helpers to call it."""

    service: IngestService
    publisher: FakePublisher
    rejected: FakeRejectedStore

    def post(
        self,
        path: str,
        body: Any,
        *,
        headers: dict[str, str] | None = None,
        auth: str | None = WRITE_KEY,
        source_ip: str | None = "198.51.100.23",
        is_base64: bool = False,
    ) -> IngestResponse:
        all_headers = {"content-type": "application/json"}
        if auth is not None:
            all_headers["authorization"] = basic_auth(auth)
        all_headers.update(headers or {})
        if not isinstance(body, str | bytes):
            body = json.dumps(body)
        return self.service.handle(IngestRequest("POST", path, all_headers, body, is_base64, source_ip))


def make_harness(origins: tuple[str, ...] = ("*",), now: datetime = NOW) -> Harness:
    publisher = FakePublisher()
    rejected = FakeRejectedStore()
    config = IngestConfig(frozenset({WRITE_KEY, "second-key"}), HMAC_KEY, origins)
    return Harness(IngestService(config, publisher, rejected, clock=lambda: now), publisher, rejected)


@pytest.fixture
def harness() -> Harness:
    return make_harness()


def track(**overrides: Any) -> dict[str, Any]:
    """A minimal valid track message."""
    message: dict[str, Any] = {"type": "track", "event": "Pricing Viewed", "anonymousId": "anon-1"}
    message.update(overrides)
    return message


@pytest.fixture
def aws() -> Iterator[None]:
    """moto in-process, with the events stream and the tables the ingest function uses."""
    from reviva.aws_clients import client
    from reviva.storage.tables import create_tables

    with mock_aws():
        settings = load_settings()
        kinesis = client("kinesis", settings)
        kinesis.create_stream(StreamName=settings.events_stream, ShardCount=1)
        create_tables(settings)
        yield


def read_stream(stream_name: str) -> list[bytes]:
    """Every record's data on a (moto) stream, all shards, from the start."""
    from reviva.aws_clients import client

    kinesis = client("kinesis", load_settings())
    data: list[bytes] = []
    for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=1000)
            data.extend(record["Data"] for record in page["Records"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return data


def read_stream_events(stream_name: str) -> list[CollectedEvent]:
    """Every event carried by a (moto) stream's records, decoded the way enrich decodes them."""
    from reviva.enrich.stream_records import StreamRecord, decode_record

    events: list[CollectedEvent] = []
    for data in read_stream(stream_name):
        decoded = decode_record(StreamRecord("shardId-test", "0", "", data))
        assert not decoded.invalid, decoded.invalid
        events.extend(decoded.events)
    return events
