"""People, filters and the phone layout, in a real headless Chromium with a normal browser user agent,
against the real local stack (simulated history and a live visitor, see conftest)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.dashboard.conftest import ROOT, ConsoleErrors, Stack, sign_in_by_storage, wait_settled

PHONE_SCREENSHOT = ROOT / "docs" / "dashboard-phone.png"
SLOW_MS = 30_000
BROWSER_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
)
PHONE_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, user_agent=BROWSER_USER_AGENT)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, user_agent=PHONE_USER_AGENT, is_mobile=True, has_touch=True
    )
    yield context.new_page()
    context.close()


def test_find_a_visitor_in_people_and_open_them_by_url(desktop: Page, stack: Stack) -> None:
    errors = ConsoleErrors(desktop)
    sign_in_by_storage(desktop)
    desktop.goto(stack.dashboard_url)
    people = desktop.locator('[data-panel="people"]')
    expect(people).to_have_attribute("data-state", "ready", timeout=SLOW_MS)
    assert people.locator("[data-visitor-key]").count() >= 10  # the simulated visitors of the week

    people.get_by_label("Search people").fill(stack.live_visitor)
    with desktop.expect_request(lambda r: r.url.endswith("/v1/visitors/search")) as search:
        people.get_by_role("button", name="Search", exact=True).click()
    assert stack.live_visitor in (search.value.post_data or "")  # in the body, never in a URL
    row = people.locator("[data-visitor-key]")
    expect(row).to_have_count(1, timeout=SLOW_MS)
    expect(row).to_have_attribute("data-visitor-key", f"a:{stack.live_visitor}")

    row.click()
    visitor = desktop.locator('[data-panel="visitor"]')
    expect(visitor).to_have_attribute("data-state", "ready", timeout=SLOW_MS)
    expect(visitor.locator("[data-visitor]")).to_have_text(f"a:{stack.live_visitor}")
    expect(visitor).to_contain_text("1 device")
    assert f"visitor=a%3A{stack.live_visitor}" in desktop.url

    # The URL opens the same visitor again.
    desktop.goto(desktop.url)
    expect(desktop.locator('[data-panel="visitor"] [data-visitor]')).to_have_text(
        f"a:{stack.live_visitor}", timeout=SLOW_MS
    )
    assert errors.messages == []


def test_realtime_lists_the_live_visitor_and_a_click_opens_them(desktop: Page, stack: Stack) -> None:
    errors = ConsoleErrors(desktop)
    sign_in_by_storage(desktop)
    desktop.goto(stack.dashboard_url)
    realtime = desktop.locator('[data-panel="realtime"]')
    expect(realtime).to_have_attribute("data-state", "ready", timeout=SLOW_MS)
    live = realtime.locator(f'[data-visitor-key="a:{stack.live_visitor}"]')
    expect(live).to_contain_text("/pricing/phones")
    expect(realtime.locator("[data-live-sources]")).to_contain_text("Organic search")
    # The site's own events come before the tracker's automatic noise.
    events = realtime.locator("[data-live-events] li")
    assert "automatic" not in (events.first.get_attribute("class") or "")
    live.click()
    expect(desktop.locator('[data-panel="visitor"] [data-visitor]')).to_have_text(
        f"a:{stack.live_visitor}", timeout=SLOW_MS
    )
    assert errors.messages == []


def _number(text: str) -> int:
    return int(re.sub(r"\D", "", text) or 0)


def _leading_number(text: str) -> int:
    """The first number of a sentence ("1,204 visitors in 8 cohorts." → 1204)."""
    found = re.match(r"\D*([\d,]+)", text)
    assert found, text
    return int(found.group(1).replace(",", ""))


def test_filter_by_a_channel_and_remove_the_chip(desktop: Page, stack: Stack) -> None:
    errors = ConsoleErrors(desktop)
    sign_in_by_storage(desktop)
    desktop.goto(stack.dashboard_url)
    wait_settled(desktop, ["overview", "audience", "funnel", "retention"])
    overview = desktop.locator('[data-panel="overview"]')
    sessions_before = _number(overview.locator('[data-kpi="sessions"] .kpi-value').inner_text())
    # The funnel's step-1 visitors and the retention cohorts' visitors, unfiltered.
    funnel_entered = desktop.locator('[data-panel="funnel"] [data-step="0"] .step-count')
    retention_summary = desktop.locator('[data-panel="retention"] [data-retention-summary]')
    entered_before = funnel_entered.inner_text()
    cohorts_before = retention_summary.inner_text()
    channel = desktop.locator('[data-panel="audience"] [data-filter-name="channel"]').first
    key = channel.get_attribute("data-filter-value") or ""
    channel_sessions = _number(channel.locator(".bar-value").inner_text())

    with (
        desktop.expect_request(lambda r: "/v1/stats/overview" in r.url and f"channel={key}" in r.url),
        desktop.expect_request(lambda r: "/v1/retention" in r.url and f"channel={key}" in r.url),
        desktop.expect_request(
            lambda r: r.url.endswith("/v1/funnels") and json.loads(r.post_data or "{}").get("channel") == key
        ),
    ):
        channel.click()
    chip = desktop.locator('.filter-chip[data-filter="channel"]')
    expect(chip).to_be_visible()
    assert f"channel={key}" in desktop.url
    wait_settled(desktop, ["overview", "audience"])
    # Every overview figure now counts only that channel's sessions.
    expect(overview.locator('[data-kpi="sessions"] .kpi-value')).to_have_text(
        re.compile(rf"^{channel_sessions}$")
    )
    assert channel_sessions < sessions_before
    channels = desktop.locator('[data-panel="audience"] [data-filter-name="channel"]')
    expect(channels).to_have_count(1)
    expect(channels).to_have_attribute("data-filter-value", key)
    # The funnel and retention panels now count only that channel's sessions too.
    expect(funnel_entered).not_to_have_text(entered_before, timeout=SLOW_MS)
    expect(retention_summary).not_to_have_text(cohorts_before, timeout=SLOW_MS)
    wait_settled(desktop, ["funnel", "retention"])
    assert _number(funnel_entered.inner_text()) < _number(entered_before)
    assert _leading_number(retention_summary.inner_text()) < _leading_number(cohorts_before)
    expect(desktop.locator(".filter-scope")).not_to_contain_text("Funnel")

    chip.get_by_role("button").click()
    expect(chip).to_have_count(0)
    assert "channel=" not in desktop.url
    wait_settled(desktop, ["overview"])
    expect(overview.locator('[data-kpi="sessions"] .kpi-value')).to_have_text(str(sessions_before))
    # Removing the chip restores the funnel and retention panels.
    expect(funnel_entered).to_have_text(entered_before, timeout=SLOW_MS)
    expect(retention_summary).to_have_text(cohorts_before, timeout=SLOW_MS)
    assert errors.messages == []


@pytest.mark.parametrize("width", [390, 1440])
def test_every_panel_fits_the_screen(browser: Browser, stack: Stack, width: int) -> None:
    user_agent = PHONE_USER_AGENT if width < 600 else BROWSER_USER_AGENT
    context = browser.new_context(viewport={"width": width, "height": 844}, user_agent=user_agent)
    page = context.new_page()
    errors = ConsoleErrors(page)
    sign_in_by_storage(page)
    page.goto(stack.dashboard_url + f"?visitor={stack.live_visitor}")
    wait_settled(page)
    expect(page.locator('[data-panel="visitor"]')).to_have_attribute("data-state", "ready", timeout=SLOW_MS)
    page.wait_for_timeout(500)  # charts finish drawing
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert scroll_width <= inner_width, (scroll_width, inner_width)
    outside = page.evaluate(
        "() => [...document.querySelectorAll('[data-panel]')]"
        ".filter((p) => p.getBoundingClientRect().right > innerWidth + 0.5).map((p) => p.dataset.panel)"
    )
    assert outside == []
    # No KPI figure is clipped or cut short with an ellipsis.
    clipped = page.evaluate(
        "() => [...document.querySelectorAll('.kpi-value, .kpi-compare, .big-number')]"
        ".filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent)"
    )
    assert clipped == []
    if width == 390:
        header = page.locator(".topbar").bounding_box()
        assert header is not None and header["height"] <= 110, header  # compact: two short rows
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(PHONE_SCREENSHOT), full_page=True)
    assert errors.messages == []
    context.close()
