"""The local API Gateway against careless and hostile clients, over raw sockets.

Whatever a client sends, the gateway answers it with a status line (never a dropped connection),
in bounded time (never a hang), and with a 4xx for the client's own mistakes (never a 5xx).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reviva_dev.local.gateway import FunctionInvoker, Gateway, GatewayServer, import_handler_resolver
from tests.reviva_dev.local.test_gateway import ROUTES, SPECS

READ_TIMEOUT_SECONDS = 0.5
# Every answer must arrive well within this, whatever the request.
ANSWER_DEADLINE_SECONDS = 5.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[GatewayServer]:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<h1>demo</h1>")
    invoker = FunctionInvoker(import_handler_resolver(SPECS), SPECS)
    gateway = Gateway(ROUTES, invoker, {"/demo/": tmp_path / "site"})
    gateway_server = GatewayServer(gateway, port=0, read_timeout_seconds=READ_TIMEOUT_SECONDS)
    gateway_server.start()
    yield gateway_server
    gateway_server.stop()


def exchange(server: GatewayServer, raw: bytes, *, half_close: bool = False) -> tuple[int, float]:
    """Send `raw` bytes, read the answer's status line; returns (status, seconds it took).

    Fails the test when the connection is dropped without an answer or nothing arrives in time.
    """
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_DEADLINE_SECONDS) as connection:
        connection.sendall(raw)
        if half_close:
            connection.shutdown(socket.SHUT_WR)
        received = b""
        while b"\r\n" not in received:
            try:
                chunk = connection.recv(4096)
            except TimeoutError:
                pytest.fail(f"no answer within {ANSWER_DEADLINE_SECONDS} s to {raw[:80]!r}")
            except ConnectionResetError:
                pytest.fail(f"connection reset without an answer to {raw[:80]!r}")
            if not chunk:
                pytest.fail(f"connection dropped without an answer to {raw[:80]!r}")
            received += chunk
    status_line = received.split(b"\r\n", 1)[0].decode("latin-1")
    return int(status_line.split(" ")[1]), time.monotonic() - started


def get(target: str, method: str = "GET", extra: str = "") -> bytes:
    return f"{method} {target} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n".encode("latin-1")


@pytest.mark.parametrize(
    ("method", "target", "expected"),
    [
        ("TRACE", "/v1/track", 405),  # a route's path: the methods it allows are named
        ("TRACE", "/nowhere", 404),
        ("CONNECT", "/v1/track", 405),
        ("PROPFIND", "/demo/", 405),
        ("BREW", "/health-of-nothing", 404),
        ("get", "/v1/track", 405),  # methods are case-sensitive
    ],
)
def test_any_method_is_answered_like_api_gateway(
    server: GatewayServer, method: str, target: str, expected: int
) -> None:
    status, _ = exchange(server, get(target, method))
    assert status == expected


@pytest.mark.parametrize(
    "target",
    [
        "/demo/%00",
        "/demo/a%00b/index.html",
        "/demo/" + "a" * 5000,  # longer than a file name may be
        "/demo/%ff%fe",
        "/demo/..%2f..%2fetc%2fpasswd",
        "/demo/%2e%2e/secret.txt",
        "/%00",
        "*",
        "http://elsewhere/demo/",
    ],
)
def test_odd_paths_are_answered_4xx_without_dropping_the_connection(
    server: GatewayServer, target: str
) -> None:
    status, _ = exchange(server, get(target))
    assert 400 <= status < 500


@pytest.mark.parametrize(
    "content_length",
    ["-1", "abc", "1e3", "+5", "0x10", " ", "5, 6", "99999999999999999999999999"],
)
def test_a_malformed_content_length_is_a_400_at_once(server: GatewayServer, content_length: str) -> None:
    raw = f"POST /v1/track HTTP/1.1\r\nHost: localhost\r\nContent-Length: {content_length}\r\n\r\nhello"
    status, took = exchange(server, raw.encode())
    assert status in (400, 413)
    assert took < READ_TIMEOUT_SECONDS, "refused before waiting for a body"


def test_conflicting_content_lengths_are_a_400(server: GatewayServer) -> None:
    raw = b"POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello"
    assert exchange(server, raw)[0] == 400


def test_a_body_shorter_than_its_content_length_is_a_400_when_the_client_stops_sending(
    server: GatewayServer,
) -> None:
    raw = b"POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly this"
    assert exchange(server, raw, half_close=True)[0] == 400


def test_a_body_that_never_arrives_is_a_408_after_the_read_timeout(server: GatewayServer) -> None:
    raw = b"POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly this"
    status, took = exchange(server, raw)
    assert status == 408
    assert READ_TIMEOUT_SECONDS * 0.8 <= took < ANSWER_DEADLINE_SECONDS


@pytest.mark.parametrize(
    "chunks",
    [b"zz\r\nhello\r\n0\r\n\r\n", b"-5\r\nhello\r\n0\r\n\r\n", b"5\r\nhello"],
)
def test_malformed_or_unfinished_chunked_bodies_are_4xx(server: GatewayServer, chunks: bytes) -> None:
    raw = b"POST /v1/track HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks
    status, _ = exchange(server, raw, half_close=True)
    assert 400 <= status < 500


def test_a_silent_client_is_closed_after_the_timeout_not_held_forever(server: GatewayServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=ANSWER_DEADLINE_SECONDS) as connection:
        connection.sendall(b"GET /demo/ HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        started = time.monotonic()
        try:
            data = connection.recv(4096)
        except ConnectionResetError:
            data = b""
        assert time.monotonic() - started < ANSWER_DEADLINE_SECONDS
        assert data == b"" or data.startswith(b"HTTP/1.1 408")


def test_the_gateway_keeps_serving_after_hostile_requests(server: GatewayServer) -> None:
    for raw in (get("/demo/%00"), get("/v1/track", "TRACE"), b"GARBAGE\r\n\r\n"):
        exchange(server, raw)
    assert exchange(server, get("/demo/"))[0] == 200
