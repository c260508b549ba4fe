"""Send Segment messages to an ingest endpoint the way an SDK does, and run whole simulations.

`send_traffic` posts `{"batch": [...], "sentAt": ...}` to `{endpoint}/v1/batch` with the write
key as the HTTP Basic user name, using only the standard library (`http.client`, one keep-alive
connection per worker thread).

Geography: CloudFront adds the viewer's country, region and city as headers to every request it
passes on, and ingest reads them there. Given `viewer_headers`, the sender plays CloudFront's part:
each request carries the headers of the devices in it, so a batch only holds devices browsing from
the same place.

Ordering: each device (anonymousId) is pinned to one lane, and a lane is one worker that sends
its batches strictly one after another, so a visitor's messages arrive in the order they were
generated even with several requests in flight. A batch is retried whole, with the same
`messageId`s, after a connection error, a 429 or a 5xx (exponential backoff with jitter), so
the pipeline sees redeliveries it must de-duplicate. `sentAt` is stamped at each attempt, as
analytics.js does, so the ingest's clock-skew correction keeps every event at its own time.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sized
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from queue import Queue
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from reviva_dev.simulate.summary import SimulationSummary
from reviva_dev.simulate.traffic import iso_millis, plan_traffic

BATCH_PATH = "/v1/batch"
USER_AGENT = "reviva-simulate/0.1"
# Segment's limits are 500 KB per request and 2,500 messages per batch: stay under both.
MAX_REQUEST_BYTES = 480 * 1024
MAX_BATCH_MESSAGES = 2_500
# Batches waiting per lane: enough to keep a worker busy, small enough to bound memory.
LANE_QUEUE_DEPTH = 8
MAX_REJECTION_SAMPLES = 20


class SendError(RuntimeError):
    """The endpoint refused the traffic as a whole (bad write key, wrong URL): stop sending."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a batch is retried after a transient failure."""

    attempts: int = 5
    base_delay_s: float = 0.25
    max_delay_s: float = 8.0
    timeout_s: float = 30.0

    def delay(self, attempt: int, jitter: random.Random) -> float:
        """Backoff before retry number `attempt` (1-based): exponential, full jitter."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return ceiling / 2 + jitter.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class Rejection:
    """One message the endpoint refused, and why."""

    message_id: str | None
    reason: str


@dataclass
class SendReport:
    """What happened to the traffic handed to `send_traffic`."""

    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    # Messages of batches still failing after every retry.
    failed: int = 0
    batches: int = 0
    requests: int = 0
    retries: int = 0
    status_counts: dict[int, int] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def events_per_second(self) -> float:
        """Messages handed over per second of sending."""
        return self.sent / self.duration_s if self.duration_s > 0 else 0.0


@dataclass
class _Batch:
    messages: list[str]  # each message's JSON without sentAt, ending in "}"
    message_ids: list[str | None]
    # Request headers of its own (CloudFront's viewer headers), shared by every message in it.
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class _Outcome:
    accepted: int
    rejected: int
    rejections: list[Rejection]


class _Endpoint:
    """One keep-alive HTTP connection to the batch endpoint (used by one thread only)."""

    def __init__(self, endpoint: str, write_key: str, timeout_s: float) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SendError(f"endpoint must be an http(s) URL, not {endpoint!r}")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._timeout_s = timeout_s
        self.path = parts.path.rstrip("/") + BATCH_PATH
        token = base64.b64encode(f"{write_key}:".encode()).decode("ascii")
        self.headers = {
            "Authorization": f"Basic {token}",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        self._connection: http.client.HTTPConnection | None = None

    def post(self, body: bytes, extra: Iterable[tuple[str, str]] = ()) -> tuple[int, bytes, str | None]:
        """POST the body (with `extra` headers); returns status, response body and any Retry-After."""
        if self._connection is None:
            connection_class = (
                http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            )
            self._connection = connection_class(self._host, self._port, timeout=self._timeout_s)
        try:
            headers = {**self.headers, **dict(extra)}
            self._connection.request("POST", self.path, body=body, headers=headers)
            response = self._connection.getresponse()
            payload = response.read()
        except BaseException:
            self.close()
            raise
        if response.will_close:
            self.close()
        return response.status, payload, response.getheader("Retry-After")

    def close(self) -> None:
        """Drop the connection; the next post opens a new one."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _encode_without_sent_at(message: dict[str, Any]) -> str:
    if "sentAt" in message:
        message = {key: value for key, value in message.items() if key != "sentAt"}
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def _body(batch: _Batch, sent_at: str) -> bytes:
    stamp = f',"sentAt":"{sent_at}"}}'
    # Empty objects "{}" have no field to put a comma after.
    parts = [m[:-1] + stamp if m != "{}" else f'{{"sentAt":"{sent_at}"}}' for m in batch.messages]
    return ('{"batch":[' + ",".join(parts) + f'],"sentAt":"{sent_at}"}}').encode()


def _now_iso() -> str:
    return iso_millis(time.time_ns() // 1_000_000)


def _count_outcome(status: int, payload: bytes, batch: _Batch) -> _Outcome:
    """Read accepted/rejected counts from an ingest answer (200 all; 400 per-message list)."""
    size = len(batch.messages)
    if status < 300:
        return _Outcome(size, 0, [])
    try:
        answer = json.loads(payload or b"null")
    except ValueError:
        answer = None
    rejections: list[Rejection] = []
    listed = None
    if isinstance(answer, dict):
        for key in ("rejected", "errors", "invalid"):
            if isinstance(answer.get(key), list):
                listed = answer[key]
                break
    if listed is not None:
        for entry in listed:
            if isinstance(entry, dict):
                index, reason = entry.get("index"), entry.get("reason") or entry.get("message")
                message_id = entry.get("messageId")
            else:
                index, reason, message_id = None, entry, None
            if message_id is None and isinstance(index, int) and 0 <= index < size:
                message_id = batch.message_ids[index]
            rejections.append(Rejection(message_id, str(reason)))
        rejected = min(size, len(listed))
        accepted = answer.get("accepted") if isinstance(answer, dict) else None
        return _Outcome(accepted if isinstance(accepted, int) else size - rejected, rejected, rejections)
    reason = answer.get("reason") if isinstance(answer, dict) else None
    reason = reason or payload[:200].decode("utf-8", "replace") or f"HTTP {status}"
    return _Outcome(0, size, [Rejection(None, f"HTTP {status}: {reason}")])


class _Sender:
    """Shared state of one `send_traffic` call: the report, its lock and the stop signal."""

    def __init__(self, endpoint: str, write_key: str, retry: RetryPolicy, on_done: Callable[[int], None]):
        self.endpoint = endpoint
        self.write_key = write_key
        self.retry = retry
        self.on_done = on_done
        self.report = SendReport()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.jitter = random.Random()

    def drain(self, lane: Queue[_Batch | None]) -> None:
        """Send a lane's batches one after another (keeps each visitor's order)."""
        connection = _Endpoint(self.endpoint, self.write_key, self.retry.timeout_s)
        try:
            while (batch := lane.get()) is not None:
                if self.stop.is_set():
                    continue  # keep draining so the producer never blocks on a full lane
                try:
                    self._send(connection, batch)
                except BaseException as error:
                    with self.lock:
                        self.errors.append(error)
                    self.stop.set()
        finally:
            connection.close()

    def _send(self, connection: _Endpoint, batch: _Batch) -> None:
        size = len(batch.messages)
        for attempt in range(1, self.retry.attempts + 1):
            retry_after: str | None = None
            try:
                status, payload, retry_after = connection.post(_body(batch, _now_iso()), batch.headers)
            except (OSError, http.client.HTTPException):
                status, payload = 0, b""
            self._tally(status, requests=1, retries=1 if attempt > 1 else 0)
            if status in (401, 403, 404, 405):
                reason = payload[:300].decode("utf-8", "replace")
                raise SendError(f"{connection.path} answered {status}: {reason}")
            if status == 413 and size > 1:
                # Over a server limit we do not know: halve it, first half first (order kept).
                half = size // 2
                self._send(connection, _Batch(batch.messages[:half], batch.message_ids[:half], batch.headers))
                self._send(connection, _Batch(batch.messages[half:], batch.message_ids[half:], batch.headers))
                return
            if status and status != 429 and status < 500:
                self._finish(size, _count_outcome(status, payload, batch))
                return
            if attempt < self.retry.attempts and not self.stop.is_set():
                time.sleep(self._backoff(attempt, retry_after))
        self._finish(size, None)

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        delay = self.retry.delay(attempt, self.jitter)
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), self.retry.max_delay_s))
        return delay

    def _tally(self, status: int, *, requests: int, retries: int) -> None:
        with self.lock:
            report = self.report
            report.requests += requests
            report.retries += retries
            report.status_counts[status] = report.status_counts.get(status, 0) + 1

    def _finish(self, size: int, outcome: _Outcome | None) -> None:
        with self.lock:
            report = self.report
            report.batches += 1
            if outcome is None:
                report.failed += size
            else:
                report.accepted += outcome.accepted
                report.rejected += outcome.rejected
                room = MAX_REJECTION_SAMPLES - len(report.rejections)
                report.rejections.extend(outcome.rejections[: max(room, 0)])
            self.on_done(size)


def _lane_of(message: dict[str, Any], lanes: int) -> int:
    key = message.get("anonymousId") or message.get("userId") or ""
    return zlib.crc32(str(key).encode()) % lanes


def send_traffic(
    messages: Iterable[dict[str, Any]],
    endpoint: str,
    write_key: str,
    batch_size: int = 100,
    concurrency: int = 4,
    progress: bool = True,
    *,
    retry: RetryPolicy | None = None,
    console: Console | None = None,
    viewer_headers: Callable[[dict[str, Any]], Mapping[str, str]] | None = None,
) -> SendReport:
    """POST the messages to `{endpoint}/v1/batch` in batches; returns what was accepted.

    Each device's messages go through one lane (a worker sending sequentially), so per-visitor
    order survives `concurrency` parallel requests. Transient failures (connection errors, 429,
    5xx) are retried with the same messageIds; 400 answers count the rejected messages; 401,
    403, 404 and 405 raise `SendError` because no later batch can succeed. Messages are not
    modified (`sentAt` is stamped in the request body only). `viewer_headers(message)` gives the
    headers CloudFront would add for the message's device; a request carries one set of them.
    """
    if batch_size < 1 or concurrency < 1:
        raise ValueError("batch_size and concurrency must be at least 1")
    batch_size = min(batch_size, MAX_BATCH_MESSAGES)
    retry = retry or RetryPolicy()
    total = len(messages) if isinstance(messages, Sized) else None
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[bold]sending"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[rate]}"),
        console=console or Console(stderr=True),
        disable=not progress,
        transient=False,
    )
    task = bar.add_task("send", total=total, rate="")
    started = time.perf_counter()

    def on_done(count: int) -> None:
        done = bar.tasks[0].completed + count
        elapsed = time.perf_counter() - started
        bar.update(task, advance=count, rate=f"{done / elapsed:,.0f} events/s" if elapsed else "")

    sender = _Sender(endpoint, write_key, retry, on_done)
    _Endpoint(endpoint, write_key, retry.timeout_s)  # fail fast on a malformed URL
    lanes: list[Queue[_Batch | None]] = [Queue(maxsize=LANE_QUEUE_DEPTH) for _ in range(concurrency)]
    # Per lane, a batch being filled for each set of viewer headers. A device always has the same
    # headers, so its messages still go out in order: one lane, one batch after another.
    pending: list[dict[tuple[tuple[str, str], ...], _Batch]] = [{} for _ in range(concurrency)]
    pending_bytes: list[dict[tuple[tuple[str, str], ...], int]] = [{} for _ in range(concurrency)]
    sent = 0
    with bar, ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="simulate-lane") as pool:
        workers = [pool.submit(sender.drain, lane) for lane in lanes]
        try:
            for message in messages:
                if sender.stop.is_set():
                    break
                lane = _lane_of(message, concurrency)
                headers = tuple(sorted(viewer_headers(message).items())) if viewer_headers else ()
                encoded = _encode_without_sent_at(message)
                # Room for ',"sentAt":"…"' per message and the envelope.
                size = len(encoded.encode()) + 40
                batch = pending[lane].setdefault(headers, _Batch([], [], headers))
                filled = pending_bytes[lane].get(headers, 0)
                if batch.messages and filled + size > MAX_REQUEST_BYTES:
                    lanes[lane].put(batch)
                    batch = pending[lane][headers] = _Batch([], [], headers)
                    filled = 0
                batch.messages.append(encoded)
                batch.message_ids.append(message.get("messageId"))
                pending_bytes[lane][headers] = filled + size
                sent += 1
                if len(batch.messages) >= batch_size:
                    lanes[lane].put(batch)
                    del pending[lane][headers], pending_bytes[lane][headers]
            for lane, batches in enumerate(pending):
                for batch in batches.values():
                    if batch.messages and not sender.stop.is_set():
                        lanes[lane].put(batch)
        except BaseException:
            sender.stop.set()  # workers discard what is queued instead of sending it
            raise
        finally:
            for lane_queue in lanes:
                lane_queue.put(None)
            for worker in workers:
                worker.result()
    report = sender.report
    report.sent = sent
    report.duration_s = time.perf_counter() - started
    if sender.errors:
        raise sender.errors[0]
    return report


def run_simulation(
    endpoint: str,
    write_key: str,
    visitors: int,
    days: int,
    seed: int,
    progress: bool = True,
    now: datetime | None = None,
    *,
    batch_size: int = 100,
    concurrency: int = 4,
    retry: RetryPolicy | None = None,
    console: Console | None = None,
    autocapture: bool = False,
) -> SimulationSummary:
    """Generate the traffic for `visitors` over `days` with `seed`, send it, and summarize.

    `autocapture` adds the browser tracker's automatic events (see `plan_traffic`).
    """
    started = time.perf_counter()
    plan = plan_traffic(visitors, days, seed, now, autocapture=autocapture)
    generated = time.perf_counter()
    report = send_traffic(
        plan.messages,
        endpoint,
        write_key,
        batch_size=batch_size,
        concurrency=concurrency,
        progress=progress,
        retry=retry,
        console=console,
        viewer_headers=plan.viewer_headers,
    )
    return SimulationSummary(
        endpoint=endpoint,
        seed=seed,
        days=plan.days,
        traffic=plan.summary,
        send=report,
        generation_s=generated - started,
    )
