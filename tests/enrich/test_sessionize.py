"""Sessionization edge cases through the visitor update."""

from __future__ import annotations

from datetime import timedelta

from reviva.enrich.event_facts import describe_event
from reviva.enrich.journey_rules import load_journey_rules
from reviva.enrich.sessionize import SessionDecision, decide_session, session_id_for
from reviva.enrich.visitor_state import VisitorState
from reviva.enrich.visitor_update import apply_event
from tests.enrich.builders import T0, event

RULES = load_journey_rules(None)


def _apply_all(*events) -> VisitorState:  # type: ignore[no-untyped-def]
    state = VisitorState.new(events[0].visitor_key)
    for e in events:
        apply_event(state, e, describe_event(e), RULES)
    return state


def test_thirty_minutes_of_inactivity_starts_a_new_session() -> None:
    state = _apply_all(
        event(at=T0), event(at=T0 + timedelta(minutes=30)), event(at=T0 + timedelta(minutes=60, seconds=1))
    )
    assert state.profile.total_sessions == 2
    assert len(state.closed_sessions) == 1
    assert state.closed_sessions[0].page_views == 2
    assert state.closed_sessions[0].duration_seconds == 30 * 60


def test_a_new_campaign_starts_a_new_session() -> None:
    state = _apply_all(
        event(at=T0, url_query="?utm_source=google&utm_medium=cpc&utm_campaign=spring"),
        event(
            at=T0 + timedelta(minutes=2), url_query="?utm_source=newsletter&utm_medium=email&utm_campaign=nov"
        ),
    )
    assert state.profile.total_sessions == 2
    assert state.current_session is not None
    assert state.current_session.channel == "email"


def test_internal_navigation_does_not_split_a_campaign_session() -> None:
    state = _apply_all(
        event(at=T0, url_query="?utm_source=google&utm_medium=cpc&utm_campaign=spring&gclid=abc"),
        event(at=T0 + timedelta(minutes=1), path="/pricing", referrer="https://revivatech.co.uk/"),
    )
    assert state.profile.total_sessions == 1


def test_bounce_rate_and_averages_are_exact() -> None:
    state = _apply_all(
        event(at=T0),  # session 1: a bounce
        event(at=T0 + timedelta(hours=2)),  # session 2: two pages, 120 s
        event(at=T0 + timedelta(hours=2, minutes=2)),
    )
    profile = state.profile
    assert profile.total_sessions == 2
    assert profile.bounce_rate == 0.5
    assert profile.total_time_spent == 120
    assert profile.avg_session_duration == 60
    assert profile.pages_per_session == 1.5


def test_a_late_event_gets_its_own_closed_session() -> None:
    state = _apply_all(event(at=T0 + timedelta(hours=5)), event(at=T0))
    assert state.profile.total_sessions == 2
    assert state.current_session is not None
    assert state.current_session.started_at == T0 + timedelta(hours=5)
    assert state.closed_sessions[0].started_at == T0


def test_slightly_out_of_order_events_extend_the_session() -> None:
    state = _apply_all(event(at=T0 + timedelta(minutes=5)), event(at=T0))
    assert state.profile.total_sessions == 1
    assert state.profile.total_time_spent == 300


def test_identify_alone_does_not_open_a_session() -> None:
    state = _apply_all(event(kind="identify", user_id="u_1"))
    assert state.profile.total_sessions == 0
    assert state.profile.user_id == "u_1"


def test_decisions_and_ids_are_deterministic() -> None:
    assert decide_session(None, T0, None) is SessionDecision.NEW
    assert session_id_for("a:x", "m1") == session_id_for("a:x", "m1")
    assert session_id_for("a:x", "m1") != session_id_for("a:x", "m2")


def test_events_without_a_user_agent_add_no_device() -> None:
    state = _apply_all(event(at=T0), event(kind="identify", user_id="u_1", user_agent=""))
    assert state.profile.device_types == ["desktop"]
