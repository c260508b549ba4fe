"""Applying one event to a visitor's state: profile aggregates, session, journey, identity links.

A pure function of (state, event): the same events applied to the same state always give the same
result, which is what lets a redelivered batch be recomputed and skipped exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from reviva.contracts.events import CollectedEvent
from reviva.contracts.visitor_key import anonymous_key, email_link_key, user_key
from reviva.enrich.event_facts import PAGE_EVENT_TYPES, SESSION_EVENT_TYPES, EventFacts
from reviva.enrich.journey_rules import JourneyRules, next_stage
from reviva.enrich.sessionize import SessionDecision, decide_session, session_id_for
from reviva.enrich.visitor_state import (
    MAX_SERVICES_OF_INTEREST,
    MAX_TOUCHPOINTS_PER_SESSION,
    SessionState,
    Touchpoint,
    VisitorState,
    add_distinct,
    bounded_text,
)

MAX_TRAIT_KEYS = 50
MAX_TRAIT_VALUE_CHARS = 200
MAX_TRAIT_KEY_CHARS = 64
PREFERRED_SERVICES = 5
_NON_WORD = re.compile(r"[^a-z0-9]+")


@dataclass(slots=True)
class AppliedEvent:
    """What applying one event decided, for the lake row and the counters."""

    session_id: str | None = None
    touchpoint: str | None = None
    journey_stage: str | None = None
    is_conversion: bool = False
    identity_links: list[tuple[str, str, str]] = field(default_factory=list)  # (key, key, via)


def trait_key(event_name: str) -> str:
    """`Pricing Viewed` → `pricing_viewed`: the behavioural-trait counter for a track event."""
    return _NON_WORD.sub("_", event_name.lower()).strip("_")[:60] or "event"


def _open_session(state: VisitorState, event: CollectedEvent, facts: EventFacts) -> SessionState:
    traffic = facts.traffic
    channel = "direct" if traffic.channel == "internal" else traffic.channel
    return SessionState(
        session_id=session_id_for(state.profile.fingerprint, event.message_id),
        started_at=event.timestamp,
        ended_at=event.timestamp,
        channel=channel,
        referrer_host=bounded_text(traffic.referrer_host) if channel != "direct" else None,
        campaign_key=bounded_text(facts.campaign_key),
        utm_source=bounded_text(traffic.utm_source),
        utm_medium=bounded_text(traffic.utm_medium),
        utm_campaign=bounded_text(traffic.utm_campaign),
        device_type=bounded_text(facts.device.device_type) if event.user_agent else None,
        browser=bounded_text(facts.device.browser) if event.user_agent else None,
        os=bounded_text(facts.device.os) if event.user_agent else None,
        country=bounded_text(event.geo.country),
    )


def _start_session(state: VisitorState, session: SessionState) -> None:
    profile = state.profile
    profile.total_sessions += 1
    profile.bounced_sessions += 1  # every session is a bounce until its second event
    profile.first_channel = profile.first_channel or session.channel
    profile.last_channel = session.channel
    add_distinct(profile.referrer_sources, session.referrer_host or session.channel)


def _session_for(state: VisitorState, event: CollectedEvent, facts: EventFacts) -> SessionState:
    # Compared as stored: a session keeps its campaign key bounded.
    decision = decide_session(state.current_session, event.timestamp, bounded_text(facts.campaign_key))
    if decision is SessionDecision.CONTINUE:
        assert state.current_session is not None
        return state.current_session
    session = _open_session(state, event, facts)
    _start_session(state, session)
    if decision is SessionDecision.LATE:
        state.closed_sessions.append(session)
    else:
        if state.current_session is not None:
            state.closed_sessions.append(state.current_session)
        state.current_session = session
    return session


def _count_in_session(state: VisitorState, session: SessionState, event: CollectedEvent) -> None:
    profile = state.profile
    before = session.duration_seconds
    session.started_at = min(session.started_at, event.timestamp)
    session.ended_at = max(session.ended_at, event.timestamp)
    profile.total_time_spent += session.duration_seconds - before
    session.events += 1
    if session.events == 2:
        profile.bounced_sessions -= 1


def _record_page(state: VisitorState, session: SessionState, facts: EventFacts) -> None:
    state.profile.total_page_views += 1
    session.page_views += 1
    page_path = bounded_text(facts.page_path)
    if session.entry_page is None:
        session.entry_page = page_path
    session.exit_page = page_path or session.exit_page


def _record_interest(state: VisitorState, event: CollectedEvent, facts: EventFacts) -> None:
    profile = state.profile
    service = bounded_text(facts.service)
    if service:
        interest = profile.service_interest
        if service not in interest and len(interest) >= MAX_SERVICES_OF_INTEREST:
            # Room for the new service: the least viewed one goes (of equal counts, the last by name),
            # a rule of the state alone, so a recomputed batch evicts exactly what the first attempt did.
            del interest[max(interest.items(), key=lambda kv: (-kv[1], kv[0]))[0]]
        interest[service] = interest.get(service, 0) + 1
        ranked = sorted(interest.items(), key=lambda kv: (-kv[1], kv[0]))
        profile.preferred_services = [name for name, _ in ranked[:PREFERRED_SERVICES]]
    if event.type == "track" and event.event:
        key = trait_key(event.event)
        traits = profile.behavioral_traits
        if key in traits or len(traits) < MAX_TRAIT_KEYS:
            traits[key] = int(traits.get(key, 0)) + 1


def _record_journey(
    state: VisitorState,
    session: SessionState,
    event: CollectedEvent,
    facts: EventFacts,
    rules: JourneyRules,
    applied: AppliedEvent,
) -> None:
    is_landing = event.type in PAGE_EVENT_TYPES and session.page_views == 1
    match = rules.match(event.type, event.event or event.name, facts.page_path, is_landing=is_landing)
    if match is None:
        return
    profile = state.profile
    converted_before = profile.conversions > 0
    stage = next_stage(profile.journey_stage, match.stage, converted_before)
    profile.journey_stage = stage
    applied.touchpoint = match.touchpoint
    applied.journey_stage = stage
    if match.conversion:
        applied.is_conversion = True
        session.converted = True
        profile.conversions += 1
        if facts.revenue is not None:
            session.revenue = round(session.revenue + facts.revenue, 2)
            profile.total_revenue = round(profile.total_revenue + facts.revenue, 2)
    if session.touchpoints:
        previous = session.touchpoints[-1]
        previous.time_spent = max(0, int((event.timestamp - previous.created_at).total_seconds()))
    if len(session.touchpoints) < MAX_TOUCHPOINTS_PER_SESSION:
        session.touchpoints.append(
            Touchpoint(
                sequence_number=state.next_sequence_number,
                touchpoint=match.touchpoint,
                journey_stage=stage,
                created_at=event.timestamp,
                conversion_event=match.conversion,
                page_path=bounded_text(facts.page_path),
                event_name=bounded_text(event.event),
                message_id=event.message_id,
            )
        )
    state.next_sequence_number += 1


def _merge_traits(state: VisitorState, traits: dict[str, Any]) -> None:
    stored = state.profile.traits
    for raw_key, value in traits.items():
        key = raw_key[:MAX_TRAIT_KEY_CHARS]
        if key not in stored and len(stored) >= MAX_TRAIT_KEYS:
            continue
        if isinstance(value, str):
            value = value[:MAX_TRAIT_VALUE_CHARS]
        elif not isinstance(value, (int, float, bool)) and value is not None:
            continue  # nested objects stay in the lake, not on the profile
        stored[key] = value


# reviva.privacy.pseudonymize.VALUE_PREFIX, not imported: that module loads libphonenumber, which
# the enrich function does not need.
EMAIL_PSEUDONYM_PREFIX = "h_"


def _identity_links(state: VisitorState, event: CollectedEvent) -> list[tuple[str, str, str]]:
    links: list[tuple[str, str, str]] = []
    if event.type == "alias" and event.user_id:
        target = user_key(event.user_id)
        if event.previous_id:
            links.append((user_key(event.previous_id), target, "alias"))
        if event.previous_anonymous_id:
            links.append((anonymous_key(event.previous_anonymous_id), target, "alias"))
    if event.user_id and event.anonymous_id and state.profile.user_id != event.user_id:
        links.append((anonymous_key(event.anonymous_id), user_key(event.user_id), "identify"))
    email = event.traits.get("email") if event.type == "identify" else None
    # Ingest replaced the address by its keyed pseudonym; link it once, when it is new to the profile,
    # so the People search finds the visitor by e-mail (one link pair per address, never the address).
    if (
        isinstance(email, str)
        and email.startswith(EMAIL_PSEUDONYM_PREFIX)
        and state.profile.traits.get("email") != email
    ):
        links.append((event.visitor_key, email_link_key(email), "email"))
    return links


def apply_event(
    state: VisitorState, event: CollectedEvent, facts: EventFacts, rules: JourneyRules
) -> AppliedEvent:
    """Apply one (new, non-bot) event to `state` and say what it decided."""
    applied = AppliedEvent(identity_links=_identity_links(state, event))
    profile = state.profile
    profile.anonymous_id = profile.anonymous_id or event.anonymous_id
    if event.user_id:
        profile.user_id = event.user_id
    if event.type == "identify":
        _merge_traits(state, event.traits)
    profile.first_seen_at = min(filter(None, (profile.first_seen_at, event.timestamp)))
    profile.last_seen_at = max(filter(None, (profile.last_seen_at, event.timestamp)))
    profile.last_updated = profile.last_seen_at
    profile.total_events += 1
    if event.user_agent:
        # Server-side calls (an identify from the back office) carry no browser to describe.
        add_distinct(profile.device_types, facts.device.device_type)
    add_distinct(profile.countries, event.geo.country)

    if event.type in SESSION_EVENT_TYPES:
        session = _session_for(state, event, facts)
        applied.session_id = session.session_id
        if session.device_type is None and event.user_agent:
            session.device_type, session.browser, session.os = (
                facts.device.device_type,
                facts.device.browser,
                facts.device.os,
            )
        _count_in_session(state, session, event)
        if event.type in PAGE_EVENT_TYPES:
            _record_page(state, session, facts)
        _record_interest(state, event, facts)
        _record_journey(state, session, event, facts, rules, applied)
    elif state.current_session is not None:
        applied.session_id = state.current_session.session_id
    profile.refresh_ratios()
    return applied
