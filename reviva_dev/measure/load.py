"""A bounded load generator for the local stack: many clients, a fixed number of requests, a time limit.

Plain threads with one keep-alive connection each, against 127.0.0.1 only. Each client sends
`requests_per_client` POSTs of `messages_per_request` Segment messages (one visitor per request,
a few visitors per client) and records how long ingest took to answer, and how it failed: an
error is an answer other than 200, a reset a connection the server dropped or refused. Then
`wait_for_profiles` says when every event reached its visitor's profile.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import threading
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from reviva_dev.measure.timing import percentile

VISITORS_PER_CLIENT = 4
# A browser's: without one, enrich counts the traffic as a bot's, which gets no profile.
BROWSER_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


@dataclass
class LoadFigures:
    """What one load run measured."""

    clients: int
    requests: int = 0
    messages: int = 0
    errors: int = 0
    resets: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    timed_out: bool = False
    # Events sent per visitor id: what `wait_for_profiles` expects to find.
    sent_per_visitor: dict[str, int] = field(default_factory=dict)

    @property
    def messages_per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 0.50) if self.latencies_ms else 0.0

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 0.99) if self.latencies_ms else 0.0


def _loopback_port(base_url: str) -> int:
    parsed = urllib.parse.urlsplit(base_url)
    if parsed.hostname not in ("127.0.0.1", "localhost"):
        raise ValueError("the load generator only targets the local stack on 127.0.0.1")
    return parsed.port or 80


def batch_body(visitor: str, count: int, sent_at: datetime) -> bytes:
    """A `/v1/batch` body of `count` track messages from one visitor, each with a fresh messageId."""
    timestamp = sent_at.isoformat().replace("+00:00", "Z")
    batch = [
        {
            "type": "track",
            "event": "Load Test",
            "anonymousId": visitor,
            "messageId": str(uuid.uuid4()),
            "timestamp": timestamp,
            "properties": {"step": index},
            "context": {"userAgent": BROWSER_USER_AGENT},
        }
        for index in range(count)
    ]
    return json.dumps({"batch": batch, "sentAt": timestamp}).encode()


def run_load(
    base_url: str,
    write_key: str,
    *,
    clients: int = 64,
    requests_per_client: int = 30,
    messages_per_request: int = 10,
    time_limit_seconds: float = 120.0,
    run_id: str | None = None,
) -> LoadFigures:
    """Send the load and measure it; stops early (`timed_out`) when the time limit passes."""
    port = _loopback_port(base_url)
    run_id = run_id or uuid.uuid4().hex[:8]
    authorization = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    figures = LoadFigures(clients=clients)
    lock = threading.Lock()
    start_together = threading.Barrier(clients)
    deadline = [0.0]

    def client(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies: list[float] = []
        sent: dict[str, int] = {}
        requests = messages = errors = resets = 0
        start_together.wait()
        for index in range(requests_per_client):
            if time.monotonic() >= deadline[0]:
                break
            visitor = f"load-{run_id}-{number}-{index % VISITORS_PER_CLIENT}"
            body = batch_body(visitor, messages_per_request, datetime.now(UTC))
            started = time.perf_counter()
            try:
                connection.request(
                    "POST",
                    "/v1/batch",
                    body,
                    {
                        "content-type": "application/json",
                        "authorization": authorization,
                        "user-agent": BROWSER_USER_AGENT,
                    },
                )
                response = connection.getresponse()
                response.read()
                status = response.status
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                resets += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            except (TimeoutError, OSError, http.client.HTTPException):
                errors += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            requests += 1
            if status == 200:
                messages += messages_per_request
                sent[visitor] = sent.get(visitor, 0) + messages_per_request
            else:
                errors += 1
        connection.close()
        with lock:
            figures.requests += requests
            figures.messages += messages
            figures.errors += errors
            figures.resets += resets
            figures.latencies_ms.extend(latencies)
            for visitor, count in sent.items():
                figures.sent_per_visitor[visitor] = figures.sent_per_visitor.get(visitor, 0) + count

    threads = [threading.Thread(target=client, args=(n,), name=f"load-{n}") for n in range(clients)]
    started = time.perf_counter()
    deadline[0] = time.monotonic() + time_limit_seconds
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    figures.seconds = time.perf_counter() - started
    figures.timed_out = time.monotonic() >= deadline[0]
    return figures


def wait_for_profiles(
    base_url: str,
    admin_token: str,
    sent_per_visitor: Mapping[str, int],
    *,
    limit_seconds: float = 60.0,
    readers: int = 16,
) -> float | None:
    """Seconds until every visitor's profile counted every event sent (None: not within the limit).

    `readers` clients read the profiles (`GET /v1/visitors/{id}`) in parallel, `readers` visitors
    at a time; a visitor found complete is not read again, and a round stops at the first group
    with an incomplete visitor (the pipeline is behind: reading the rest would only take CPU from
    the enrich it waits for). The figure is an upper bound: the time the last one was seen.
    """
    port = _loopback_port(base_url)
    started = time.monotonic()
    waiting = dict(sent_per_visitor)
    local = threading.local()

    def complete(item: tuple[str, int]) -> bool:
        visitor, expected = item
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection: http.client.HTTPConnection = local.connection
        connection.request(
            "GET",
            "/v1/visitors/" + urllib.parse.quote(visitor, safe=""),
            headers={"authorization": f"Bearer {admin_token}"},
        )
        response = connection.getresponse()
        payload = response.read()
        return response.status == 200 and int(json.loads(payload)["profile"]["total_events"]) >= expected

    with ThreadPoolExecutor(readers) as pool:
        while waiting:
            items = list(waiting.items())
            for start in range(0, len(items), readers):
                group = items[start : start + readers]
                done = list(pool.map(complete, group))
                for (visitor, _), visitor_done in zip(group, done, strict=True):
                    if visitor_done:
                        del waiting[visitor]
                if not all(done):
                    break
            if not waiting:
                break
            if time.monotonic() - started > limit_seconds:
                return None
            time.sleep(0.1)
    return time.monotonic() - started


def process_cpu_seconds(pid: int, *, children: bool = True) -> float | None:
    """User + system CPU seconds a process and (unless `children` is false) its running child
    processes, such as the emulator's, have used so far (Linux), None where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    if not children:
        return own
    return own + sum(process_cpu_seconds(child) or 0.0 for child in _child_pids(pid))


def _child_pids(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return children
