"""The Lambda handler with real API Gateway HTTP API (payload 2.0) events, on moto Kinesis and DynamoDB."""

from __future__ import annotations

import base64
import copy
import gzip
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

import functions.ingest.handler as handler_module
from reviva.adapters.dynamodb.rejected_repository import RejectedRepository
from reviva.composition import use_composition
from reviva.settings import load_settings, reset_settings_cache
from reviva_dev.fakes.ingest import FakePublisher, FakeRejectedStore
from tests.ingest.harness import (
    basic_auth,
    fake_composition,
    load_sample,
    read_stream,
    read_stream_events,
    track,
)

SAMPLE_EVENT: dict[str, Any] = load_sample("triggers/apigw_http_batch.json")


@pytest.fixture
def install_fakes() -> Iterator[Callable[[FakePublisher, FakeRejectedStore], None]]:
    """Installs a composition of in-memory adapters for the current settings, until the test ends."""
    with ExitStack() as stack:

        def install(publisher: FakePublisher, rejected: FakeRejectedStore) -> None:
            stack.enter_context(use_composition(fake_composition(publisher, rejected)))

        yield install


def http_event(
    path: str,
    body: str | None,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An HTTP API v2 proxy event as API Gateway sends it (shape of the checked-in sample)."""
    event = copy.deepcopy(SAMPLE_EVENT)
    event["routeKey"] = f"{method} {path}"
    event["rawPath"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = path
    event["requestContext"]["routeKey"] = event["routeKey"]
    event["headers"] = {"content-type": "application/json", "authorization": basic_auth(), **(headers or {})}
    event["body"] = body
    event["isBase64Encoded"] = base64_body
    return event


def test_sample_trigger_lands_on_kinesis(aws: None) -> None:
    response = handler_module.handler(copy.deepcopy(SAMPLE_EVENT), None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"success": True}
    landed = read_stream_events(load_settings().events_stream)
    assert len(landed) == 5
    assert {e.ip_truncated for e in landed} == {"203.0.113.0"}
    assert {e.geo.country for e in landed} == {"PT"}


def test_mixed_batch_valid_to_kinesis_invalid_to_rejected_table(aws: None) -> None:
    batch = {
        "batch": [
            track(messageId="ok-1"),
            {"type": "track", "anonymousId": "a", "messageId": "bad"},
            track(messageId="ok-2"),
        ]
    }
    response = handler_module.handler(http_event("/v1/batch", json.dumps(batch)), None)
    assert response["statusCode"] == 400
    body = json.loads(response["body"])
    assert body["accepted"] == 2
    assert body["rejected"] == [{"index": 1, "messageId": "bad", "reason": "event: Field required"}]
    stream = read_stream_events(load_settings().events_stream)
    assert sorted(e.message_id for e in stream) == ["ok-1", "ok-2"]
    (stored,) = RejectedRepository().list_recent(10)
    assert (stored["stage"], stored["index"], stored["message_id"]) == ("ingest", 1, "bad")
    assert stored["reason"] == "event: Field required"
    assert json.loads(stored["raw"])["messageId"] == "bad"


def test_short_path_gzip_base64_body(aws: None) -> None:
    body = base64.b64encode(gzip.compress(json.dumps(track(messageId="gz")).encode())).decode()
    event = http_event("/v1/t", body, headers={"content-encoding": "gzip"}, base64_body=True)
    assert handler_module.handler(event, None)["statusCode"] == 200
    assert [e.message_id for e in read_stream_events(load_settings().events_stream)] == ["gz"]


def test_preflight_not_found_and_limits_through_powertools(install_fakes: Callable[..., None]) -> None:
    install_fakes(FakePublisher(), FakeRejectedStore())
    preflight = http_event("/v1/batch", None, method="OPTIONS", headers={"origin": "https://shop.example"})
    response = handler_module.handler(preflight, None)
    assert response["statusCode"] == 204
    assert response["headers"]["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response["headers"]["Access-Control-Allow-Methods"]
    assert handler_module.handler(http_event("/v1/nope", "{}"), None)["statusCode"] == 404
    too_many = json.dumps({"batch": [{"type": "page", "anonymousId": "a"}] * 2501})
    response = handler_module.handler(http_event("/v1/batch", too_many), None)
    assert response["statusCode"] == 413
    assert json.loads(response["body"])["limit"] == "batch_messages"
    response = handler_module.handler(http_event("/v1/batch", "{oops"), None)
    assert response["statusCode"] == 400 and "not valid JSON" in json.loads(response["body"])["reason"]


def test_injected_adapters_and_settings_changes(
    monkeypatch: pytest.MonkeyPatch, install_fakes: Callable[..., None]
) -> None:
    publisher, rejected = FakePublisher(), FakeRejectedStore()
    install_fakes(publisher, rejected)
    assert (
        handler_module.handler(http_event("/v1/p", json.dumps({"anonymousId": "a"})), None)["statusCode"]
        == 200
    )
    assert [e.type for e in publisher.events] == ["page"]
    monkeypatch.setenv("REVIVA_WRITE_KEYS", "rotated-key")
    reset_settings_cache()
    install_fakes(publisher, rejected)  # a composition holds one settings: reloaded settings, new one
    assert (
        handler_module.handler(http_event("/v1/p", json.dumps({"anonymousId": "a"})), None)["statusCode"]
        == 401
    )


@pytest.mark.parametrize(("record_format", "records"), [("envelope", 1), ("event", 5)])
def test_the_stream_record_format_follows_the_setting(
    aws: None, monkeypatch: pytest.MonkeyPatch, record_format: str, records: int
) -> None:
    # "event" is the upgrade path: an enrich function older than envelopes reads one event a record.
    monkeypatch.setenv("REVIVA_STREAM_RECORD_FORMAT", record_format)
    reset_settings_cache()
    response = handler_module.handler(copy.deepcopy(SAMPLE_EVENT), None)
    assert response["statusCode"] == 200
    raw = read_stream(load_settings().events_stream)
    assert len(raw) == records  # the sample's five events come from one visitor
    assert all(data.startswith(b"{") for data in raw) == (record_format == "event")
    assert len(read_stream_events(load_settings().events_stream)) == 5


def test_analytics_js_telemetry_is_accepted_and_dropped_with_cors(install_fakes: Callable[..., None]) -> None:
    """analytics.js posts its own metrics to `{apiHost}/m`: answered 200 with CORS, never stored."""
    publisher, rejected = FakePublisher(), FakeRejectedStore()
    install_fakes(publisher, rejected)
    telemetry = json.dumps({"series": [{"type": "Counter", "metric": "analytics_js.invoke", "value": 1}]})
    for body in (telemetry, "not json at all", None):
        response = handler_module.handler(
            http_event("/m", body, headers={"origin": "https://shop.example", "content-type": "text/plain"}),
            None,
        )
        assert response["statusCode"] == 200
        assert response["headers"]["Access-Control-Allow-Origin"] == "*"
    preflight = http_event("/m", None, method="OPTIONS", headers={"origin": "https://shop.example"})
    response = handler_module.handler(preflight, None)
    assert response["statusCode"] == 204 and "POST" in response["headers"]["Access-Control-Allow-Methods"]
    assert handler_module.handler(http_event("/m", None, method="GET"), None)["statusCode"] == 405
    assert publisher.events == [] and rejected.rejections == []


def test_the_telemetry_route_is_declared_for_the_ingest_function() -> None:
    from reviva.topology import ROUTES, TELEMETRY_PATH

    declared = {(route.method, route.path): route for route in ROUTES}
    assert TELEMETRY_PATH == "/m"
    for method in ("POST", "OPTIONS"):
        route = declared[(method, TELEMETRY_PATH)]
        assert route.function == "ingest" and route.auth == "public"
