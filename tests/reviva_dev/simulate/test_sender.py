"""The sender against a recording endpoint on loopback: auth, batching, order, retries, answers."""

from __future__ import annotations

import base64
import io
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import pytest
from rich.console import Console

from reviva_dev.simulate import (
    RetryPolicy,
    SendError,
    plan_traffic,
    render_summary,
    run_simulation,
    send_traffic,
)
from tests.reviva_dev.simulate.conftest import RecordingEndpoint

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
WRITE_KEY = "test-write-key"
FAST_RETRY = RetryPolicy(attempts=4, base_delay_s=0.01, max_delay_s=0.05, timeout_s=5)


def _messages(visitors: int = 60, seed: int = 3) -> list[dict[str, Any]]:
    return plan_traffic(visitors, 5, seed=seed, now=NOW).messages


def _order_by_device(messages: list[dict[str, Any]]) -> dict[str, list[str]]:
    order: dict[str, list[str]] = defaultdict(list)
    for message in messages:
        order[message["anonymousId"]].append(message["messageId"])
    return dict(order)


def test_batches_carry_basic_auth_stay_small_and_keep_each_visitors_order(
    endpoint: RecordingEndpoint,
) -> None:
    messages = _messages()
    report = send_traffic(messages, endpoint.url, WRITE_KEY, batch_size=25, concurrency=3, progress=False)

    assert report.sent == report.accepted == len(messages)
    assert (report.rejected, report.failed, report.retries) == (0, 0, 0)
    expected_auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    for request in endpoint.requests:
        assert request.path == "/v1/batch"
        assert request.headers["Authorization"] == expected_auth
        assert request.headers["Content-Type"] == "application/json"
        assert 1 <= len(request.body["batch"]) <= 25
        # sentAt is the wall clock at sending, on the envelope and on every message.
        sent_at = request.body["sentAt"]
        assert sent_at > "2026-11-24" and all(m["sentAt"] == sent_at for m in request.body["batch"])
    assert len(endpoint.requests) == report.requests == report.batches >= len(messages) // 25
    received = endpoint.accepted_messages()
    assert sorted(m["messageId"] for m in received) == sorted(m["messageId"] for m in messages)
    # Arrival order (requests in the order the server took them) keeps every device's order.
    assert _order_by_device(received) == _order_by_device(messages)
    # Apart from sentAt, the endpoint got the generated messages unchanged.
    by_id = {m["messageId"]: m for m in messages}
    assert all({**m, "sentAt": by_id[m["messageId"]]["sentAt"]} == by_id[m["messageId"]] for m in received)


def test_each_device_travels_in_one_lane_and_lanes_send_in_parallel(endpoint: RecordingEndpoint) -> None:
    messages = _messages(120)
    report = send_traffic(messages, endpoint.url, WRITE_KEY, batch_size=10, concurrency=4, progress=False)
    assert report.accepted == len(messages)
    # One keep-alive connection per lane: four connections, and every device's messages
    # arrive over exactly one of them (so no two requests can race for the same visitor).
    connections_of_device: dict[str, set[int]] = defaultdict(set)
    for request in endpoint.requests:
        for message in request.body["batch"]:
            connections_of_device[message["anonymousId"]].add(request.client_port)
    assert {len(ports) for ports in connections_of_device.values()} == {1}
    assert len({r.client_port for r in endpoint.requests}) == 4


def test_a_503_is_retried_with_the_same_message_ids(endpoint: RecordingEndpoint) -> None:
    endpoint.script = lambda number, body: (503, {"message": "busy"}) if number in (0, 1) else None
    messages = _messages(20)
    report = send_traffic(
        messages, endpoint.url, WRITE_KEY, batch_size=50, concurrency=1, progress=False, retry=FAST_RETRY
    )

    first, second, third = endpoint.requests[:3]
    assert (first.status, second.status, third.status) == (503, 503, 200)
    ids = [m["messageId"] for m in first.body["batch"]]
    assert (
        ids == [m["messageId"] for m in second.body["batch"]] == [m["messageId"] for m in third.body["batch"]]
    )
    assert report.retries == 2 and report.status_counts[503] == 2
    assert report.accepted == report.sent == len(messages) and report.failed == 0
    assert _order_by_device(endpoint.accepted_messages()) == _order_by_device(messages)


def test_a_dropped_connection_is_retried(endpoint: RecordingEndpoint) -> None:
    endpoint.script = lambda number, body: "drop" if number == 0 else None
    messages = _messages(10)
    report = send_traffic(
        messages, endpoint.url, WRITE_KEY, batch_size=500, concurrency=1, progress=False, retry=FAST_RETRY
    )
    assert report.retries == 1 and report.status_counts[0] == 1
    assert report.accepted == len(messages)
    assert endpoint.requests[0].body["batch"] == [
        {**m, "sentAt": endpoint.requests[0].body["sentAt"]} for m in endpoint.requests[1].body["batch"]
    ]


def test_a_batch_still_failing_after_every_attempt_counts_as_failed(endpoint: RecordingEndpoint) -> None:
    endpoint.script = lambda number, body: (500, {"message": "boom"})
    messages = _messages(10)
    report = send_traffic(
        messages, endpoint.url, WRITE_KEY, batch_size=500, concurrency=1, progress=False, retry=FAST_RETRY
    )
    assert len(endpoint.requests) == FAST_RETRY.attempts
    assert report.failed == report.sent == len(messages)
    assert report.accepted == report.rejected == 0


def test_rejected_messages_are_counted_from_the_400_answer(endpoint: RecordingEndpoint) -> None:
    def reject_first_two(number: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if number:
            return None
        reasons = [{"index": i, "reason": "timestamp: too old"} for i in (0, 1)]
        return 400, {"success": False, "accepted": len(body["batch"]) - 2, "rejected": reasons}

    endpoint.script = reject_first_two
    messages = _messages(30)
    report = send_traffic(messages, endpoint.url, WRITE_KEY, batch_size=40, concurrency=1, progress=False)
    assert report.rejected == 2
    assert report.accepted == len(messages) - 2
    first_ids = [m["messageId"] for m in endpoint.requests[0].body["batch"][:2]]
    assert [r.message_id for r in report.rejections] == first_ids
    assert report.rejections[0].reason == "timestamp: too old"
    assert report.retries == 0, "a 400 is final: resending would be rejected again"


def test_a_refused_write_key_stops_the_run(endpoint: RecordingEndpoint) -> None:
    endpoint.script = lambda number, body: (401, {"success": False, "error": "unauthorized"})
    with pytest.raises(SendError, match="401"):
        send_traffic(_messages(40), endpoint.url, "wrong", batch_size=5, concurrency=2, progress=False)
    # It stops instead of sending every batch into the same wall.
    assert len(endpoint.requests) < 10


def test_an_endpoint_with_a_path_prefix_and_a_bad_url(endpoint: RecordingEndpoint) -> None:
    send_traffic(_messages(3), endpoint.url + "/prod/", WRITE_KEY, progress=False)
    assert {r.path for r in endpoint.requests} == {"/prod/v1/batch"}
    with pytest.raises(SendError):
        send_traffic(_messages(3), "localhost:8000", WRITE_KEY, progress=False)


def test_run_simulation_sends_everything_and_renders_a_summary(endpoint: RecordingEndpoint) -> None:
    console = Console(record=True, width=120, file=io.StringIO())
    summary = run_simulation(
        endpoint.url, WRITE_KEY, visitors=80, days=3, seed=8, progress=True, now=NOW, console=console
    )

    assert summary.ok
    assert summary.sent == summary.accepted == summary.traffic.messages == len(endpoint.accepted_messages())
    assert summary.by_persona == summary.traffic.visitors_by_persona
    assert summary.events_per_second > 0 and summary.duration_s > 0
    assert summary.to_dict()["send"]["accepted"] == summary.accepted
    console.print(render_summary(summary))
    text = console.export_text()
    assert "sending" in text, "the progress bar was drawn"
    for expected in ("Delivery", "Booking Submitted", "returning_customer", f"{summary.accepted:,}", "£"):
        assert expected in text


def test_each_request_carries_the_cloudfront_viewer_headers_of_its_devices(
    endpoint: RecordingEndpoint,
) -> None:
    plan = plan_traffic(150, 5, seed=11, now=NOW)
    report = run_simulation(endpoint.url, WRITE_KEY, 150, 5, seed=11, progress=False, now=NOW, batch_size=40)
    assert report.accepted == len(plan.messages)
    places_seen = set()
    for request in endpoint.requests:
        country = request.headers["CloudFront-Viewer-Country"]
        region = request.headers["CloudFront-Viewer-Country-Region"]
        city = unquote(request.headers["CloudFront-Viewer-City"])
        places_seen.add((country, region, city))
        for message in request.body["batch"]:
            place = plan.places[message["anonymousId"]]
            assert (place.country, place.region, place.city) == (country, region, city)
    # A London shop's visitors: mostly in Great Britain, some abroad; crawlers in data centres.
    countries = [plan.places[m["anonymousId"]].country for m in plan.messages]
    assert countries.count("GB") > len(countries) / 2 and len(set(countries)) >= 4
    assert ("GB", "ENG", "London") in places_seen
    # Each device has one place, and the ground truth names it.
    for truth in plan.truths:
        assert truth.countries == tuple(plan.places[device].country for device in truth.anonymous_ids)
    # Order per device survives the split by place.
    assert _order_by_device(endpoint.accepted_messages()) == _order_by_device(plan.messages)


def test_a_city_name_is_url_encoded_as_cloudfront_sends_it() -> None:
    from reviva_dev.simulate.personas import Place
    from reviva_dev.simulate.traffic import cloudfront_viewer_headers

    headers = cloudfront_viewer_headers(Place("BR", "SP", "São Paulo", 1.0))
    assert headers == {
        "CloudFront-Viewer-Country": "BR",
        "CloudFront-Viewer-Country-Region": "SP",
        "CloudFront-Viewer-City": "S%C3%A3o%20Paulo",
    }
