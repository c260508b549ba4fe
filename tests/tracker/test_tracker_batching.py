"""Few, full requests in headless Chromium: the queue crosses same-origin pages; the loader variants.

Requests are counted where they arrive, at the ingest spy: each test notes how many the server had
before it starts and looks only at the ones after (the tests of a module run one after another and
each waits for its own deliveries).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from playwright.sync_api import BrowserContext, Page, Request

from tests.tracker.conftest import WRITE_KEY, SpiedRequest, Stack
from tests.tracker.test_tracker_browser import ACCEPT_ALL, lake_rows, open_demo, tracker_storage, wait_visitor

POLICY_MAX_WAIT_S = 30  # tracker/delivery-policy.json: every test here finishes well within it
# The two-speed test's short waits (init options): a background-only queue could wait a minute.
SHORT_MAX_WAIT_MS = 600
SHORT_BACKGROUND_MAX_WAIT_MS = 60_000


def requests_since(stack: Stack, start: int) -> list[SpiedRequest]:
    with stack.spy.lock:
        return list(stack.spy.requests[start:])


def wait_messages(
    stack: Stack, start: int, ready: Any, timeout: float = 10.0
) -> tuple[list[SpiedRequest], list[dict[str, Any]]]:
    """The requests after `start` and their messages, once `ready(messages)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        requests = requests_since(stack, start)
        messages = [m for r in requests for m in r.messages()]
        if ready(messages):
            return requests, messages
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not delivered in {timeout} s: {[(m['type'], m.get('event')) for m in messages]}"
            )
        time.sleep(0.05)


def count_batch_posts(context: BrowserContext) -> list[str]:
    """The POSTs to /v1/batch Playwright sees: fetches and beacons of live pages.

    A beacon sent by a page being unloaded reaches the server but is reported neither to Playwright
    nor to a CDP session on the page, so delivered requests are counted at the server (the spy).
    """
    posts: list[str] = []

    def on_request(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/v1/batch"):
            posts.append(request.url)

    context.on("request", on_request)
    return posts


def follow(page: Page, selector: str, url_glob: str) -> None:
    """Click a same-origin link and wait for the next page's tracker."""
    page.click(selector)
    page.wait_for_url(url_glob)
    page.wait_for_function("window.reviva && window.reviva.delivery")


def open_inline_page(page: Page, stack: Stack, path: str, html: str) -> None:
    """Open `html` as if the site served it at `path` (same origin as the tracker and the API)."""
    page.route(stack.url(path), lambda route: route.fulfill(body=html, content_type="text/html"))
    page.goto(stack.url(path))


def page_paths(messages: list[dict[str, Any]]) -> list[str]:
    return [m["properties"]["path"] for m in messages if m["type"] == "page"]


def assert_once(messages: list[dict[str, Any]]) -> set[str]:
    counts = Counter(m["messageId"] for m in messages)
    twice = [mid for mid, n in counts.items() if n > 1]
    assert not twice, f"sent more than once: {twice}"
    return set(counts)


# --------------------------------------------------------------------------------------------


def test_with_consent_three_pages_go_in_fewer_requests_each_event_once(
    page: Page, context: BrowserContext, stack: Stack
) -> None:
    start = len(stack.spy.requests)
    posts = count_batch_posts(context)
    open_demo(page, stack)
    page.click(ACCEPT_ALL)
    anonymous_id = page.evaluate("window.reviva.anonymousId")
    page.click("#quote")
    follow(page, "[data-track=nav-book]", "**/demo/book.html")
    carried = page.evaluate("window.reviva.delivery.pending.map(m => m.event || m.type)")
    assert "Consent Updated" in carried and "CTA Clicked" in carried, "the first page's queue came along"
    page.click("input[name=name]")
    follow(page, "header a.logo", "**/demo/")
    page.click("#promo")
    page.wait_for_timeout(300)
    assert requests_since(stack, start) == [], "three pages, nothing sent yet: under flushAt and maxWaitMs"
    assert posts == [], "no fetch or beacon from a live page either"
    page.close()  # the tab is closed: no navigation under way, so the queue goes by beacon

    def complete(messages: list[dict[str, Any]]) -> bool:
        events = {m.get("event") for m in messages}
        return len(page_paths(messages)) >= 3 and {"Web Vitals", "CTA Clicked", "Booking Started"} <= events

    requests, messages = wait_messages(stack, start, complete)
    time.sleep(0.5)  # anything that would arrive twice would arrive now
    requests, messages = wait_messages(stack, start, complete)
    assert len(requests) < 3, f"{len(requests)} requests for 3 pages"
    assert all(r.status == 200 for r in requests)
    ids = assert_once(messages)

    assert page_paths(messages) == ["/demo/", "/demo/book.html", "/demo/"]
    events = Counter(m.get("event") for m in messages if m["type"] == "track")
    # CTA Clicked: the consent button, #quote and #promo (the nav link is a data-track element).
    assert (
        events["CTA Clicked"] == 3
        and events["Element Clicked"] == 1
        and events["Web Vitals"] == 3
        and events["Session Started"] == 1
    )
    assert (
        events["Consent Updated"] == 1
        and events["Booking Started"] == 1
        and events["Form Field Focused"] == 1
    )
    after_consent = [m for m in messages if m["context"]["consent"]["analytics"]]
    assert after_consent and all(m["anonymousId"] == anonymous_id for m in after_consent)

    # Server side: every message is in the lake, and the visitor's profile joined the three pages.
    rows = lake_rows(lambda r: r["message_id"] in ids, len(ids))
    assert Counter(r["message_id"] for r in rows) == Counter(ids)
    visitor = wait_visitor(stack, anonymous_id, lambda b: b["profile"]["total_sessions"] >= 1)
    assert visitor["profile"]["total_sessions"] == 1


def test_without_consent_each_page_is_beaconed(page: Page, stack: Stack) -> None:
    start = len(stack.spy.requests)
    open_demo(page, stack)
    page.click("#quote")
    follow(page, "[data-track=nav-book]", "**/demo/book.html")
    first, _ = wait_messages(stack, start, lambda ms: "CTA Clicked" in {m.get("event") for m in ms})
    assert first, "no storage: the first page's events left by beacon when it was left"
    assert tracker_storage(page) == {}
    page.click("input[name=name]")
    follow(page, "header a.logo", "**/demo/")
    page.click("#promo")
    page.close()

    def complete(messages: list[dict[str, Any]]) -> bool:
        return len(page_paths(messages)) >= 3 and sum(m.get("event") == "CTA Clicked" for m in messages) >= 2

    requests, messages = wait_messages(stack, start, complete)
    time.sleep(0.5)
    requests, messages = wait_messages(stack, start, complete)
    assert len(requests) >= 3, "one beacon a page"
    assert_once(messages)
    assert page_paths(messages) == ["/demo/", "/demo/book.html", "/demo/"]
    for message in messages:
        assert "anonymousId" not in message and message["context"]["consent"]["analytics"] is False
    by_path = Counter(m["context"]["page"]["path"] for m in messages if m.get("event") == "Web Vitals")
    assert by_path == {"/demo/": 2, "/demo/book.html": 1}


def browser_view_of_batches(page: Page) -> list[str]:
    """What Chromium reports for the page's POSTs to /v1/batch: sent, answered, failed."""
    seen: list[str] = []

    def note(kind: str) -> Any:
        def on(request: Request) -> None:
            if request.method == "POST" and request.url.endswith("/v1/batch"):
                failure = request.failure if kind == "failed" else None
                seen.append(f"{kind}{': ' + failure if failure else ''}")

        return on

    page.on("request", note("sent"))
    page.on("requestfinished", note("answered"))
    page.on("requestfailed", note("failed"))
    return seen


def test_hiding_the_tab_delivers_the_queue(page: Page, stack: Stack) -> None:
    start = len(stack.spy.requests)
    chromium_saw = browser_view_of_batches(page)
    open_demo(page, stack)
    page.click(ACCEPT_ALL)
    page.click("#quote")
    key = page.evaluate("window.reviva.delivery.key")
    assert json.loads(page.evaluate(f"localStorage.getItem('{key}')"))["batch"], "queued, mirrored"
    # Headless Chromium keeps every page visible (minimising or switching tabs changes nothing),
    # so the page is told it is hidden the way a browser tells it: visibilityState + the event.
    page.evaluate(
        """() => {
          Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
          document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    handed = page.evaluate("[window.reviva.delivery.sent, window.reviva.delivery.pending.length]")
    assert handed[0] >= 3 and handed[1] == 0, f"the browser took the queue as a beacon at once: {handed}"
    began = time.monotonic()
    try:
        _, messages = wait_messages(
            stack, start, lambda ms: "CTA Clicked" in {m.get("event") for m in ms}, timeout=20
        )
    except AssertionError as error:
        arrived = [(r.status, r.error) for r in requests_since(stack, start)]
        with stack.spy.lock:
            stuck = len(stack.spy.in_handler)
        raise AssertionError(
            f"{error}; Chromium: {chromium_saw}; ingest answered {arrived}; {stuck} still in the handler"
        ) from None
    assert time.monotonic() - began < POLICY_MAX_WAIT_S, "not by the maxWaitMs timer"
    assert {"Consent Updated", "Web Vitals"} <= {m.get("event") for m in messages}
    assert page.evaluate(f"localStorage.getItem('{key}')") is None, "delivered, so no longer stored"


SNIPPET_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Snippet</title></head>
<body>
<p>The async snippet from the README.</p>
<script>
  window.reviva = window.reviva || [];
  ["init", "page", "track", "identify", "consent", "reset", "flush"].forEach(function (m) {
    window.reviva[m] = window.reviva[m] ||
      function () { window.reviva.push([m].concat([].slice.call(arguments))); };
  });
  reviva.track("Queued Before Load", { order: 1 });
  reviva.consent({ analytics: true });
  reviva.identify("snippet-user-1");
  reviva.track("Queued Before Load", { order: 2 });
  reviva.init({ writeKey: "__WRITE_KEY__", autocapture: { performance: false } });
  window.queuedBeforeLoad = Array.isArray(window.reviva) ? window.reviva.length : -1;
</script>
<script async src="../tracker/reviva.js"></script>
</body></html>
""".replace("__WRITE_KEY__", WRITE_KEY)


def test_async_snippet_replays_calls_queued_before_the_script_loaded(page: Page, stack: Stack) -> None:
    start = len(stack.spy.requests)
    open_inline_page(page, stack, "/demo/snippet.html", SNIPPET_PAGE)
    page.wait_for_function("window.reviva && !Array.isArray(window.reviva) && window.reviva.delivery")
    assert page.evaluate("window.queuedBeforeLoad") == 5, "every call waited in the stub"
    anonymous_id = page.evaluate("window.reviva.anonymousId")
    assert anonymous_id, "the queued consent was replayed"
    assert page.evaluate("window.reviva.userId") == "snippet-user-1"
    page.evaluate("window.reviva.flush()")

    def complete(messages: list[dict[str, Any]]) -> bool:
        return sum(m.get("event") == "Queued Before Load" for m in messages) == 2

    _, messages = wait_messages(stack, start, complete)
    queued = [m for m in messages if m.get("event") == "Queued Before Load"]
    assert [m["properties"]["order"] for m in queued] == [1, 2], "replayed in call order, init first"
    assert queued[1]["anonymousId"] == anonymous_id and queued[1]["userId"] == "snippet-user-1"
    assert any(m["type"] == "identify" for m in messages)
    page_view = next(m for m in messages if m["type"] == "page")
    assert page_view["context"]["page"]["path"] == "/demo/snippet.html"
    assert_once(messages)


ESM_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Module</title></head>
<body>
<p>The ES module build.</p>
<script type="module">
  import { reviva, VERSION, createTracker } from "../tracker/reviva.mjs";
  const options = { writeKey: "__WRITE_KEY__", consent: { analytics: true } };
  reviva.init({ ...options, autocapture: { performance: false } });
  reviva.track("Module Loaded", { version: VERSION, separate: createTracker() !== reviva });
  window.reviva = reviva;
</script>
</body></html>
""".replace("__WRITE_KEY__", WRITE_KEY)


def test_es_module_build_imports_and_delivers(page: Page, stack: Stack) -> None:
    start = len(stack.spy.requests)
    module_types: list[str] = []
    page.on(
        "response",
        lambda r: module_types.append(r.headers.get("content-type", "")) if r.url.endswith(".mjs") else None,
    )
    page.route(
        stack.url("/demo/module.html"), lambda route: route.fulfill(body=ESM_PAGE, content_type="text/html")
    )
    page.goto(stack.url("/demo/module.html"))
    page.wait_for_function("window.reviva && window.reviva.delivery")
    anonymous_id = page.evaluate("window.reviva.anonymousId")
    assert anonymous_id
    # The fingerprint module is resolved next to reviva.mjs (import.meta.url), not the page.
    page.wait_for_function("localStorage.getItem('reviva.fp')", timeout=10_000)
    assert module_types and all(t.startswith("text/javascript") for t in module_types), module_types
    page.evaluate("window.reviva.flush()")
    _, messages = wait_messages(stack, start, lambda ms: any(m.get("event") == "Module Loaded" for m in ms))
    loaded = next(m for m in messages if m.get("event") == "Module Loaded")
    assert loaded["anonymousId"] == anonymous_id
    assert loaded["properties"]["separate"] is True
    assert loaded["properties"]["version"] == loaded["context"]["library"]["version"]
    assert_once(messages)


TWO_SPEED_PAGE = (
    """<!doctype html>
<html><head><meta charset="utf-8"><title>Two speeds</title></head>
<body>
<p>Short waits: urgent messages go after __MAX_WAIT__ ms, background ones may wait a minute.</p>
<script src="../tracker/reviva.js"></script>
<script>
  reviva.init({
    writeKey: "__WRITE_KEY__",
    consent: { analytics: true },
    maxWaitMs: __MAX_WAIT__,
    backgroundMaxWaitMs: __BACKGROUND_MAX_WAIT__,
    autocapture: { clicks: false, scroll: false, forms: false, exitIntent: false, performance: false },
  });
</script>
</body></html>
""".replace("__WRITE_KEY__", WRITE_KEY)
    .replace("__MAX_WAIT__", str(SHORT_MAX_WAIT_MS))
    .replace("__BACKGROUND_MAX_WAIT__", str(SHORT_BACKGROUND_MAX_WAIT_MS))
)


def test_background_only_queue_waits_past_max_wait_and_leaves_with_the_next_urgent_message(
    page: Page, stack: Stack
) -> None:
    start = len(stack.spy.requests)
    open_inline_page(page, stack, "/demo/two-speed.html", TWO_SPEED_PAGE)
    page.wait_for_function("window.reviva && window.reviva.delivery")
    # The page view (and "Session Started") are urgent: they go after maxWaitMs, by the timer.
    first, _ = wait_messages(stack, start, lambda ms: any(m["type"] == "page" for m in ms), timeout=5)
    assert page.evaluate("window.reviva.delivery.pending.length") == 0
    after_page = start + len(first)

    page.evaluate("""() => {
        window.reviva.track("Web Vitals", { lcp_ms: 800 });
        window.reviva.track("Scroll Depth Reached", { percent: 25 });
    }""")
    page.wait_for_timeout(3 * SHORT_MAX_WAIT_MS)
    assert requests_since(stack, after_page) == [], "background messages alone do not go at maxWaitMs"
    waiting = page.evaluate("window.reviva.delivery.pending.map(m => m.event)")
    assert waiting == ["Web Vitals", "Scroll Depth Reached"]

    queued_at = time.monotonic()
    page.evaluate("window.reviva.track('Booking Started', { service: 'screen' })")
    requests, messages = wait_messages(
        stack, after_page, lambda ms: any(m.get("event") == "Booking Started" for m in ms), timeout=5
    )
    waited = time.monotonic() - queued_at
    assert len(requests) == 1, "the urgent message took the waiting background messages along"
    assert [m.get("event") for m in messages] == ["Web Vitals", "Scroll Depth Reached", "Booking Started"]
    assert waited < SHORT_MAX_WAIT_MS / 1000 + 2, f"within maxWaitMs of the urgent message ({waited:.1f} s)"
    assert requests[0].status == 200
    assert_once(messages)
