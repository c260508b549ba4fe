"""Browser tests: the built tracker and the demo storefront in headless Chromium, against a LocalRuntime.

Chromium is Debian's (`apt-get install chromium`); Playwright drives it through `executable_path`
and never downloads a browser. The runtime runs in-process on a free port with no demo traffic; a
spy wraps the ingest handler to keep the exact bytes every request carried, so the tests can
assert on what left the page, not only on what was stored.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reviva.topology import CONSENT_PATH
from reviva_dev.local.gateway import HandlerResolver, import_handler_resolver
from reviva_dev.local.runtime import LocalRuntime, RuntimeInfo

ROOT = Path(__file__).resolve().parents[2]
WRITE_KEY = "tracker-e2e-write-key"
ADMIN_TOKEN = "tracker-e2e-admin-token"
# A desktop Chrome user agent: HeadlessChrome's own is (rightly) classed as a bot, which keeps no profile.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


@pytest.fixture(autouse=True)
def aws_test_environment() -> Iterator[None]:
    """The runtime fixture owns the environment for these tests (see tests/e2e/conftest.py)."""
    yield


@dataclass
class SpiedRequest:
    """One request ingest received: raw body bytes and headers."""

    body: bytes
    headers: dict[str, str]
    status: int = 0
    error: str | None = None  # what the handler raised, if it raised
    path: str = ""

    def messages(self) -> list[dict[str, Any]]:
        document = json.loads(self.body)
        return list(document.get("batch", [])) if isinstance(document, dict) else []


@dataclass
class IngestSpy:
    """Keeps every ingest request's bytes (wrapping the real handler, which still does the work)."""

    requests: list[SpiedRequest] = field(default_factory=list)  # the batches of events
    # Requests to other ingest paths (consent records), kept apart from the batches.
    other_requests: list[SpiedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Requests whose handler is still running, so a test can tell "never arrived" from "stuck".
    in_handler: list[SpiedRequest] = field(default_factory=list)

    def wrap(self, resolver: HandlerResolver) -> HandlerResolver:
        def resolve(name: str) -> Any:
            handler = resolver(name)
            if name != "ingest":
                return handler

            def spy(event: dict[str, Any], context: Any) -> Any:
                body = event.get("body") or ""
                raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
                headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
                spied = SpiedRequest(raw, headers, path=str(event.get("rawPath") or ""))
                with self.lock:
                    self.in_handler.append(spied)
                try:
                    result = handler(event, context)
                    spied.status = int(result.get("statusCode", 0)) if isinstance(result, dict) else 0
                    return result
                except Exception as error:
                    spied.status, spied.error = 500, repr(error)  # kept: a test names what went wrong
                    raise
                finally:
                    with self.lock:
                        self.in_handler.remove(spied)
                        if spied.path == CONSENT_PATH:
                            self.other_requests.append(spied)
                        elif headers.get("content-type", "").startswith("text/plain") or raw.startswith(b"{"):
                            self.requests.append(spied)

            return spy

        return resolve

    def all_bytes(self) -> bytes:
        with self.lock:
            return b"\n".join(r.body for r in self.requests)

    def messages(self, predicate: Callable[[dict[str, Any]], Any] = lambda m: True) -> list[dict[str, Any]]:
        with self.lock:
            requests = list(self.requests)
        return [m for r in requests for m in r.messages() if predicate(m)]

    def wait_for_requests(self, path: str, count: int, timeout: float = 10.0) -> list[SpiedRequest]:
        """The first `count` answered requests to `path` (not a batch path), waiting for them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [r for r in self.other_requests if r.path == path]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} requests to {path}, got {len(found)}")

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], Any], count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            found = self.messages(predicate)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} matching messages, got {len(found)}: {found}")


@dataclass
class Stack:
    info: RuntimeInfo
    spy: IngestSpy

    def url(self, path: str) -> str:
        return self.info.api_url + path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not (ROOT / "tracker" / "dist" / "reviva.js").is_file():
        pytest.fail("the tracker is not built: run `make tracker`")
    spy = IngestSpy()
    local = LocalRuntime(
        port=0,
        data_dir=tmp_path_factory.mktemp("reviva-tracker"),
        write_key=WRITE_KEY,
        admin_token=ADMIN_TOKEN,
        demo=False,
        resolver=spy.wrap(import_handler_resolver()),
    )
    info = local.start()
    try:
        yield Stack(info, spy)
    finally:
        local.stop()


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "user_agent": USER_AGENT, "viewport": {"width": 1200, "height": 800}}
