"""The local runtime runs invocations concurrently, like Lambda: a bounded pool per function."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

import tests.reviva_dev.local.handler_global_state as state
from reviva.topology import FUNCTIONS, FunctionSpec, RouteSpec
from reviva_dev.local.gateway import (
    DEFAULT_LOCAL_CONCURRENCY,
    FunctionInvoker,
    Gateway,
    GatewayServer,
    import_handler_resolver,
    local_concurrency,
)

POOL_SIZE = 4
SPECS = (
    FunctionSpec("ingest", "tests.reviva_dev.local.handler_global_state", reserved_concurrency=POOL_SIZE),
    FunctionSpec("query", "tests.reviva_dev.local.handler_echo"),
)
ROUTES = (
    RouteSpec("GET", "/state/{n}", "ingest", "public"),
    RouteSpec("GET", "/echo", "query", "public"),
)


@pytest.fixture
def server() -> Iterator[GatewayServer]:
    state.running = state.most_running = 0
    gateway_server = GatewayServer(
        Gateway(ROUTES, FunctionInvoker(import_handler_resolver(SPECS), SPECS)), port=0
    )
    gateway_server.start()
    yield gateway_server
    gateway_server.stop()


def get(server: GatewayServer, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_invocations_run_concurrently_up_to_the_reserved_concurrency(server: GatewayServer) -> None:
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda n: get(server, f"/state/{n}"), range(12)))
    assert state.most_running == POOL_SIZE, "as many at once as reserved, never more"
    # Each environment holds its own module globals: no invocation saw another's state or metrics.
    assert answers == [(200, f"/state/{n} 1") for n in range(12)]


def test_the_pool_size_comes_from_the_topology() -> None:
    invoker = FunctionInvoker(import_handler_resolver(SPECS), SPECS)
    assert invoker.concurrency("ingest") == POOL_SIZE
    assert invoker.concurrency("query") == DEFAULT_LOCAL_CONCURRENCY
    assert all(local_concurrency(spec) >= 1 for spec in FUNCTIONS)


def test_many_clients_connecting_at_once_are_all_served() -> None:
    """64 connects while the server is busy (not accepting): the kernel queues them all, none is
    refused or left waiting (a listen backlog of 5 holds 6 and drops the other SYNs)."""
    server = GatewayServer(Gateway(ROUTES, FunctionInvoker(import_handler_resolver(SPECS), SPECS)), port=0)
    sockets: list[socket.socket] = []
    try:
        for _ in range(64):  # the accept loop is not running yet: only the backlog holds these
            sockets.append(socket.create_connection(("127.0.0.1", server.port), timeout=0.5))
            sockets[-1].sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        server.start()
        answers = [connection.recv(12) for connection in sockets]
    finally:
        for connection in sockets:
            connection.close()
        server.stop()
    assert len(answers) == 64 and all(answer.startswith(b"HTTP/1.1 201") for answer in answers)


ROUTER_SPECS = (FunctionSpec("ingest", "tests.reviva_dev.local.handler_slow_router", reserved_concurrency=8),)
ROUTER_ROUTES = (
    RouteSpec("POST", "/slow/{name}", "ingest", "public"),
    RouteSpec("GET", "/routed/{name}", "ingest", "public"),
)


def test_concurrent_invocations_of_a_powertools_resolver_each_read_their_own_event() -> None:
    """Powertools keeps the current event on a class; each invocation must still see its own."""
    gateway_server = GatewayServer(
        Gateway(ROUTER_ROUTES, FunctionInvoker(import_handler_resolver(ROUTER_SPECS), ROUTER_SPECS)), port=0
    )
    gateway_server.start()

    def post(n: int) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", gateway_server.port, timeout=10)
        try:
            connection.request("POST", f"/slow/{n}", body=f"body-{n}")
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    try:
        with ThreadPoolExecutor(16) as pool:
            posted = list(pool.map(post, range(32)))
            routed = list(pool.map(lambda n: get(gateway_server, f"/routed/{n}"), range(32)))
    finally:
        gateway_server.stop()

    bodies = [json.loads(answer) for status, answer in posted if status == 200]
    assert [(body["name"], body["body"]) for body in bodies] == [(str(n), f"body-{n}") for n in range(32)]
    assert len({body["request_id"] for body in bodies}) == 32
    assert [json.loads(answer) for _, answer in routed] == [
        {"name": str(n), "path": f"/routed/{n}"} for n in range(32)
    ]
