"""The tracker in a real headless Chromium against the local stack: capture, consent, delivery, privacy."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page

from reviva.adapters.lake.catalog import ensure_events_table, load_lake_catalog
from reviva.adapters.lake.reader import scan_events
from reviva.settings import load_settings
from tests.tracker.conftest import ADMIN_TOKEN, USER_AGENT, Stack

ACCEPT_ALL = "#consent-all"


def open_demo(page: Page, stack: Stack, path: str = "/demo/") -> list[str]:
    """Open a demo page; returns the list every non-local request is recorded in (and blocked)."""
    foreign: list[str] = []

    def guard(route: Any) -> None:
        host = urlsplit(route.request.url).hostname
        if host in ("localhost", "127.0.0.1"):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    page.context.route("**/*", guard)
    page.goto(stack.url(path))
    page.wait_for_function("window.reviva && window.reviva.delivery")
    return foreign


def flush(page: Page) -> None:
    page.evaluate("window.reviva.flush()")


def tracker_storage(page: Page) -> dict[str, str]:
    return page.evaluate(
        "Object.fromEntries(Object.keys(localStorage).filter(k => k.startsWith('reviva.'))"
        ".map(k => [k, localStorage.getItem(k)]))"
    )


def by_event(name: str, **properties: Any) -> Any:
    def match(message: dict[str, Any]) -> bool:
        if message.get("event") != name:
            return False
        props = message.get("properties") or {}
        return all(props.get(key) == value for key, value in properties.items())

    return match


def admin_get(stack: Stack, path: str) -> tuple[int, Any]:
    request = urllib.request.Request(stack.url(path), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def wait_visitor(stack: Stack, visitor_id: str, ready: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    body = None
    while time.monotonic() < deadline:
        status, body = admin_get(stack, f"/v1/visitors/{visitor_id}")
        if status == 200 and ready(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"visitor {visitor_id} never became ready: {body}")


def lake_rows(predicate: Any, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    settings = load_settings()
    table = ensure_events_table(load_lake_catalog(settings), settings)
    deadline = time.monotonic() + timeout
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        table.refresh()
        rows = [r for r in scan_events(table).to_pylist() if predicate(r)]
        if len(rows) >= count:
            return rows
        time.sleep(0.25)
    raise AssertionError(f"expected {count} lake rows, found {len(rows)}")


# --------------------------------------------------------------------------------------------


def test_cookieless_before_consent_writes_nothing_and_sends_no_id(page: Page, stack: Stack) -> None:
    foreign = open_demo(page, stack)
    page.click("[data-track=service-book] >> nth=0", no_wait_after=True, trial=False, modifiers=["Alt"])
    page.mouse.wheel(0, 900)
    page.wait_for_timeout(300)
    flush(page)
    run = page.evaluate("window.reviva.anonymousId")
    assert run is None
    assert tracker_storage(page) == {}
    assert page.evaluate("document.cookie") == ""
    assert (
        page.evaluate("performance.getEntriesByType('resource').map(e => e.name)").count(
            stack.url("/tracker/reviva-fingerprint.mjs")
        )
        == 0
    ), "no fingerprint before consent"

    page_view = stack.spy.wait_for(
        lambda m: m["type"] == "page" and m["context"]["page"]["path"] == "/demo/"
    )[-1]
    messages = stack.spy.wait_for(
        lambda m: m.get("messageId") and m["context"]["consent"]["analytics"] is False, 3
    )
    for message in messages:
        assert "anonymousId" not in message and "userId" not in message
        assert "fingerprint" not in message["context"] and "screen" not in message["context"]
    assert page_view["context"]["library"]["name"] == "reviva-tracker"
    assert page_view["context"]["userAgent"].startswith("Mozilla/5.0")
    assert "sentAt" in json.loads(stack.spy.requests[-1].body)
    assert json.loads(stack.spy.requests[-1].body)["writeKey"]

    # The server gave each of them the day's cookieless key: one key for the page's events, not persistent.
    ids = {m["messageId"] for m in messages}
    rows = lake_rows(lambda r: r["message_id"] in ids, len(ids))
    keys = {r["anonymous_id"] for r in rows}
    assert len(keys) == 1 and next(iter(keys)).startswith("c_")
    assert all(json.loads(r["consent"])["analytics"] is False for r in rows)
    assert not foreign


def test_every_event_kind_arrives_with_consent(page: Page, stack: Stack, context: BrowserContext) -> None:
    foreign = open_demo(page, stack)
    page.click(ACCEPT_ALL)
    anonymous_id = page.evaluate("window.reviva.anonymousId")
    assert anonymous_id
    stored = tracker_storage(page)
    assert stored["reviva.anon"] == anonymous_id
    assert json.loads(stored["reviva.consent"])["marketing"] is True

    page.click("#quote")  # a call to action
    page.click("[data-view=prices]")  # single-page-app navigation + Pricing Viewed
    page.click("[data-track=compare-services]")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_timeout(200)
    page.wait_for_function("localStorage.getItem('reviva.fp')", timeout=10_000)
    page.click("[data-track=nav-book]")
    page.wait_for_url("**/book.html")
    page.wait_for_function("window.reviva && window.reviva.delivery")
    page.fill("input[name=name]", "Grace Hopper")
    page.fill("input[name=email]", "grace@example.com")
    page.click("button[type=submit]")
    page.wait_for_selector("#thanks:not([hidden])")
    flush(page)
    page.close()  # pagehide: Web Vitals and the rest go by beacon

    def mine(m: dict[str, Any]) -> bool:
        return m.get("anonymousId") == anonymous_id

    expected = [
        ("track", "Consent Updated"),
        ("track", "CTA Clicked"),
        ("page", None),
        ("track", "Pricing Viewed"),
        ("track", "Element Clicked"),
        ("track", "Service Compared"),
        ("track", "Scroll Depth Reached"),
        ("track", "Booking Started"),
        ("track", "Form Field Focused"),
        ("track", "Form Submitted"),
        ("identify", None),
        ("track", "Booking Submitted"),
        ("track", "Page Performance"),
        ("track", "Web Vitals"),
    ]
    for kind, name in expected:

        def arrived(m: dict[str, Any], k: str = kind, n: str | None = name) -> bool:
            return mine(m) and m["type"] == k and (n is None or m["event"] == n)

        stack.spy.wait_for(arrived)
    mine_all = stack.spy.messages(mine)
    scrolls = sorted(m["properties"]["percent"] for m in mine_all if m.get("event") == "Scroll Depth Reached")
    assert scrolls[-1] == 100 and 50 in scrolls
    pages = [m for m in mine_all if m["type"] == "page"]
    assert {p["properties"]["path"] for p in pages} >= {"/demo/", "/demo/book.html"}
    assert any(p["properties"]["search"] == "?view=prices" for p in pages), "SPA navigation is a page view"
    clicked = next(
        m
        for m in mine_all
        if m.get("event") == "Element Clicked" and m["properties"]["track_id"] == "nav-book"
    )
    assert clicked["properties"]["element"] == "a"
    submitted = next(m for m in mine_all if m.get("event") == "Form Submitted")
    assert submitted["properties"]["field_names"] == ["name", "email", "phone", "device", "issue"]
    assert submitted["properties"]["field_count"] == 5
    focused = next(m for m in mine_all if m.get("event") == "Form Field Focused")
    assert focused["properties"]["field_name"] == "name" and focused["properties"]["form_id"] == "booking"
    identify = next(m for m in mine_all if m["type"] == "identify")
    assert identify["userId"].startswith("bk-") and identify["traits"] == {"customer_type": "booking"}
    perf = next(m for m in mine_all if m.get("event") == "Page Performance")["properties"]
    assert perf["ttfb_ms"] >= 0 and perf["load_ms"] >= perf["ttfb_ms"]
    vitals = next(m for m in mine_all if m.get("event") == "Web Vitals")["properties"]
    assert "cls" in vitals
    for message in mine_all:
        assert message["context"]["consent"] == {
            "analytics": True,
            "marketing": True,
            "personalization": True,
        }
        assert message["messageId"] and message["timestamp"]
    assert any(m["context"].get("fingerprint") for m in mine_all), "the fingerprint joins after consent"
    assert not foreign, f"the tracker or ThumbmarkJS called out: {foreign}"

    body = wait_visitor(stack, anonymous_id, lambda b: b["profile"]["conversions"] >= 1)
    assert body["profile"]["total_sessions"] == 1
    assert body["profile"]["user_id"].startswith("u_")
    touchpoints = [step["touchpoint"] for step in body["journey"]]
    assert "booking_submitted" in touchpoints and "pricing_check" in touchpoints


def test_consent_refused_then_withdrawn(page: Page, stack: Stack) -> None:
    recorded_before = len(stack.spy.other_requests)  # the module's stack served earlier tests too
    open_demo(page, stack)
    page.click("#consent-none")
    assert tracker_storage(page) == {}
    page.click("#quote")
    flush(page)
    refused = stack.spy.wait_for(by_event("Consent Updated", analytics=False))
    assert all("anonymousId" not in m for m in refused)

    page.click("#privacy-settings")
    page.click(ACCEPT_ALL)
    anonymous_id = page.evaluate("window.reviva.anonymousId")
    assert tracker_storage(page)["reviva.anon"] == anonymous_id
    page.wait_for_function("localStorage.getItem('reviva.fp')", timeout=10_000)
    page.click("#privacy-settings")
    page.click("#consent-none")  # withdrawal
    assert tracker_storage(page) == {}, "withdrawal erases the id, the fingerprint, the session and the queue"
    assert page.evaluate("Object.keys(localStorage).filter(k => k.includes('tm'))") == []
    page.click("#quote")
    flush(page)
    after = stack.spy.wait_for(
        lambda m: m.get("event") == "CTA Clicked" and m["context"]["consent"]["analytics"] is False, 2
    )
    assert all("anonymousId" not in m and "fingerprint" not in m["context"] for m in after)
    page.reload()
    page.wait_for_function("window.reviva && window.reviva.delivery")
    assert page.evaluate("window.reviva.consentState.analytics") is False
    assert page.is_hidden("#consent-banner"), "the banner remembers the refusal itself"

    # Each decision was also recorded as proof (/v1/privacy/consent), stored by ingest (200).
    records = stack.spy.wait_for_requests("/v1/privacy/consent", recorded_before + 3)[recorded_before:]
    assert len(records) == 3 and all(r.status == 200 for r in records)
    refusal, grant, withdrawal = (json.loads(r.body) for r in records)
    assert "anonymousId" not in refusal and refusal["categories"]["analytics"] is False
    assert grant["anonymousId"] == anonymous_id and grant["categories"]["analytics"] is True
    assert withdrawal["anonymousId"] == anonymous_id, "the withdrawal names whom it is about"
    assert withdrawal["categories"] == {"analytics": False, "marketing": False, "personalization": False}
    assert {r["source"] for r in (refusal, grant, withdrawal)} == {"tracker"}


def test_gpc_keeps_marketing_off(browser: Any, stack: Stack) -> None:
    context = browser.new_context(
        user_agent=USER_AGENT,
        extra_http_headers={"Sec-GPC": "1"},
    )
    context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
    )
    page = context.new_page()
    try:
        open_demo(page, stack, "/demo/?utm_source=google&utm_medium=cpc&gclid=ad-click-123")
        page.click(ACCEPT_ALL)
        anonymous_id = page.evaluate("window.reviva.anonymousId")
        page.click("#quote")
        flush(page)
        messages = stack.spy.wait_for(lambda m: m.get("anonymousId") == anonymous_id, 2)
        for message in messages:
            assert message["context"]["consent"] == {
                "analytics": True,
                "marketing": False,
                "personalization": False,
                "gpc": True,
            }
            assert "ad-click-123" not in json.dumps(message), "click ids are marketing data"
        ids = {m["messageId"] for m in messages}
        rows = lake_rows(lambda r: r["message_id"] in ids, len(ids))
        for row in rows:
            assert (
                json.loads(row["consent"])["marketing"] is False and json.loads(row["consent"])["gpc"] is True
            )
    finally:
        context.close()


def test_tab_closed_right_after_a_click_still_delivers(page: Page, stack: Stack) -> None:
    open_demo(page, stack)
    page.click("#promo")
    page.close()  # well before the flush timer
    stack.spy.wait_for(
        lambda m: m.get("event") == "CTA Clicked" and m["properties"].get("element_id") == "promo"
    )


def test_offline_then_online_flushes_the_queue_once(
    page: Page, stack: Stack, context: BrowserContext
) -> None:
    open_demo(page, stack)
    page.click(ACCEPT_ALL)
    anonymous_id = page.evaluate("window.reviva.anonymousId")
    flush(page)
    context.set_offline(True)
    for _ in range(3):
        page.click("[data-track=service-book] >> nth=1", modifiers=["Alt"])
    page.evaluate("window.reviva.flush()")
    record = page.evaluate("localStorage.getItem(window.reviva.delivery.key)")
    queued = json.loads(record)["batch"]
    assert len(queued) >= 3, "offline, the queue waits in first-party storage"
    context.set_offline(False)
    page.wait_for_function(
        "window.reviva.delivery.pending.length === 0 && !localStorage.getItem(window.reviva.delivery.key)"
    )
    page.wait_for_timeout(500)
    received = stack.spy.messages(lambda m: m.get("anonymousId") == anonymous_id)
    ids = [m["messageId"] for m in received]
    assert len(ids) == len(set(ids)), "no message was sent twice"
    assert {m["messageId"] for m in queued} <= set(ids)


def test_rage_clicks_and_exit_intent_fire(page: Page, stack: Stack) -> None:
    open_demo(page, stack)
    for _ in range(4):
        page.mouse.click(*_center(page, "#promo"))
    page.mouse.move(600, 300)
    page.mouse.move(600, 2)
    page.mouse.move(600, -20)
    flush(page)
    rage = stack.spy.wait_for(by_event("Rage Click", element_id="promo"))[-1]
    assert rage["properties"]["clicks"] >= 3
    exit_intent = stack.spy.wait_for(by_event("Exit Intent", trigger="pointer"))[-1]
    assert exit_intent["properties"]["time_on_page_ms"] >= 0


def _center(page: Page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_no_form_value_ever_leaves_the_page(page: Page, stack: Stack) -> None:
    open_demo(page, stack, "/demo/book.html?service=iphone-screen-repair")
    page.click(ACCEPT_ALL)  # even with every consent
    secrets = {
        "name": "Zebulon Quixote-Marr",
        "email": "zq.marr.7731@example.org",
        "phone": "+44 7700 900 731",
        "issue": "dropped it in the bath on tuesday",
    }
    for name, value in secrets.items():
        selector = f"textarea[name={name}]" if name == "issue" else f"input[name={name}]"
        page.fill(selector, value)
    page.select_option("select[name=device]", "console")
    page.click("button[type=submit]")
    flush(page)
    page.close()
    stack.spy.wait_for(by_event("Booking Submitted", service="iphone-screen-repair"))
    stack.spy.wait_for(
        lambda m: m.get("event") == "Web Vitals" and m["context"]["page"]["path"] == "/demo/book.html"
    )
    received = stack.spy.all_bytes()
    for value in [*secrets.values(), "7700900731", "zq.marr", "Quixote"]:
        assert value.encode() not in received, f"{value!r} left the page"


def test_cross_domain_linker_is_short_lived_and_adopted(browser: Any, stack: Stack, page: Page) -> None:
    open_demo(page, stack)
    page.click(ACCEPT_ALL)
    anonymous_id = page.evaluate("window.reviva.anonymousId")
    page.dispatch_event("#partner", "mousedown")
    href = page.get_attribute("#partner", "href") or ""
    assert "_rvl=" + anonymous_id in href
    value = href.split("_rvl=", 1)[1]

    other = browser.new_context()  # another domain's first visit, with the linker
    try:
        landing = other.new_page()
        landing.goto(stack.url(f"/demo/?_rvl={value}"))
        landing.wait_for_function("window.reviva && window.reviva.delivery")
        assert "_rvl" not in landing.url, "removed from the address bar"
        assert landing.evaluate("window.reviva.anonymousId") is None, "not adopted without consent"
        landing.click(ACCEPT_ALL)
        assert landing.evaluate("window.reviva.anonymousId") == anonymous_id
        landing.close()
    finally:
        other.close()

    stale_context = browser.new_context()  # a linker older than two minutes is ignored
    try:
        stale = stale_context.new_page()
        stale.goto(stack.url(f"/demo/?_rvl={anonymous_id}.{_base36(int(time.time()) - 600)}"))
        stale.wait_for_function("window.reviva && window.reviva.delivery")
        stale.click(ACCEPT_ALL)
        assert stale.evaluate("window.reviva.anonymousId") not in (None, anonymous_id)
    finally:
        stale_context.close()


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"
