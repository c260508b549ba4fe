"""The dashboard against the real local stack: simulated history, a live visitor, rejected messages.

Every panel must show its data; a panel whose endpoint is not routed in this deployment (the
topology is the single source of truth for routes) must show the "not available" state instead.
The screenshot for the README is taken here, from real data.
"""

from __future__ import annotations

import re
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from reviva.topology import ROUTES
from tests.dashboard.conftest import (
    ADMIN_TOKEN,
    FIRST_SCREEN,
    ROOT,
    TOKEN_STORAGE_KEY,
    ConsoleErrors,
    Stack,
    live_journey,
    panel_states,
    sign_in_by_storage,
    wait_settled,
)
from tests.dashboard.documented_answers import FakeApi

SCREENSHOT = ROOT / "docs" / "dashboard.png"
# Locally every lake query runs in one query "container" at a time, so a lookup can queue
# behind the panels' queries for a few seconds.
SLOW_MS = 30_000

# Panel → the endpoint it reads (method, API Gateway path).
ANALYTICS_PANELS: dict[str, tuple[str, str]] = {
    "overview": ("GET", "/v1/stats/overview"),
    "audience": ("GET", "/v1/stats/overview"),
    "funnel": ("POST", "/v1/funnels"),
    "retention": ("GET", "/v1/retention"),
    "paths": ("GET", "/v1/paths"),
    "attribution": ("GET", "/v1/attribution"),
    "campaigns": ("GET", "/v1/campaigns"),
}


def routed(method: str, path: str) -> bool:
    return any(route.method == method and route.path == path for route in ROUTES)


def expected_states() -> dict[str, str]:
    states = {"realtime": "ready", "rejected": "ready", "visitor": "idle", "people": "ready"}
    for panel, (method, path) in ANALYTICS_PANELS.items():
        states[panel] = "ready" if routed(method, path) else "unavailable"
    return states


def missing_endpoints() -> list[str]:
    return sorted({path for method, path in ANALYTICS_PANELS.values() if not routed(method, path)})


def test_sign_in_with_the_admin_token(page: Page, stack: Stack, console_errors: ConsoleErrors) -> None:
    # The wrong token is checked against the API, which answers 401 (logged by Chromium).
    console_errors.allow_failed_requests_to("/v1/stats/realtime", *missing_endpoints())
    page.goto(stack.dashboard_url)
    token = page.get_by_label("Admin token")
    expect(token).to_be_visible()
    assert page.locator("[data-panel]").count() == 0
    # Where the token comes from, as a person reads it: no markdown backticks, the command they ran.
    hint = page.locator(".signin-form .hint")
    expect(hint).to_contain_text("make dev prints it")
    assert "`" not in hint.inner_text()

    token.fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That token was not accepted.")
    assert page.evaluate(f"sessionStorage.getItem({TOKEN_STORAGE_KEY!r})") is None

    token.fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("[data-panel]").first).to_be_visible()
    assert page.evaluate(f"sessionStorage.getItem({TOKEN_STORAGE_KEY!r})") == ADMIN_TOKEN

    page.reload()  # the token lives in the tab's session storage: still signed in
    expect(page.locator('[data-panel="realtime"]')).to_have_attribute("data-state", "ready", timeout=SLOW_MS)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin token")).to_be_visible()
    assert page.evaluate(f"sessionStorage.getItem({TOKEN_STORAGE_KEY!r})") is None
    assert console_errors.messages == []


def test_every_panel_renders_real_data(page: Page, stack: Stack, console_errors: ConsoleErrors) -> None:
    console_errors.allow_failed_requests_to(*missing_endpoints())
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in_by_storage(page)
    started = time.perf_counter()
    page.goto(stack.dashboard_url)
    wait_settled(page, FIRST_SCREEN)
    first_screen_s = time.perf_counter() - started
    wait_settled(page)
    settled_s = time.perf_counter() - started
    print(f"dashboard: first screen {first_screen_s:.2f} s, every panel {settled_s:.2f} s after navigation")
    # Generous bounds for slow CI machines; the figures measured here are in the report.
    assert first_screen_s < 8

    states = panel_states(page)
    assert states == expected_states()

    for panel, (method, path) in ANALYTICS_PANELS.items():
        card = page.locator(f'[data-panel="{panel}"]')
        if states[panel] == "unavailable":
            expect(card).to_contain_text("Not available yet")
            expect(card).to_contain_text(f"{method} {path}")
        else:
            expect(card.locator(".panel-body")).to_be_visible()

    # Realtime: the live visitor is active now; the per-minute chart is drawn.
    realtime = page.locator('[data-panel="realtime"]')
    active_now = int(realtime.locator('[data-metric="active_visitors_5m"]').inner_text())
    assert active_now >= 1
    expect(realtime.locator(".chart-realtime canvas").first).to_be_visible()
    expect(realtime).to_contain_text("Booking Submitted")

    # Rejected: the test's invalid messages, with their reason and masked payload.
    rejected = page.locator('[data-panel="rejected"]')
    expect(rejected.locator("tbody tr").first).to_be_visible()
    assert stack.rejected_marker in (rejected.text_content() or "")  # in the raw payload

    if states["overview"] == "ready":
        overview = page.locator('[data-panel="overview"]')
        expect(overview.locator("[data-kpi]")).to_have_count(8)
        visitors = overview.locator('[data-kpi="visitors"] .kpi-value').inner_text()
        assert re.sub(r"\D", "", visitors) not in ("", "0")

    # Every panel that has settled says how fresh its data is.
    for panel, state in states.items():
        if state == "idle":
            continue
        freshness = page.locator(f'[data-panel="{panel}"] [data-freshness]').inner_text()
        assert re.match(r"(Data as of|Live data, fetched|Checked) \d\d:\d\d", freshness), (panel, freshness)

    # The visitor lookup, for the screenshot too: profile and journey timeline.
    visitor = page.locator('[data-panel="visitor"]')
    visitor.get_by_label("Visitor id").fill(stack.live_visitor)
    visitor.get_by_role("button", name="Look up").click()
    expect(visitor).to_have_attribute("data-state", "ready", timeout=SLOW_MS)
    expect(visitor.locator("[data-visitor]")).to_have_text(stack.live_visitor)
    expect(visitor.locator("[data-timeline] .step")).to_have_count(5)
    expect(visitor.locator(".step.conversion")).to_contain_text("Booking submitted")
    expect(visitor.locator(".stage-track li.reached")).to_have_count(3)

    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(500)  # let the chart animations finish
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 50_000
    assert console_errors.messages == []


def test_visitor_lookup_of_an_unknown_visitor_is_an_empty_state(
    page: Page, stack: Stack, console_errors: ConsoleErrors
) -> None:
    console_errors.allow_failed_requests_to("/v1/visitors/")
    # The lake panels are answered in the browser: this test is about the lookup, which would
    # otherwise queue behind their queries in the local query function.
    FakeApi(passthrough=frozenset({"visitors", "realtime", "rejected"})).install(page)
    sign_in_by_storage(page)
    page.goto(stack.dashboard_url + f"?visitor={stack.live_visitor}")
    visitor = page.locator('[data-panel="visitor"]')
    expect(visitor).to_have_attribute("data-state", "ready", timeout=SLOW_MS)  # ?visitor= opens a profile

    visitor.get_by_label("Visitor id").fill("nobody-" + uuid.uuid4().hex)
    visitor.get_by_role("button", name="Look up").click()
    expect(visitor).to_have_attribute("data-state", "empty", timeout=SLOW_MS)
    expect(visitor).to_contain_text("No visitor found")
    wait_settled(page)
    assert console_errors.messages == []


def test_realtime_panel_refreshes_itself(page: Page, stack: Stack, console_errors: ConsoleErrors) -> None:
    FakeApi(passthrough=frozenset({"realtime", "rejected"})).install(page)  # only realtime matters here
    page.route(
        "**/dashboard/config.json",
        lambda route: route.fulfill(
            json={"apiBaseUrl": "", "auth": {"provider": "token"}, "realtimeRefreshSeconds": 1}
        ),
    )
    sign_in_by_storage(page)
    page.goto(stack.dashboard_url)
    realtime = page.locator('[data-panel="realtime"]')
    expect(realtime).to_have_attribute("data-state", "ready", timeout=SLOW_MS)
    before = int(realtime.locator('[data-metric="active_visitors_5m"]').inner_text())

    newcomer = f"dashboard-e2e-new-{uuid.uuid4().hex[:8]}"
    status, _ = stack.post_batch(live_journey(newcomer, datetime.now(UTC))[:2])
    assert status == 200
    # No reload: the panel polls on its own.
    page.wait_for_function(
        "(before) => Number(document.querySelector("
        "'[data-metric=\"active_visitors_5m\"]').textContent) > before",
        arg=before,
        timeout=SLOW_MS,
    )
    assert console_errors.messages == []


@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/config.json"])
def test_the_page_and_its_config_are_served(stack: Stack, path: str) -> None:
    with urllib.request.urlopen(stack.info.api_url + path, timeout=5) as response:
        assert response.status == 200
        body = response.read().decode()
    if path.endswith("/"):
        assert re.search(r'<script type="module" src="assets/main-\w+\.js">', body)
    else:
        assert '"provider": "token"' in body


def _options(page: Page, kind: str) -> list[str]:
    return page.locator(f"#funnel-values-{kind} option").evaluate_all(
        "(options) => options.map((o) => o.value)"
    )


def test_a_funnel_built_from_autocompleted_steps_is_saved_and_opens_by_url(
    page: Page, stack: Stack, console_errors: ConsoleErrors, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in_by_storage(page)
    page.goto(stack.dashboard_url)
    funnel = page.locator('[data-panel="funnel"]')
    expect(funnel).to_have_attribute("data-state", "ready", timeout=SLOW_MS)
    # The preset comes from the journey rules and matches the simulated store's data.
    expect(funnel.get_by_label("Funnel", exact=True)).to_have_value("preset:booking")
    assert int(funnel.locator(".step-count").first.inner_text().replace(",", "")) > 0

    funnel.locator("summary", has_text="Build or edit").click()
    rows = funnel.locator(".builder-step")
    expect(rows).to_have_count(4)
    while rows.count() > 2:
        rows.last.get_by_role("button", name="Remove step").click()

    # Autocomplete: the lists hold the lake's pages and events; typing asks the lake for more.
    page_values = _options(page, "url")
    assert "/" in page_values and any(v.endswith("/*") for v in page_values), page_values
    assert "Booking Submitted" in _options(page, "event")
    first, second = rows.nth(0), rows.nth(1)
    first.get_by_label("Step kind").select_option("url")
    first.get_by_label("Step value").fill("/")
    second.get_by_label("Step kind").select_option("event")
    second.get_by_label("Step value").fill("")
    with page.expect_response(lambda r: "/v1/funnels/vocabulary" in r.url and "q=Booking" in r.url):
        second.get_by_label("Step value").press_sequentially("Booking")
    # The list now holds only the lake's event names containing what was typed.
    page.wait_for_function(
        "() => [...document.querySelectorAll('#funnel-values-event option')]"
        ".every((o) => o.value.toLowerCase().includes('booking'))"
    )
    assert {"Booking Started", "Booking Submitted"} <= set(_options(page, "event"))
    second.get_by_label("Step value").fill("Booking Submitted")

    with page.expect_response(lambda r: r.url.split("?")[0].endswith("/v1/funnels")) as answered:
        funnel.get_by_role("button", name="Show funnel").click()
    assert (answered.value.request.post_data_json or {}).get("steps") == [
        {"url": "/"},
        {"event": "Booking Submitted"},
    ]
    expect(funnel).to_have_attribute("data-state", "ready", timeout=SLOW_MS)
    expect(funnel.locator(".step-title")).to_have_text(["/", "Booking Submitted"])
    counts = funnel.locator(".step-count").all_inner_texts()

    name = f"E2E {uuid.uuid4().hex[:6]}"
    funnel.get_by_label("Funnel name").fill(name)
    funnel.get_by_role("button", name="Save").click()
    link = funnel.locator("[data-funnel-link]")
    expect(link).to_be_visible(timeout=SLOW_MS)
    saved_id = link.get_attribute("data-funnel-link")
    assert saved_id and f"funnel={saved_id}" in page.url
    status, listed = stack.get(f"/v1/funnels/saved?id={saved_id}")
    assert status == 200 and listed["funnels"][0]["name"] == name
    assert listed["funnels"][0]["steps"] == [{"url": "/"}, {"event": "Booking Submitted"}]

    # Opened by its URL in a fresh tab: the same funnel, the same figures.
    other = page.context.new_page()
    other.set_viewport_size({"width": 390, "height": 844})
    sign_in_by_storage(other)  # the token stays in its tab
    other.goto(stack.dashboard_url + f"?funnel={saved_id}")
    reopened = other.locator('[data-panel="funnel"]')
    expect(reopened).to_have_attribute("data-state", "ready", timeout=SLOW_MS)
    expect(reopened.get_by_label("Funnel", exact=True)).to_have_value(f"saved:{saved_id}")
    expect(reopened.locator(".step-title")).to_have_text(["/", "Booking Submitted"])
    assert reopened.locator(".step-count").all_inner_texts() == counts
    # Phone width: the funnel and journeys cards fit (no horizontal scroll inside them).
    wait_settled(other, ["funnel", "paths"])
    for panel in ("funnel", "paths"):
        card = other.locator(f'[data-panel="{panel}"]')
        assert card.evaluate("(e) => e.scrollWidth <= e.clientWidth + 1"), panel
    for width, target in ((390, other), (1440, page)):
        target.locator('[data-panel="funnel"]').screenshot(path=str(tmp_path / f"funnel-{width}.png"))
        target.locator('[data-panel="paths"]').scroll_into_view_if_needed()
        target.wait_for_timeout(600)
        target.locator('[data-panel="paths"]').screenshot(path=str(tmp_path / f"paths-{width}.png"))
    other.screenshot(path=str(tmp_path / "page-390.png"), full_page=True)
    print(f"screenshots in {tmp_path}")
    assert console_errors.messages == []
