"""End to end: Segment's own Python library → local API → ingest → Kinesis → enrich → stores.

The whole pipeline runs on the embedded moto server, exactly as `reviva dev` runs it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import segment.analytics as segment_analytics

from reviva.adapters.lake.catalog import ensure_events_table, load_lake_catalog
from reviva.adapters.lake.reader import scan_events
from reviva.settings import load_settings
from reviva_dev.local.runtime import LocalRuntime, RuntimeInfo

ADMIN_TOKEN = "e2e-admin-token"
WRITE_KEY = "e2e-write-key"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeInfo]:
    data_dir: Path = tmp_path_factory.mktemp("reviva-e2e")
    local = LocalRuntime(port=0, data_dir=data_dir, write_key=WRITE_KEY, admin_token=ADMIN_TOKEN, demo=False)
    info = local.start()
    try:
        yield info
    finally:
        local.stop()


def _get(info: RuntimeInfo, path: str, token: str | None = ADMIN_TOKEN) -> tuple[int, Any]:
    request = urllib.request.Request(info.api_url + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _wait_for(info: RuntimeInfo, path: str, ready: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    body: Any = None
    while time.monotonic() < deadline:
        status, body = _get(info, path)
        if status == 200 and ready(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{path} never became ready; last answer: {body}")


def _client(info: RuntimeInfo, **options: Any) -> segment_analytics.Client:
    return segment_analytics.Client(write_key=WRITE_KEY, host=info.api_url, sync_mode=True, **options)


def test_segment_library_events_reach_profile_journey_and_lake(runtime: RuntimeInfo) -> None:
    anonymous_id = str(uuid.uuid4())
    client = _client(runtime)
    page_context = {
        "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1"
    }
    base = "https://revivatech.co.uk"
    client.page(
        anonymous_id=anonymous_id,
        name="Home",
        properties={
            "path": "/",
            "url": f"{base}/?utm_source=google&utm_medium=cpc&utm_campaign=screens&gclid=x1",
        },
        context=page_context,
    )
    client.page(
        anonymous_id=anonymous_id,
        name="Pricing",
        properties={"path": "/pricing", "url": f"{base}/pricing"},
        context=page_context,
    )
    client.track(
        anonymous_id=anonymous_id,
        event="Booking Started",
        properties={"service": "iphone-screen-repair"},
        context={**page_context, "page": {"path": "/book"}},
    )
    client.identify(
        anonymous_id=anonymous_id,
        user_id="cust-e2e-1",
        traits={"email": "jo@example.com", "phone": "+447700900123", "plan": "care"},
    )
    client.track(
        anonymous_id=anonymous_id,
        user_id="cust-e2e-1",
        event="Booking Submitted",
        properties={"revenue": 129.0, "service": "iphone-screen-repair"},
        context={**page_context, "page": {"path": "/book/confirm"}},
    )
    client.flush()

    body = _wait_for(runtime, f"/v1/visitors/{anonymous_id}", lambda b: b["profile"]["total_events"] >= 5)
    profile = body["profile"]
    assert profile["total_page_views"] == 2
    assert profile["total_sessions"] == 1
    assert profile["conversions"] == 1
    assert profile["total_revenue"] == 129.0
    assert profile["device_types"] == ["mobile"]
    assert profile["first_channel"] == "paid_search"
    assert profile["user_id"].startswith("u_")
    assert "jo@example.com" not in json.dumps(body) and "7700900123" not in json.dumps(body)
    assert profile["traits"]["plan"] == "care"
    touchpoints = [step["touchpoint"] for step in body["journey"]]
    assert touchpoints[0] == "landing_page"
    assert body["journey"][-1]["conversion_event"] is True
    assert [step["sequence_number"] for step in body["journey"]] == sorted(
        s["sequence_number"] for s in body["journey"]
    )

    # The raw user id finds the same person.
    by_user = _wait_for(runtime, "/v1/visitors/cust-e2e-1", lambda b: True)
    assert by_user["profile"]["total_events"] == profile["total_events"]

    # Every event is in the lake, once, with no raw identifier.
    settings = load_settings()
    table = ensure_events_table(load_lake_catalog(settings), settings)
    deadline = time.monotonic() + 20
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        table.refresh()
        rows = [r for r in scan_events(table).to_pylist() if r["anonymous_id"] == anonymous_id]
        if len(rows) >= 5:
            break
        time.sleep(0.2)
    assert sorted(r["event_type"] for r in rows) == ["identify", "page", "page", "track", "track"]
    assert len({r["message_id"] for r in rows}) == 5
    assert all("jo@example.com" not in json.dumps(r, default=str) for r in rows)


def test_resending_the_same_messages_changes_nothing(runtime: RuntimeInfo) -> None:
    anonymous_id = str(uuid.uuid4())
    client = _client(runtime)
    message_ids = [str(uuid.uuid4()) for _ in range(3)]
    for repeat in range(3):  # the client retries twice after "lost" answers
        for index, message_id in enumerate(message_ids):
            client.page(anonymous_id=anonymous_id, message_id=message_id, properties={"path": f"/p{index}"})
        client.flush()
        if repeat == 0:
            _wait_for(
                runtime, f"/v1/visitors/{anonymous_id}", lambda b: b["profile"]["total_page_views"] == 3
            )
    time.sleep(1.5)
    _, body = _get(runtime, f"/v1/visitors/{anonymous_id}")
    assert body["profile"]["total_page_views"] == 3
    assert body["profile"]["total_events"] == 3


def test_bad_messages_are_rejected_with_reasons_and_listed(runtime: RuntimeInfo) -> None:
    payload = json.dumps(
        {
            "batch": [
                {"type": "track", "anonymousId": "ok-1", "event": "Pricing Viewed"},
                {"type": "track", "anonymousId": "bad-1"},
            ]
        }
    ).encode()
    request = urllib.request.Request(runtime.api_url + "/v1/batch", data=payload, method="POST")
    request.add_header("Content-Type", "application/json")
    # urllib's own User-Agent is (rightly) classed as a bot, which keeps no profile.
    request.add_header("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0")
    request.add_header(
        "Authorization", "Basic " + __import__("base64").b64encode(f"{WRITE_KEY}:".encode()).decode()
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 400
    answer = json.loads(error.value.read())
    assert answer["accepted"] == 1
    assert answer["rejected"][0]["index"] == 1
    _wait_for(runtime, "/v1/visitors/ok-1", lambda b: b["profile"]["total_events"] == 1)
    status, listed = _get(runtime, "/v1/rejected?limit=10")
    assert status == 200
    assert any(item["index"] == 1 and item["stage"] == "ingest" for item in listed["rejected"])


def test_health_and_realtime(runtime: RuntimeInfo) -> None:
    assert _get(runtime, "/health", token=None)[0] == 200
    status, body = _get(runtime, "/v1/stats/realtime")
    assert status == 200 and "active_visitors" in body
    assert _get(runtime, "/v1/stats/realtime", token=None)[0] == 401
