"""The model of the tracker's requests (bench/tracker_requests.py) against its delivery policy."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bench.tracker_requests import POLICY_FILE, DeliveryPolicy, message_time, tracker_requests
from reviva.simulate import plan_traffic
from reviva.simulate.personas import SITE_ORIGIN

POLICY = DeliveryPolicy(flush_at=10, max_wait=timedelta(seconds=30), carry_across_pages=True, max_batch=100)


def _message(
    visitor: str, kind: str, second: int, *, consent: bool = True, internal: bool = True
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "anonymousId": visitor,
        "type": kind,
        "timestamp": f"2026-11-24T10:{second // 60:02d}:{second % 60:02d}.000Z",
        "context": {"consent": {"analytics": True}} if consent else {},
    }
    if kind == "page":
        message["properties"] = {"referrer": f"{SITE_ORIGIN}/" if internal else "https://www.google.com/"}
    return message


def test_the_policy_is_the_trackers_file() -> None:
    data = json.loads(POLICY_FILE.read_text())
    policy = DeliveryPolicy.load()
    assert policy.flush_at == data["flushAt"]
    assert policy.max_wait == timedelta(milliseconds=data["maxWaitMs"])


def test_with_consent_a_same_site_navigation_carries_the_queue() -> None:
    messages = [
        _message("a", "page", 0, internal=False),
        _message("a", "track", 5),
        _message("a", "page", 10),  # same-site link: carried, nothing sent
        _message("a", "track", 15),
        _message("a", "page", 40),  # the timer (oldest at 0 s + 30 s) fired at 30 s
        _message("a", "track", 45),
    ]
    requests = tracker_requests(messages, POLICY)
    assert [(len(r.messages), r.sent_at.second) for r in requests] == [(4, 30), (2, 45)]


def test_without_consent_every_page_leave_is_a_beacon() -> None:
    messages = [
        _message("c", "page", 0, consent=False, internal=False),
        _message("c", "track", 5, consent=False),
        _message("c", "page", 10, consent=False),
        _message("c", "track", 12, consent=False),
    ]
    requests = tracker_requests(messages, POLICY)
    assert [len(r.messages) for r in requests] == [2, 2]
    assert requests[0].sent_at.second == 5  # as the first page was left


def test_size_flush_and_end_of_visit() -> None:
    messages = [_message("b", "track", s) for s in range(12)]
    messages.append(_message("b", "track", 60 * 50))  # a new visit 50 minutes later
    requests = tracker_requests(messages, POLICY)
    assert [len(r.messages) for r in requests] == [10, 2, 1]
    assert sum(len(r.messages) for r in requests) == len(messages)


def test_simulated_browsing_sends_every_message_exactly_once_in_fuller_requests() -> None:
    plan = plan_traffic(20, 2, 5, autocapture=True)
    requests = tracker_requests(plan.messages)
    sent = [m["messageId"] for r in requests for m in r.messages]
    assert sorted(sent) == sorted(m["messageId"] for m in plan.messages)
    events_per_request = len(sent) / len(requests)
    assert events_per_request > 3  # ~1 before the tracker batched across pages
    for request in requests:
        assert all(message_time(m) <= request.sent_at for m in request.messages)
