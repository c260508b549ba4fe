"""A tiny recording Segment endpoint on 127.0.0.1 for the sender tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

# What the endpoint does with the n-th request (0-based): (status, JSON body) or "drop" to close
# the connection without answering. None means 200 {"success": true}.
Script = Callable[[int, dict[str, Any]], tuple[int, dict[str, Any]] | str | None]


@dataclass
class RecordedRequest:
    """One request as the endpoint saw it."""

    path: str
    # The client's port: one per keep-alive connection, so one per sender lane.
    client_port: int
    headers: dict[str, str]
    body: dict[str, Any]
    status: int


@dataclass
class RecordingEndpoint:
    """Records every request in arrival order; `script` decides each answer."""

    url: str = ""
    requests: list[RecordedRequest] = field(default_factory=list)
    script: Script | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted_messages(self) -> list[dict[str, Any]]:
        """Messages of the requests answered 200, in arrival order."""
        return [m for r in self.requests if r.status == 200 for m in r.body["batch"]]


def _handler(endpoint: RecordingEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            with endpoint.lock:
                number = len(endpoint.requests)
                answer = endpoint.script(number, body) if endpoint.script else None
                dropped = isinstance(answer, str)
                status, reply = (0, {}) if isinstance(answer, str) else answer or (200, {"success": True})
                endpoint.requests.append(
                    RecordedRequest(self.path, self.client_address[1], dict(self.headers), body, status)
                )
            if dropped:
                self.close_connection = True
                return
            payload = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler


@pytest.fixture
def endpoint() -> Iterator[RecordingEndpoint]:
    """A recording endpoint on a free loopback port, stopped after the test."""
    recording = RecordingEndpoint()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recording))
    server.daemon_threads = True
    recording.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield recording
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
