"""The bounded load generator: counts what it sent, what failed and how long answers took."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from reviva.topology import FunctionSpec, RouteSpec
from reviva_dev.local.gateway import FunctionInvoker, Gateway, GatewayServer
from reviva_dev.measure.load import run_load

SPECS = (FunctionSpec("ingest", "unused"),)
ROUTES = (RouteSpec("POST", "/v1/batch", "ingest", "write_key"),)


def answering(status: int) -> Iterator[GatewayServer]:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        batch = json.loads(event["body"])["batch"]
        assert event["headers"]["authorization"].startswith("Basic ")
        assert len({message["anonymousId"] for message in batch}) == 1
        return {"statusCode": status, "body": json.dumps({"success": status == 200})}

    server = GatewayServer(Gateway(ROUTES, FunctionInvoker(lambda name: handler, SPECS)), port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def accepting() -> Iterator[GatewayServer]:
    yield from answering(200)


@pytest.fixture
def failing() -> Iterator[GatewayServer]:
    yield from answering(503)


def test_every_request_is_sent_and_timed(accepting: GatewayServer) -> None:
    figures = run_load(
        f"http://127.0.0.1:{accepting.port}", "wk", clients=8, requests_per_client=5, messages_per_request=3
    )
    assert (figures.requests, figures.messages, figures.errors, figures.resets) == (40, 120, 0, 0)
    assert len(figures.latencies_ms) == 40 and figures.p99_ms >= figures.p50_ms > 0
    assert sum(figures.sent_per_visitor.values()) == 120
    assert figures.messages_per_second > 0 and not figures.timed_out


def test_answers_other_than_200_are_errors_and_count_no_messages(failing: GatewayServer) -> None:
    figures = run_load(f"http://127.0.0.1:{failing.port}", "wk", clients=2, requests_per_client=3)
    assert (figures.requests, figures.errors, figures.messages) == (6, 6, 0)
    assert figures.sent_per_visitor == {}


def test_the_time_limit_bounds_the_run(accepting: GatewayServer) -> None:
    figures = run_load(
        f"http://127.0.0.1:{accepting.port}",
        "wk",
        clients=2,
        requests_per_client=10_000,
        time_limit_seconds=0.3,
    )
    assert figures.timed_out and figures.requests < 20_000 and figures.seconds < 5


def test_only_the_local_stack_is_a_target() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        run_load("http://example.com", "wk", clients=1, requests_per_client=1)
