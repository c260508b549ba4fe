"""The ingest function's test harness: its real HTTP edge over a collector on in-memory adapters, a
fixed clock, samples, and moto's stream and tables.

Shared by the tests of the ingest domain, of its HTTP edge and handler, of the Kinesis publisher and
of the privacy rules; `tests/conftest.py` registers it as a plugin, so its fixtures (`harness`, `aws`)
reach every test.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from functions.ingest import handler as handler_module
from reviva.api.ingest_http import IngestEndpoint, IngestRequest, IngestResponse
from reviva.composition import Composition, use_composition
from reviva.contracts.events import CollectedEvent
from reviva.ingest.collector import Collector
from reviva.privacy.cookieless import DailySalt, MemorySaltStore
from reviva.privacy.policy import PrivacyPolicy
from reviva.settings import load_settings
from reviva_dev.fakes.ingest import FakePublisher, FakeRejectedStore
from reviva_dev.measure.lambda_events import stream_records

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


def api_gateway_event(request: IngestRequest) -> dict[str, Any]:
    """`request` as API Gateway's HTTP API (payload 2.0) hands it to the function."""
    body, is_base64 = request.body, request.is_base64_encoded
    if isinstance(body, bytes):
        # API Gateway passes binary bodies base64-encoded; a body that claims to be base64 is text.
        body, is_base64 = (
            (body.decode("latin-1"), True) if is_base64 else (base64.b64encode(body).decode(), True)
        )
    route_key = f"{request.method} {request.path}"
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": "",
        "headers": {name.lower(): value for name, value in request.headers.items()},
        "requestContext": {
            "http": {"method": request.method, "path": request.path, "sourceIp": request.source_ip},
            "requestId": "ingest-test",
            "routeKey": route_key,
            "stage": "$default",
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


@dataclass
class Harness:
    """The ingest function's real HTTP edge over a collector wired to fakes, and helpers to call it."""

    endpoint: IngestEndpoint
    publisher: FakePublisher
    rejected: FakeRejectedStore

    def handle(self, request: IngestRequest) -> IngestResponse:
        """Send `request` through the Lambda handler (Powertools routing included) and read its answer."""
        with use_composition(Composition(load_settings(), overrides={"ingest": self.endpoint})):
            response = handler_module.handler(api_gateway_event(request), None)
        body = response.get("body")
        return IngestResponse(response["statusCode"], json.loads(body) if body else None, response["headers"])

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
        return self.handle(IngestRequest("POST", path, all_headers, body, is_base64, source_ip))


def fake_composition(publisher: FakePublisher, rejected: FakeRejectedStore) -> Composition:
    """The current settings' composition with in-memory adapters (install it with `use_composition`)."""
    return Composition(
        load_settings(),
        overrides={"publisher": publisher, "rejected_store": rejected, "salt_store": MemorySaltStore()},
    )


def make_harness(
    origins: tuple[str, ...] = ("*",), now: datetime = NOW, clock: Callable[[], datetime] | None = None
) -> Harness:
    publisher = FakePublisher()
    rejected = FakeRejectedStore()
    collector = Collector(PrivacyPolicy(HMAC_KEY, DailySalt(MemorySaltStore())), publisher, rejected)
    endpoint = IngestEndpoint(
        collector, frozenset({WRITE_KEY, "second-key"}), origins, clock=clock or (lambda: now)
    )
    return Harness(endpoint, publisher, rejected)


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
    from reviva.adapters.dynamodb.tables import create_tables
    from reviva.aws_clients import client

    with mock_aws():
        settings = load_settings()
        kinesis = client("kinesis", settings)
        kinesis.create_stream(StreamName=settings.events_stream, ShardCount=1)
        create_tables(settings)
        yield


def read_stream(stream_name: str) -> list[bytes]:
    """Every record's data on a (moto) stream, all shards, from the start."""
    return [record.data for record in stream_records(stream_name)]


def read_stream_events(stream_name: str) -> list[CollectedEvent]:
    """Every event carried by a (moto) stream's records, decoded the way enrich decodes them."""
    from reviva.enrich.stream_records import StreamRecord, decode_record

    events: list[CollectedEvent] = []
    for data in read_stream(stream_name):
        decoded = decode_record(StreamRecord("shardId-test", "0", "", data))
        assert not decoded.invalid, decoded.invalid
        events.extend(decoded.events)
    return events
