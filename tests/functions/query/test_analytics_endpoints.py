"""The analytics endpoints through the query handler with real HTTP API v2 events, over an Iceberg
lake (file:// warehouse, SQLite catalog) written by the LakeWriter and read by the DuckDB executor."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reviva.analytics.errors import QueryTimeout
from reviva.composition import Composition, current_composition
from reviva.settings import load_settings, reset_settings_cache
from reviva_dev.fakes.lambda_context import lambda_context
from tests.analytics import dataset
from tests.functions.query.http_events import http_event
from tests.local_lake import use_local_lake

DAY0 = dataset.D.isoformat()
DAY1 = (dataset.D + timedelta(days=1)).isoformat()


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    use_local_lake(tmp_path, monkeypatch)
    writer = Composition(load_settings()).lake_sink
    writer.append("shardId-000000000000", dataset.events(), last_sequence="100")
    yield tmp_path


def request(
    method: str, path: str, query: str = "", body: Any = None, token: str | None = "test-admin-token"
) -> dict[str, Any]:
    event = http_event(path, token=token, query=query)
    event["requestContext"]["http"]["method"] = method
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
        event["headers"]["content-type"] = "application/json"
    return event


def call(event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    from functions.query.handler import handler

    response = handler(event, lambda_context("query"))
    return response["statusCode"], json.loads(response["body"]), response.get("headers") or {}


def test_overview_over_the_iceberg_lake(lake: Path) -> None:
    status, body, _ = call(request("GET", "/v1/stats/overview", f"from={DAY0}&to={DAY1}"))
    assert status == 200, body
    assert body["kpis"]["visitors"]["value"] == 3
    assert body["kpis"]["sessions"]["value"] == 4
    assert body["kpis"]["revenue"]["value"] == 150.0
    assert body["freshness"]["data_as_of"] is not None
    # The rollups were stored beside the lake: the next answer comes from them.
    assert (lake / "lake" / "analytics" / "rollups" / "daily" / f"{DAY0}.json").exists()
    status, body, _ = call(request("GET", "/v1/stats/overview", f"from={DAY0}&to={DAY1}"))
    assert body["freshness"]["source"] == "rollup"


def test_funnel_post(lake: Path) -> None:
    funnel = {
        "steps": [{"type": "page"}, {"url": "/pricing*"}, {"event": "Booking Submitted"}],
        "from": DAY0,
        "to": DAY1,
    }
    status, body, _ = call(request("POST", "/v1/funnels", body=funnel))
    assert status == 200, body
    assert [s["count"] for s in body["steps"]] == [3, 2, 2]


@pytest.mark.parametrize(
    ("path", "query", "key"),
    [
        ("/v1/retention", f"cohort=day&periods=2&from={DAY0}&to={DAY1}", "cohorts"),
        ("/v1/paths", f"from={DAY0}&to={DAY1}", "nodes"),
        ("/v1/attribution", f"model=markov&from={DAY0}&to={DAY1}", "rows"),
        ("/v1/campaigns", f"from={DAY0}&to={DAY1}", "campaigns"),
        ("/v1/trends", f"metric=visitors&from={DAY0}&to={DAY1}", "history"),
    ],
)
def test_every_get_endpoint_answers(lake: Path, path: str, query: str, key: str) -> None:
    status, body, _ = call(request("GET", path, query))
    assert status == 200, body
    assert body[key]
    assert set(body["freshness"]) == {
        "source",
        "data_as_of",
        "computed_at",
        "generated_at",
        "partial",
        "complete_through",
        "recomputed_days",
        "lagging_days",
    }
    assert body["freshness"]["partial"] is False
    if path != "/v1/attribution":  # attribution does not pass its range to the freshness yet
        assert body["freshness"]["complete_through"] == DAY1


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "parameter"),
    [
        ("GET", "/v1/stats/overview", "from=2026-02-30", None, "from"),
        ("GET", "/v1/attribution", "model=magic", None, "model"),
        ("GET", "/v1/retention", "periods=100", None, "periods"),
        ("GET", "/v1/trends", "metric=bounces", None, "metric"),
        ("GET", "/v1/campaigns", "limit=0", None, "limit"),
        ("POST", "/v1/funnels", "", "{not json", "body"),
        ("POST", "/v1/funnels", "", {"steps": [{"type": "page"}]}, "steps"),
    ],
)
def test_malformed_parameters_get_a_400_naming_them(
    lake: Path, method: str, path: str, query: str, body: Any, parameter: str
) -> None:
    status, answer, _ = call(request(method, path, query, body))
    assert status == 400
    assert answer["error"] == "bad_request" and answer["parameter"] == parameter
    assert answer["reason"]


def test_a_slow_athena_query_is_a_504_with_a_retry_hint(lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    service = current_composition().query.analytics

    def slow(query: Any) -> Any:
        raise QueryTimeout("the funnel query is still running on Athena after 20 s", retry_after_seconds=7)

    monkeypatch.setattr(service.executor, "run", slow)
    funnel = {"steps": [{"type": "page"}, {"type": "track"}]}
    status, body, headers = call(request("POST", "/v1/funnels", body=funnel))
    assert status == 504
    assert body == {
        "error": "query_timeout",
        "reason": "the funnel query is still running on Athena after 20 s",
        "retry_after_seconds": 7,
    }
    assert headers["Retry-After"] == "7"


def _jwt_event(path: str, groups: str) -> dict[str, Any]:
    event = request("GET", path, token=None)
    event["requestContext"]["authorizer"] = {"jwt": {"claims": {"cognito:groups": groups}, "scopes": None}}
    return event


def test_roles(lake: Path) -> None:
    assert call(request("GET", "/v1/campaigns", token=None))[0] == 401
    assert call(_jwt_event("/v1/campaigns", "[compliance]"))[0] == 403
    assert call(_jwt_event("/v1/campaigns", "[marketing]"))[0] == 200


def test_the_rollup_schedule_stores_the_recent_days(lake: Path) -> None:
    from functions.query.handler import handler

    event = {
        "version": "0",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "detail": {"task": "rollup"},
    }
    result = handler(event, lambda_context("query"))
    assert result["task"] == "rollup" and result["days"] >= 2
    stored = sorted(p.name for p in (lake / "lake" / "analytics" / "rollups" / "daily").iterdir())
    assert len(stored) >= 2


def test_the_composition_picks_athena_for_a_glue_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    from reviva.adapters.athena_executor import AthenaExecutor

    monkeypatch.setenv("LAKE_CATALOG", "glue")
    reset_settings_cache()
    assert isinstance(Composition(load_settings()).analytics.executor, AthenaExecutor)


def test_base64_bodies_are_decoded(lake: Path) -> None:
    funnel = json.dumps({"steps": [{"type": "page"}, {"type": "track"}], "from": DAY0, "to": DAY1})
    event = request("POST", "/v1/funnels", body=base64.b64encode(funnel.encode()).decode())
    event["isBase64Encoded"] = True
    status, body, _ = call(event)
    assert status == 200, body
