"""The bounded load generator: counts what it sent, what failed and how long answers took."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from reviva.topology import FunctionSpec, RouteSpec
from reviva_dev.local.gateway import FunctionInvoker, Gateway, GatewayServer
from reviva_dev.measure.load import run_load, wait_for_profiles

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


class ProfileReads:
    """A `GET /v1/visitors/{id}` that counts reads and answers `total_events` from `counted`."""

    def __init__(self, counted: dict[str, int]) -> None:
        self.counted = counted
        self.reads: dict[str, int] = {}
        self.lock = threading.Lock()

    def handler(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        visitor = urllib.parse.unquote(event["rawPath"].rsplit("/", 1)[1])
        with self.lock:
            self.reads[visitor] = self.reads.get(visitor, 0) + 1
            total = self.counted.get(visitor, 0)
        return {"statusCode": 200, "body": json.dumps({"profile": {"total_events": total}})}


@pytest.fixture
def profiles() -> Iterator[tuple[ProfileReads, str]]:
    reads = ProfileReads({})
    specs = (FunctionSpec("query", "unused"),)
    routes = (RouteSpec("GET", "/v1/visitors/{visitor_id}", "query", "signed_in"),)
    server = GatewayServer(Gateway(routes, FunctionInvoker(lambda name: reads.handler, specs)), port=0)
    server.start()
    yield reads, f"http://127.0.0.1:{server.port}"
    server.stop()


def test_profile_reads_stop_at_the_first_incomplete_group_until_it_completes(
    profiles: tuple[ProfileReads, str],
) -> None:
    reads, base_url = profiles
    sent = {f"v{n:02d}": 2 for n in range(60)}
    reads.counted.update({visitor: 2 for visitor in sent if visitor != "v00"})
    reads.counted["v00"] = 1  # the pipeline is behind on the first visitor

    def catch_up() -> None:
        time.sleep(0.6)
        with reads.lock:
            reads.counted["v00"] = 2
            reads.before_catch_up = dict(reads.reads)  # type: ignore[attr-defined]

    threading.Thread(target=catch_up).start()
    after = wait_for_profiles(base_url, "token", sent, limit_seconds=10, readers=4)
    assert after is not None and 0.6 <= after < 5
    before: dict[str, int] = reads.before_catch_up  # type: ignore[attr-defined]
    # While v00 lagged, every round stopped after one group of 4 reads, v00's among them: the 59
    # complete visitors were not all read at once.
    others = sum(count for visitor, count in before.items() if visitor != "v00")
    assert before["v00"] >= 2 and others <= 3 * before["v00"] and others < 59
    # A visitor found complete is not read again.
    assert all(reads.reads[f"v{n:02d}"] == 1 for n in range(1, 60))


def test_profiles_never_complete_within_the_limit_give_none(profiles: tuple[ProfileReads, str]) -> None:
    reads, base_url = profiles
    assert wait_for_profiles(base_url, "token", {"late": 3}, limit_seconds=0.3, readers=2) is None
    assert reads.reads["late"] >= 2
