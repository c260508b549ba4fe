"""The query function through a real HTTP API v2 event, over DynamoDB on moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from reviva.adapters.dynamodb.tables import create_tables
from reviva.composition import current_composition
from reviva.enrich.service import process_batch
from reviva.privacy.pseudonymize import pseudonymize_user_id
from reviva.settings import load_settings, reset_settings_cache
from reviva_dev.fakes.enrich import MemoryLake
from reviva_dev.fakes.lambda_context import lambda_context
from tests.enrich.builders import Stream, event
from tests.functions.query.http_events import http_event


def call(event_: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    from functions.query.handler import handler

    response = handler(event_, lambda_context("query"))
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def pipeline() -> Iterator[None]:
    with mock_aws():
        create_tables(load_settings())
        ports = current_composition().enrich
        ports.lake = MemoryLake()  # the lake has its own tests; here the DynamoDB views matter
        now = datetime.now(UTC) - timedelta(minutes=2)
        key = load_settings().hmac_key()
        user = pseudonymize_user_id("cust-42", key)
        events = [
            event("phone", at=now, path="/services/iphone-screen-repair"),
            event("phone", kind="identify", at=now + timedelta(seconds=5), user_id=user),
            event("laptop", at=now - timedelta(days=2), path="/pricing"),
            event("laptop", kind="identify", at=now - timedelta(days=2, seconds=-5), user_id=user),
        ]
        process_batch(Stream().records(*events), ports)
        yield


def test_visitor_by_raw_user_id_merges_devices(pipeline: None) -> None:
    status, body = call(http_event("/v1/visitors/cust-42"))
    assert status == 200
    assert set(body["identity_keys"]) >= {"a:phone", "a:laptop"}
    assert body["profile"]["total_sessions"] == 2
    assert body["profile"]["total_page_views"] == 2
    assert [s["visitor_key"] for s in body["sessions"]] == ["a:laptop", "a:phone"]
    times = [step["created_at"] for step in body["journey"]]
    assert len(times) == 2 and times == sorted(times)
    assert [step["visitor_key"] for step in body["journey"]] == ["a:laptop", "a:phone"]


def test_visitor_by_anonymous_id_and_unknown(pipeline: None) -> None:
    status, body = call(http_event("/v1/visitors/phone"))
    assert status == 200 and body["profile"]["total_page_views"] == 2
    status, body = call(http_event("/v1/visitors/nobody"))
    assert status == 404


def test_admin_token_is_required(pipeline: None) -> None:
    assert call(http_event("/v1/visitors/phone", token=None))[0] == 401
    assert call(http_event("/v1/visitors/phone", token="wrong"))[0] == 401


def test_realtime_counts_the_last_thirty_minutes(pipeline: None) -> None:
    status, body = call(http_event("/v1/stats/realtime"))
    assert status == 200
    # Only the phone's events are recent; the laptop's are two days old.
    assert body["events_by_type"] == {"page": 1, "identify": 1}
    assert body["active_visitors"] == 1


def test_realtime_lists_who_is_here_and_puts_business_events_first(pipeline: None) -> None:
    ports = current_composition().enrich
    ports.lake = MemoryLake()
    now = datetime.now(UTC) - timedelta(minutes=1)
    stream = Stream()
    stream.next_sequence = 1000  # after the fixture's records on the same shard
    process_batch(
        stream.records(
            event("tablet", at=now, path="/pricing", referrer="https://www.google.com/"),
            event("tablet", kind="track", at=now, name="Scroll Depth Reached"),
            event("tablet", kind="track", at=now, name="Scroll Depth Reached"),
            event("tablet", kind="track", at=now, name="Pricing Viewed"),
        ),
        ports,
    )
    status, body = call(http_event("/v1/stats/realtime"))
    assert status == 200
    assert [v["visitor_key"] for v in body["live_visitors"]] == ["a:tablet", "a:phone"]
    tablet = body["live_visitors"][0]
    assert tablet["page"] == "/pricing" and tablet["channel"] == "organic_search" and tablet["active_now"]
    assert {"key": "/pricing", "value": 1} in body["live_pages"]
    assert {"key": "organic_search", "value": 1} in body["live_sources"]
    assert body["business_events"] == [{"key": "Pricing Viewed", "value": 1}]
    assert body["automatic_events"] == [{"key": "Scroll Depth Reached", "value": 2}]
    assert body["live_sampled"] is False


def test_rejected_limit_is_validated(pipeline: None) -> None:
    assert call(http_event("/v1/rejected", query="limit=0"))[0] == 400
    assert call(http_event("/v1/rejected", query="limit=abc"))[0] == 400
    status, body = call(http_event("/v1/rejected", query="limit=5"))
    assert status == 200 and body["count"] == 0


def test_health(pipeline: None) -> None:
    status, body = call(http_event("/health", token=None))
    assert status == 200 and body["status"] == "ok"


def test_with_an_origin_secret_only_cloudfront_s_requests_and_the_health_check_pass(
    pipeline: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reviva.origin_verify import ORIGIN_VERIFY_HEADER

    monkeypatch.setenv("REVIVA_ORIGIN_VERIFY_SECRET", "cloudfront-only-secret")
    reset_settings_cache()
    direct = http_event("/v1/stats/realtime")
    assert call(direct)[0] == 403
    through_edge = http_event("/v1/stats/realtime")
    through_edge["headers"][ORIGIN_VERIFY_HEADER] = "cloudfront-only-secret"
    assert call(through_edge)[0] == 200
    assert call(http_event("/health", token=None))[0] == 200


def test_visitor_lists_only_identity_keys_that_exist(pipeline: None) -> None:
    """Keys the lookup merely tried (`a:cust-42` from the raw id) are not identities: not listed."""
    user = "u:" + pseudonymize_user_id("cust-42", load_settings().hmac_key())
    status, body = call(http_event("/v1/visitors/cust-42"))
    assert status == 200
    assert sorted(body["identity_keys"]) == sorted(["a:laptop", "a:phone", user])
    status, body = call(http_event("/v1/visitors/phone"))
    assert status == 200
    assert "u:" + pseudonymize_user_id("phone", load_settings().hmac_key()) not in body["identity_keys"]
    assert sorted(body["identity_keys"]) == sorted(["a:laptop", "a:phone", user])


def test_a_defect_is_a_logged_json_500_that_names_no_internals(
    pipeline: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise KeyError("secret-table-name")

    counters = current_composition().query.counters
    monkeypatch.setattr(type(counters), "read_window", broken)
    status, body = call(http_event("/health"))
    assert status == 500
    assert body["error"] == "internal_error" and "secret-table-name" not in json.dumps(body)
