"""The dashboard in a real headless Chromium, against a `LocalRuntime` serving the built page.

The browser is Debian's `chromium` (`make` installs it); Playwright drives it through
`executable_path`, never a downloaded browser. The page is the built `dashboard/dist` (`make
dashboard`), mounted at /dashboard/ exactly as `reviva dev` mounts it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page

from reviva_dev.local.runtime import LocalRuntime, RuntimeInfo
from reviva_dev.simulate import run_simulation

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dashboard" / "dist"
ADMIN_TOKEN = "dashboard-e2e-admin-token"
WRITE_KEY = "dashboard-e2e-write-key"
TOKEN_STORAGE_KEY = "reviva.dashboard.token"
# A person the test itself sends live (current-time) traffic for: the realtime panel counts them and
# the visitor lookup finds them. The simulator's traffic is older history for the lake panels.
LIVE_VISITOR = f"dashboard-e2e-{uuid.uuid4().hex[:8]}"
SIMULATED_VISITORS = 80
SIMULATION_DAYS = 14  # two weeks: the default 7-day view compares with a full previous week


@pytest.fixture(autouse=True)
def aws_test_environment() -> Iterator[None]:
    """The runtime fixture owns the environment for these tests (as in tests/e2e)."""
    yield


@dataclass
class Stack:
    """The running local stack and what the tests sent to it."""

    info: RuntimeInfo
    live_visitor: str
    rejected_marker: str

    @property
    def dashboard_url(self) -> str:
        return self.info.api_url + "/dashboard/"

    def get(self, path: str) -> tuple[int, Any]:
        request = urllib.request.Request(self.info.api_url + path)
        request.add_header("Authorization", f"Bearer {ADMIN_TOKEN}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def post_batch(self, messages: list[dict[str, Any]]) -> tuple[int, Any]:
        body = json.dumps({"batch": messages, "writeKey": WRITE_KEY}).encode()
        request = urllib.request.Request(
            self.info.api_url + "/v1/batch", data=body, headers={"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def wait_for(self, path: str, ready: Callable[[Any], bool], timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        body: Any = None
        while time.monotonic() < deadline:
            status, body = self.get(path)
            if status == 200 and ready(body):
                return body
            time.sleep(0.25)
        raise AssertionError(f"{path} never became ready; last answer: {body}")


def wait_until_caught_up(runtime: LocalRuntime, quiet_seconds: float = 1.5, timeout: float = 90.0) -> float:
    """Wait until the stream consumers stop advancing (the backlog is processed); returns seconds waited.

    The page must be measured on a settled stack: the emulator shares this process with the
    consumers, so a busy backlog would slow every answer down.
    """
    started = time.monotonic()
    last: list[dict[str, str | None]] = []
    quiet_since = time.monotonic()
    while time.monotonic() - started < timeout:
        checkpoints = [pollers.checkpoints() for pollers in runtime.pollers]
        if checkpoints != last:
            last, quiet_since = checkpoints, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_seconds:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"the stream consumers were still busy after {timeout} s")


def live_journey(visitor: str, now: datetime) -> list[dict[str, Any]]:
    """A booking journey of `visitor` over the last few minutes."""
    base = "https://revivatech.co.uk"
    context = {
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0 Safari/537.36",
        "page": {"referrer": "https://www.google.com/"},
    }
    steps: list[tuple[str, dict[str, Any]]] = [
        ("page", {"name": "Home", "properties": {"path": "/", "url": base + "/"}}),
        (
            "page",
            {"name": "Pricing", "properties": {"path": "/pricing/phones", "url": base + "/pricing/phones"}},
        ),
        ("track", {"event": "Pricing Viewed", "properties": {"service": "iphone-screen-repair"}}),
        ("track", {"event": "Booking Started", "properties": {"service": "iphone-screen-repair"}}),
        ("track", {"event": "Booking Submitted", "properties": {"revenue": 89.0, "currency": "GBP"}}),
    ]
    messages = []
    for i, (kind, fields) in enumerate(steps):
        moment = now - timedelta(minutes=4) + timedelta(seconds=40 * i)
        messages.append(
            {
                "type": kind,
                "anonymousId": visitor,
                "messageId": str(uuid.uuid4()),
                "timestamp": moment.isoformat().replace("+00:00", "Z"),
                "context": context,
                **fields,
            }
        )
    return messages


# Module scope: a LocalRuntime owns process-wide state (environment, moto's backends) and must be
# gone before another test file in the same worker starts its own.
@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`reviva dev` in-process with simulated history, a live visitor and a few rejected messages."""
    if not (DIST / "index.html").is_file():
        pytest.fail("the dashboard is not built: run `make dashboard`")
    runtime = LocalRuntime(
        port=0,
        data_dir=tmp_path_factory.mktemp("reviva-dashboard"),
        write_key=WRITE_KEY,
        admin_token=ADMIN_TOKEN,
        demo=False,
        static_mounts={"/dashboard/": DIST},
    )
    started = time.monotonic()
    info = runtime.start()
    try:
        marker = f"dashboard-e2e-bad-{uuid.uuid4().hex[:6]}"
        stack = Stack(info=info, live_visitor=LIVE_VISITOR, rejected_marker=marker)
        summary = run_simulation(
            endpoint=info.api_url,
            write_key=WRITE_KEY,
            visitors=SIMULATED_VISITORS,
            days=SIMULATION_DAYS,
            seed=11,
            progress=False,
        )
        assert summary.send.accepted > 0 and summary.send.failed == 0, summary.send
        status, _ = stack.post_batch(live_journey(LIVE_VISITOR, datetime.now(UTC)))
        assert status == 200
        # Invalid messages (a track without an event name) land in the rejected store.
        status, _ = stack.post_batch(
            [{"type": "track", "anonymousId": marker, "messageId": str(uuid.uuid4())} for _ in range(2)]
        )
        assert status == 400
        stack.wait_for("/v1/stats/realtime", lambda body: body["active_visitors"] >= 1)
        stack.wait_for(f"/v1/visitors/{LIVE_VISITOR}", lambda body: body["profile"]["conversions"] >= 1)
        waited = wait_until_caught_up(runtime)
        ready = time.monotonic()
        # The query function's cold start (imports, lake catalog) is paid here, not by the first test.
        assert stack.get("/v1/stats/overview")[0] in (200, 404)
        warm_up = time.monotonic() - ready
        print(
            f"dashboard stack: {summary.send.accepted} simulated messages processed in "
            f"{ready - started:.1f} s (caught up {waited:.1f} s after the live events); "
            f"query warm-up {warm_up:.1f} s"
        )
        yield stack
    finally:
        runtime.stop()


class ConsoleErrors:
    """Console errors and uncaught exceptions of a page, minus the ones a test expects."""

    def __init__(self, page: Page) -> None:
        self.messages: list[str] = []
        self.allowed_urls: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.messages.append(f"uncaught: {error}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        # Chromium logs every failed HTTP answer as a console error; a test allows the ones it
        # provokes on purpose (and the endpoints not deployed yet) by URL.
        if message.text.startswith("Failed to load resource") and any(
            part in url for part in self.allowed_urls
        ):
            return
        self.messages.append(f"{message.text} ({url})")

    def allow_failed_requests_to(self, *url_parts: str) -> None:
        self.allowed_urls.extend(url_parts)


@pytest.fixture
def console_errors(page: Page) -> ConsoleErrors:
    return ConsoleErrors(page)


def sign_in_by_storage(page: Page) -> None:
    """Skip the sign-in form (tested on its own): the token is already in this tab's storage."""
    page.add_init_script(f"sessionStorage.setItem({TOKEN_STORAGE_KEY!r}, {ADMIN_TOKEN!r})")


SETTLED = """(names) => {
  const panels = [...document.querySelectorAll('[data-panel]')]
    .filter((p) => !names || names.includes(p.dataset.panel));
  return panels.length > 0 && panels.every((p) => p.dataset.state !== 'loading' && !p.dataset.refreshing);
}"""
FIRST_SCREEN = ["overview", "realtime", "funnel"]


def wait_settled(page: Page, panels: list[str] | None = None, timeout_ms: float = 45_000) -> None:
    """Wait until the panels (all by default) show a settled state and are not reloading."""
    page.wait_for_function(SETTLED, arg=panels, timeout=timeout_ms)


def panel_states(page: Page) -> dict[str, str]:
    states: dict[str, str] = page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('[data-panel]')]"
        ".map((p) => [p.dataset.panel, p.dataset.state]))"
    )
    return states
