"""The model of the tracker's requests (reviva_dev/measure/tracker_requests.py) against its policy."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from reviva_dev.measure.tracker_requests import POLICY_FILE, DeliveryPolicy, message_time, tracker_requests
from reviva_dev.simulate import autocapture, plan_traffic
from reviva_dev.simulate.personas import SITE_ORIGIN

POLICY = DeliveryPolicy(flush_at=10, max_wait=timedelta(seconds=30), carry_across_pages=True, max_batch=100)
TWO_SPEED = replace(
    POLICY,
    background_max_wait=timedelta(seconds=120),
    background_events=frozenset({"Web Vitals", "Scroll Depth Reached"}),
)


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
    assert policy.carry_across_pages == data["carryAcrossPages"]
    assert policy.max_batch == data["maxBatch"]
    assert policy.background_max_wait == timedelta(milliseconds=data["backgroundMaxWaitMs"])
    assert policy.background_events == frozenset(data["backgroundEvents"])


def test_background_events_are_the_autocapture_noise_and_business_events_stay_urgent() -> None:
    policy = DeliveryPolicy.load()
    assert policy.background_events == {
        autocapture.EVENT_PAGE_PERFORMANCE,
        autocapture.EVENT_WEB_VITALS,
        autocapture.EVENT_SCROLL_DEPTH,
        autocapture.EVENT_ELEMENT_CLICKED,
        autocapture.EVENT_FORM_FIELD_FOCUSED,
        autocapture.EVENT_RAGE_CLICK,
        autocapture.EVENT_EXIT_INTENT,
    }
    assert policy.background_events <= set(autocapture.AUTO_EVENTS)
    urgent = [
        _event("u", "Session Started", 0),
        _event("u", "Consent Updated", 0),
        _event("u", "CTA Clicked", 0),
        _event("u", "Form Submitted", 0),
        _event("u", "Booking Confirmed", 0),
        *(_message("u", kind, 0) for kind in ("page", "identify", "alias", "group")),
    ]
    assert not any(policy.is_background(m) for m in urgent)
    assert policy.is_background(_event("u", "Web Vitals", 0))


def _event(visitor: str, event: str, second: int) -> dict[str, Any]:
    return {**_message(visitor, "track", second), "event": event}


def test_only_background_messages_wait_background_max_wait() -> None:
    messages = [
        _event("g", "Web Vitals", 0),
        _event("g", "Scroll Depth Reached", 50),  # newer: does not push the timer back
        _event("g", "Web Vitals", 150),  # the timer (oldest at 0 s + 120 s) fired at 120 s
    ]
    requests = tracker_requests(messages, TWO_SPEED)
    assert [(len(r.messages), r.sent_at) for r in requests] == [
        (2, message_time(messages[0]) + timedelta(seconds=120)),
        (1, message_time(messages[2])),  # the tab closed after its last message
    ]
    # Without the background rule (the former policy) the first request went at 30 s.
    assert tracker_requests(messages, POLICY)[0].sent_at == message_time(messages[0]) + timedelta(seconds=30)


def test_an_urgent_message_pulls_the_whole_queue_forward() -> None:
    messages = [
        _event("h", "Web Vitals", 0),
        _event("h", "CTA Clicked", 40),  # urgent: the queue goes by 40 + 30 s
        _event("h", "Scroll Depth Reached", 60),
        _event("h", "Web Vitals", 200),
    ]
    requests = tracker_requests(messages, TWO_SPEED)
    assert [[m["event"] for m in r.messages] for r in requests] == [
        ["Web Vitals", "CTA Clicked", "Scroll Depth Reached"],
        ["Web Vitals"],
    ]
    assert requests[0].sent_at == message_time(messages[1]) + timedelta(seconds=30)
    # The oldest message's backgroundMaxWaitMs comes first when the urgent one is late enough.
    late = [_event("i", "Web Vitals", 0), _message("i", "page", 100), _event("i", "Web Vitals", 140)]
    requests = tracker_requests(late, TWO_SPEED)
    assert [(len(r.messages), r.sent_at.second) for r in requests] == [(2, 0), (1, 20)]  # 10:02:00, 10:02:20


def test_background_max_wait_at_or_below_max_wait_makes_every_message_urgent() -> None:
    messages = [_event("j", "Web Vitals", 0), _event("j", "Web Vitals", 100)]
    for wait in (timedelta(0), timedelta(seconds=30)):
        requests = tracker_requests(messages, replace(TWO_SPEED, background_max_wait=wait))
        assert requests[0].sent_at == message_time(messages[0]) + timedelta(seconds=30)


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


def test_session_started_waits_with_the_page_that_opened_the_session() -> None:
    started = {**_message("d", "track", 20), "event": "Session Started"}
    messages = [
        _message("d", "page", 0, internal=False),
        _message("d", "track", 5),
        started,  # the next page load opens a new session (a campaign link) before its page view
        _message("d", "page", 20, internal=False),
        _message("d", "track", 25),
    ]
    requests = tracker_requests(messages, POLICY)
    assert [[m.get("event") or m["type"] for m in r.messages] for r in requests] == [
        ["page", "track"],
        ["Session Started", "page", "track"],
    ]
    assert requests[0].sent_at.second == 5, "the beacon leaves with the first page"
    # A "Session Started" of an earlier moment belongs to the earlier page: it is beaconed.
    early = {**_message("e", "track", 3), "event": "Session Started"}
    requests = tracker_requests(
        [_message("e", "page", 0, internal=False), early, _message("e", "page", 20, internal=False)], POLICY
    )
    assert [len(r.messages) for r in requests] == [2, 1]


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
