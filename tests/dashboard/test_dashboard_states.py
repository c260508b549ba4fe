"""Every panel's states (ready, loading, empty, error, slow query, not deployed) and the sign-in hooks.

The page is the built dashboard served by the local gateway (with no API routes: anything not
answered in the browser is the gateway's real 404 for a route that does not exist). API answers
come from `FakeApi` in the documented shapes, so each state is provoked deliberately.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, Route, expect

from reviva_dev.local.gateway import FunctionInvoker, Gateway, GatewayServer
from tests.dashboard.conftest import DIST, ConsoleErrors, panel_states, sign_in_by_storage, wait_settled
from tests.dashboard.documented_answers import ATTRIBUTION_SPLITS, FakeApi

ALL_PANELS = [
    "overview",
    "realtime",
    "funnel",
    "paths",
    "retention",
    "attribution",
    "campaigns",
    "audience",
    "people",
    "visitor",
    "rejected",
]
DATA_PANELS = [p for p in ALL_PANELS if p != "visitor"]


def _no_handlers(name: str) -> Any:
    raise AssertionError(f"no function should run here ({name})")


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The built page behind the local gateway, with no API routes at all."""
    if not (DIST / "index.html").is_file():
        pytest.fail("the dashboard is not built: run `make dashboard`")
    server = GatewayServer(Gateway((), FunctionInvoker(_no_handlers, ()), {"/dashboard/": DIST}), port=0)
    server.start()
    yield f"http://127.0.0.1:{server.port}/dashboard/"
    server.stop()


def open_dashboard(page: Page, site: str, api: FakeApi, query: str = "") -> None:
    api.install(page)
    sign_in_by_storage(page)
    page.goto(site + query)


def test_documented_shapes_render_in_every_panel(
    page: Page, site: str, console_errors: ConsoleErrors
) -> None:
    api = FakeApi()
    open_dashboard(page, site, api)
    wait_settled(page)
    assert panel_states(page) == {**dict.fromkeys(DATA_PANELS, "ready"), "visitor": "idle"}

    overview = page.locator('[data-panel="overview"]')
    expect(overview.locator('[data-kpi="visitors"] .kpi-value')).to_have_text("812")
    expect(overview.locator('[data-kpi="bounce_rate"] .delta')).to_have_class(
        re.compile(r"\bup\b")
    )  # a drop is good
    expect(overview.locator('[data-kpi="revenue"] .kpi-value')).to_have_text("£4,121")
    expect(overview.locator(".spark canvas")).to_have_count(5)  # the KPIs with a series
    expect(overview.locator("[data-freshness]")).to_contain_text("precomputed rollup")
    # One vocabulary: every labelled figure links to its definition, which the page holds.
    terms = page.eval_on_selector_all(
        "[data-panel] a.term",
        "links => links.map((a) => "
        "[a.closest('[data-panel]').dataset.panel, a.getAttribute('href'), a.title])",
    )
    assert {panel for panel, _, _ in terms} >= {
        "overview",
        "funnel",
        "paths",
        "retention",
        "attribution",
        "campaigns",
        "realtime",
        "people",
    }
    for _, href, title in terms:
        assert title and page.locator(href).count() == 1, href
    assert overview.locator(".kpi h3 a.term").count() == 8
    # The default range ends today: the changes leave today out, and the tiles say so.
    expect(overview.locator("[data-comparison]")).to_contain_text("Changes compare complete days only")
    expect(overview.locator('[data-kpi="visitors"] [data-complete-days]')).to_have_count(1)

    funnel = page.locator('[data-panel="funnel"]')
    expect(funnel.locator(".step-count")).to_have_text(["500", "200", "200", "37"])
    expect(funnel.locator(".drop").first).to_have_text("\u2212300 (60%)")  # a minus sign
    # Nobody left between steps 2 and 3: said plainly, not a red "-0 (0%)".
    expect(funnel.locator('[data-step="2"] .no-drop')).to_have_text("no drop-off")
    expect(funnel.locator('[data-step="2"] .drop')).to_have_count(0)
    expect(funnel.locator(".funnel-total")).to_contain_text("7.4%")
    expect(funnel.locator(".funnel-total a.term")).to_have_attribute(
        "href", "#definition-funnel_completion_rate"
    )
    # The preset is the journey rules' (from the vocabulary answer), with its step labels.
    expect(funnel.locator(".step-title")).to_have_text(["Visited", "Saw prices", "Started booking", "Booked"])
    # Every breakdown row, the keys past the top 20 summed in a labelled "Other" row.
    expect(funnel.locator("tbody tr")).to_have_count(3)
    expect(funnel.locator("tbody tr").last.locator("th")).to_have_text("Other (5 more)")
    expect(funnel.locator("thead th").first).to_have_text("Acquisition channel")

    retention = page.locator('[data-panel="retention"]')
    expect(retention.locator(".chart-heatmap canvas").first).to_be_visible()
    expect(page.locator('[data-panel="paths"] .chart-sankey canvas').first).to_be_visible()
    expect(page.locator('[data-panel="paths"] .path-list li')).to_have_count(1)
    # A top path is readable in full: every step shown, nothing cut by an ellipsis.
    expect(page.locator('[data-panel="paths"] .path-step')).to_have_text(
        ["Landing page", "Service browse", "Pricing check", "Booking start"]
    )

    attribution = page.locator('[data-panel="attribution"]')
    expect(attribution.locator("thead th")).to_have_count(1 + len(ATTRIBUTION_SPLITS))
    first_row = attribution.locator("tbody tr").first
    expect(first_row.locator("th")).to_have_text("Organic search")
    expect(first_row.locator("td")).to_have_text(["20", "10", "15", "13", "15.5", "14.2"])
    attribution.get_by_role("radio", name="Revenue").click()
    expect(first_row.locator("td").first).to_have_text("£2,226")

    campaigns = page.locator('[data-panel="campaigns"]')
    expect(campaigns.locator(".campaign-name")).to_have_text(
        ["black-friday", "screen-repair-nov", "battery-week"]
    )
    expect(campaigns.locator("svg.inline-spark")).to_have_count(3)

    audience = page.locator('[data-panel="audience"]')
    expect(audience.locator(".breakdown")).to_have_count(4)
    expect(audience).to_contain_text("Organic search")
    assert console_errors.messages == []


def test_empty_answers_show_empty_states(page: Page, site: str, console_errors: ConsoleErrors) -> None:
    open_dashboard(page, site, FakeApi(empty=True))
    wait_settled(page)
    assert panel_states(page) == {**dict.fromkeys(DATA_PANELS, "empty"), "visitor": "idle"}
    expect(page.locator('[data-panel="realtime"]')).to_contain_text("Nobody has been on the site")
    expect(page.locator('[data-panel="rejected"]')).to_contain_text("Nothing rejected")
    assert console_errors.messages == []


def test_endpoints_not_deployed_show_not_available_and_the_rest_works(
    page: Page, site: str, console_errors: ConsoleErrors
) -> None:
    # Only the pipeline's first endpoints answer; the gateway has no route for the others.
    console_errors.allow_failed_requests_to("/v1/")
    api = FakeApi(
        overrides={
            key: (lambda request: (404, {"message": "Not Found"}, {}))
            for key in ("overview", "funnels", "retention", "paths", "attribution", "campaigns")
        }
    )
    open_dashboard(page, site, api)
    wait_settled(page)
    states = panel_states(page)
    assert states == {
        **dict.fromkeys(
            ["overview", "funnel", "paths", "retention", "attribution", "campaigns", "audience"],
            "unavailable",
        ),
        "realtime": "ready",
        "rejected": "ready",
        "people": "ready",
        "visitor": "idle",
    }
    expect(page.locator('[data-panel="funnel"]')).to_contain_text("POST /v1/funnels")
    # And with nothing faked at all: the gateway's own 404 for routes it does not have.
    page.unroute("**/v1/**")
    page.get_by_role("button", name="Refresh").click()
    wait_settled(page)
    assert set(panel_states(page).values()) == {"unavailable", "idle"}
    assert console_errors.messages == []


def test_errors_offer_a_retry_that_recovers(page: Page, site: str, console_errors: ConsoleErrors) -> None:
    console_errors.allow_failed_requests_to("/v1/")
    broken = {"on": True}

    def fail(request: dict[str, Any]) -> tuple[int, Any, dict[str, str]] | None:
        return (500, {"message": "Internal Server Error"}, {}) if broken["on"] else None

    keys = [
        "overview",
        "funnels",
        "retention",
        "paths",
        "attribution",
        "campaigns",
        "realtime",
        "rejected",
        "people",
    ]
    open_dashboard(page, site, FakeApi(overrides=dict.fromkeys(keys, fail)))
    wait_settled(page)
    assert panel_states(page) == {**dict.fromkeys(DATA_PANELS, "error"), "visitor": "idle"}
    campaigns = page.locator('[data-panel="campaigns"]')
    expect(campaigns).to_contain_text("Could not load")
    expect(campaigns).to_contain_text("Internal Server Error")

    broken["on"] = False
    campaigns.get_by_role("button", name="Retry").click()
    expect(campaigns).to_have_attribute("data-state", "ready")
    assert panel_states(page)["funnel"] == "error"  # one panel's retry leaves the others alone
    assert console_errors.messages == []


def test_a_slow_lake_query_is_retried_after_the_hinted_delay(
    page: Page, site: str, console_errors: ConsoleErrors
) -> None:
    console_errors.allow_failed_requests_to("/v1/campaigns")
    calls = {"n": 0}

    def slow_once(request: dict[str, Any]) -> tuple[int, Any, dict[str, str]] | None:
        calls["n"] += 1
        if calls["n"] == 1:
            body = {
                "error": "query_timeout",
                "reason": "Athena did not finish in time",
                "retry_after_seconds": 1,
            }
            return 504, body, {"retry-after": "1"}
        return None

    open_dashboard(page, site, FakeApi(overrides={"campaigns": slow_once}))
    campaigns = page.locator('[data-panel="campaigns"]')
    expect(campaigns).to_contain_text("taking longer than usual")
    expect(campaigns).to_have_attribute("data-state", "error")
    expect(campaigns).to_have_attribute("data-state", "ready", timeout=5_000)  # retried by itself
    assert calls["n"] == 2
    assert console_errors.messages == []


def test_panels_show_loading_until_their_answer_arrives(
    page: Page, site: str, console_errors: ConsoleErrors
) -> None:
    held: list[Route] = []
    api = FakeApi()
    api.install(page)
    page.route("**/v1/paths**", lambda route: held.append(route))  # answered later
    sign_in_by_storage(page)
    page.goto(site)
    paths = page.locator('[data-panel="paths"]')
    expect(page.locator('[data-panel="realtime"]')).to_have_attribute("data-state", "ready")
    expect(paths).to_have_attribute("data-state", "loading")
    expect(paths).to_have_attribute("aria-busy", "true")
    expect(paths.locator(".skeleton")).to_be_visible()
    expect(paths.locator("[data-freshness]")).to_have_text("Loading…")
    page.unroute("**/v1/paths**")
    for route in held:
        route.fallback()
    expect(paths).to_have_attribute("data-state", "ready")
    assert console_errors.messages == []


def test_an_expired_session_returns_to_sign_in(page: Page, site: str, console_errors: ConsoleErrors) -> None:
    console_errors.allow_failed_requests_to("/v1/")

    def unauthorized(request: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        return 401, {"error": "unauthorized", "reason": "a bearer token is required"}, {}

    open_dashboard(page, site, FakeApi(overrides={"realtime": unauthorized}))
    expect(page.get_by_label("Admin token")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your session has ended")
    assert page.evaluate("sessionStorage.length") == 0
    assert console_errors.messages == []


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_cognito_provider_signs_in_with_pkce_and_sends_the_id_token(
    page: Page, site: str, console_errors: ConsoleErrors
) -> None:
    """The AWS hook: config.json selects Cognito; the hosted UI and token endpoint are faked here."""
    domain = "https://auth.revivatech.example"
    config = {
        "apiBaseUrl": "",
        "auth": {"provider": "cognito", "domain": domain, "clientId": "dashboard-client"},
    }
    claims = {
        "email": "marketing@revivatech.example",
        "cognito:groups": ["marketing"],
        "aud": "dashboard-client",
    }
    id_token = ".".join([_b64url(b'{"alg":"none"}'), _b64url(json.dumps(claims).encode()), "signature"])
    seen: dict[str, Any] = {}

    def authorize(route: Route) -> None:
        query = {k: v[0] for k, v in parse_qs(urlparse(route.request.url).query).items()}
        seen["authorize"] = query
        location = f"{query['redirect_uri']}?code=the-code&state={query['state']}"
        route.fulfill(status=302, headers={"location": location})

    def token(route: Route) -> None:
        form = {k: v[0] for k, v in parse_qs(route.request.post_data or "").items()}
        seen["token"] = form
        challenge = _b64url(hashlib.sha256(form["code_verifier"].encode()).digest())
        assert challenge == seen["authorize"]["code_challenge"]
        assert form["code"] == "the-code" and form["grant_type"] == "authorization_code"
        route.fulfill(
            json={"id_token": id_token, "access_token": "access", "expires_in": 3600},
            headers={"access-control-allow-origin": "*"},
        )

    def realtime(request: dict[str, Any]) -> tuple[int, Any, dict[str, str]] | None:
        seen.setdefault("authorization", request["headers"].get("authorization"))
        return None

    page.route("**/dashboard/config.json", lambda route: route.fulfill(json=config))
    page.route(f"{domain}/oauth2/authorize**", authorize)
    page.route(f"{domain}/oauth2/token", token)
    FakeApi(overrides={"realtime": realtime}).install(page)
    page.goto(site)
    page.get_by_role("button", name="Sign in with your RevivaTech account").click()
    expect(page.locator('[data-panel="realtime"]')).to_have_attribute("data-state", "ready")

    assert seen["authorize"]["client_id"] == "dashboard-client"
    assert seen["authorize"]["code_challenge_method"] == "S256"
    assert seen["authorization"] == f"Bearer {id_token}"
    assert "code=" not in page.url  # the code is not left in the address bar
    expect(page.locator(".user")).to_have_text("marketing@revivatech.example")
    assert console_errors.messages == []


def test_date_range_picker_drives_the_lake_panels(
    page: Page, site: str, console_errors: ConsoleErrors
) -> None:
    api = FakeApi()
    open_dashboard(page, site, api)
    wait_settled(page)
    today = datetime.now(UTC).date()
    first = next(url for key, url in api.requests if key == "overview")
    assert f"from={today - timedelta(days=6)}" in first and f"to={today}" in first  # 7 days by default

    with page.expect_request(lambda r: "/v1/stats/overview" in r.url) as overview_request:
        page.get_by_role("radio", name="30 days").click()
    url = overview_request.value.url
    assert f"from={today - timedelta(days=29)}" in url and f"to={today}" in url and "interval=day" in url
    assert "range=30d" in page.url
    expect(page.get_by_role("radio", name="30 days")).to_have_attribute("aria-checked", "true")

    with page.expect_request(lambda r: r.url.split("?")[0].endswith("/v1/funnels")) as funnel_request:
        page.get_by_label("From").fill(str(today - timedelta(days=1)))
        page.get_by_label("From").dispatch_event("change")
    body: dict[str, Any] = funnel_request.value.post_data_json or {}
    assert body["from"] == str(today - timedelta(days=1)) and body["to"] == str(today)
    assert body["steps"][0] == {"type": "page"} and body["window_hours"] == 72
    expect(page.get_by_role("radio", name="30 days")).to_have_attribute("aria-checked", "false")
    assert f"from={today - timedelta(days=1)}" in page.url
    wait_settled(page)
    last = [url for key, url in api.requests if key == "overview"][-1]
    assert "interval=hour" in last  # two days: hourly buckets

    page.reload()  # the range is in the URL: a reload (or a shared link) keeps it
    expect(page.get_by_label("From")).to_have_value(str(today - timedelta(days=1)))
    wait_settled(page)
    assert console_errors.messages == []
