"""A profile stays bounded whatever a visitor sends: every collection and every copied text."""

from __future__ import annotations

from datetime import timedelta

from reviva.adapters.dynamodb.visitor_repository import pack_profile
from reviva.enrich.journey_rules import load_journey_rules
from reviva.enrich.service import EnrichPorts, process_batch
from reviva.enrich.visitor_state import MAX_PROFILE_TEXT, MAX_SERVICES_OF_INTEREST
from reviva.enrich.visitor_update import MAX_TRAIT_KEY_CHARS, MAX_TRAIT_KEYS
from reviva_dev.fakes.enrich import MemoryCounters, MemoryLake, MemoryPoison, MemoryVisitors
from tests.enrich.builders import T0, Stream, event

DYNAMODB_ITEM_LIMIT = 400 * 1024


def _ports() -> tuple[EnrichPorts, MemoryVisitors]:
    counters = MemoryCounters()
    visitors = MemoryVisitors(counters)
    return EnrichPorts(visitors, counters, MemoryLake(), MemoryPoison(), load_journey_rules(None)), visitors


def test_thousands_of_distinct_values_keep_the_profile_item_small() -> None:
    ports, visitors = _ports()
    stream = Stream()
    long = "x" * 5_000
    events = [
        event(
            "v1",
            name="Service Viewed",
            kind="track",
            at=T0 + timedelta(seconds=i),
            properties={"service": f"service-{i:05d}-{long}"},
            url_query=f"?utm_source={long}{i}&utm_campaign={long}",
            referrer=f"https://{'r' * 60}.example/{long}",
            path=f"/services/repair-{i}/{long}",
        )
        for i in range(2_000)
    ]
    identify = event(
        "v1",
        kind="identify",
        at=T0 + timedelta(hours=1),
        traits={f"{'k' * 500}{i}": "v" * 500 for i in range(200)},
    )
    for start in range(0, len(events), 500):
        process_batch(stream.records(*events[start : start + 500]), ports)
    process_batch(stream.records(identify), ports)

    state = visitors.profiles["a:v1"].state
    profile = state.profile
    assert profile.total_events == 2_001, "every event still counts"
    assert len(profile.service_interest) == MAX_SERVICES_OF_INTEREST
    assert all(len(name) <= MAX_PROFILE_TEXT for name in profile.service_interest)
    assert len(profile.traits) <= MAX_TRAIT_KEYS
    assert all(len(key) <= MAX_TRAIT_KEY_CHARS for key in profile.traits)
    sessions = [*state.closed_sessions, *([state.current_session] if state.current_session else [])]
    for session in sessions:
        for text in (session.entry_page, session.exit_page, session.utm_source, session.campaign_key):
            assert text is None or len(text) <= MAX_PROFILE_TEXT
        assert all(len(t.page_path or "") <= MAX_PROFILE_TEXT for t in session.touchpoints)
    packed = pack_profile("a:v1", state, {"shardId-000000000000": "99999"})
    assert len(packed) < DYNAMODB_ITEM_LIMIT / 10


def test_the_least_viewed_service_makes_room_and_ties_go_by_name() -> None:
    ports, visitors = _ports()
    stream = Stream()
    views = [f"s{i:02d}" for i in range(MAX_SERVICES_OF_INTEREST)] + ["s00", "s01"]  # s00, s01 viewed twice
    events = [
        event(
            "v1", kind="track", name="Service Viewed", at=T0 + timedelta(seconds=i), properties={"service": s}
        )
        for i, s in enumerate([*views, "new"])
    ]
    process_batch(stream.records(*events), ports)
    interest = visitors.profiles["a:v1"].state.profile.service_interest
    assert len(interest) == MAX_SERVICES_OF_INTEREST
    assert interest["new"] == 1 and interest["s00"] == 2 and interest["s01"] == 2
    assert f"s{MAX_SERVICES_OF_INTEREST - 1:02d}" not in interest, (
        "of the services seen once, the last by name"
    )
