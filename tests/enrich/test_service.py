"""The enrich service's exactly-once behaviour, on in-memory adapters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reviva.enrich.journey_rules import load_journey_rules
from reviva.enrich.service import EnrichPorts, process_batch
from reviva.enrich.stream_records import StreamRecord
from reviva_dev.fakes.enrich import MemoryCounters, MemoryLake, MemoryPoison, MemoryVisitors
from tests.enrich.builders import GOOGLEBOT_UA, T0, Stream, event


@pytest.fixture
def ports() -> EnrichPorts:
    counters = MemoryCounters()
    return EnrichPorts(
        visitors=MemoryVisitors(counters),
        counters=counters,
        lake=MemoryLake(),
        poison=MemoryPoison(),
        rules=load_journey_rules(None),
    )


def _visitors(ports: EnrichPorts) -> MemoryVisitors:
    assert isinstance(ports.visitors, MemoryVisitors)
    return ports.visitors


def _lake(ports: EnrichPorts) -> MemoryLake:
    assert isinstance(ports.lake, MemoryLake)
    return ports.lake


def _counters(ports: EnrichPorts) -> MemoryCounters:
    assert isinstance(ports.counters, MemoryCounters)
    return ports.counters


def _browse(anon: str, pages: int) -> list:
    return [event(anon, at=T0 + timedelta(minutes=i), path=f"/services/p{i}") for i in range(pages)]


def test_a_batch_updates_profile_sessions_counters_and_lake(ports: EnrichPorts) -> None:
    stream = Stream()
    outcome = process_batch(stream.records(*_browse("v1", 3), *_browse("v2", 2)), ports)
    assert outcome.failed_sequence_numbers == []
    profiles = _visitors(ports).profiles
    assert profiles["a:v1"].state.profile.total_page_views == 3
    assert profiles["a:v2"].state.profile.total_page_views == 2
    assert profiles["a:v1"].state.profile.total_sessions == 1
    assert len(_lake(ports).rows) == 5
    assert _counters(ports).counts["page"] == 5
    # One write per visitor, not per event.
    assert _visitors(ports).commits == 2


def test_redelivered_batch_changes_nothing(ports: EnrichPorts) -> None:
    records = Stream().records(*_browse("v1", 4))
    process_batch(records, ports)
    before = _visitors(ports).profiles["a:v1"].state.model_dump()
    outcome = process_batch(records, ports)
    assert outcome.stats["already_applied"] == 4
    assert _visitors(ports).profiles["a:v1"].state.model_dump() == before
    assert len(_lake(ports).rows) == 4
    assert _counters(ports).counts["page"] == 4


def test_duplicate_message_id_counts_once(ports: EnrichPorts) -> None:
    first = event("v1", path="/pricing", message_id="m-1")
    retry = event("v1", at=T0 + timedelta(seconds=5), path="/pricing", message_id="m-1")
    outcome = process_batch(Stream().records(first, retry), ports)
    assert outcome.stats["duplicate"] == 1
    assert _visitors(ports).profiles["a:v1"].state.profile.total_page_views == 1
    assert [r.message_id for r in _lake(ports).rows] == ["m-1"]
    assert _counters(ports).counts["page"] == 1


def test_duplicate_in_a_later_batch_counts_once(ports: EnrichPorts) -> None:
    stream = Stream()
    process_batch(stream.records(event("v1", message_id="m-1")), ports)
    process_batch(stream.records(event("v1", message_id="m-1")), ports)
    assert _visitors(ports).profiles["a:v1"].state.profile.total_page_views == 1
    assert len(_lake(ports).rows) == 1


def test_crash_mid_batch_then_redelivery_from_lowest_failure(ports: EnrichPorts) -> None:
    stream = Stream()
    records = stream.records(*_browse("v1-ok", 2), *_browse("v2-broken", 2), *_browse("v3-ok", 2))
    _visitors(ports).fail_keys.add("a:v2-broken")
    outcome = process_batch(records, ports)
    assert outcome.failed_sequence_numbers == [records[2].sequence_number, records[3].sequence_number]
    # Lambda redelivers from the lowest failed record onwards.
    _visitors(ports).fail_keys.clear()
    lowest = outcome.failed_sequence_numbers[0]
    redelivered = [r for r in records if int(r.sequence_number) >= int(lowest)]
    again = process_batch(redelivered, ports)
    assert again.failed_sequence_numbers == []
    profiles = _visitors(ports).profiles
    assert {k: p.state.profile.total_page_views for k, p in profiles.items()} == {
        "a:v1-ok": 2,
        "a:v2-broken": 2,
        "a:v3-ok": 2,
    }
    assert len(_lake(ports).rows) == 6
    assert _counters(ports).counts["page"] == 6


def test_counters_ride_in_the_first_visitor_write(ports: EnrichPorts) -> None:
    process_batch(Stream().records(*_browse("v1", 2), *_browse("v2", 2)), ports)
    assert _visitors(ports).commits == 2
    assert _counters(ports).direct_commits == 0
    assert _counters(ports).counts["page"] == 4


def test_failure_of_the_write_carrying_counters_fails_the_batch(ports: EnrichPorts) -> None:
    records = Stream().records(*_browse("v1", 2), *_browse("v2", 2))
    _visitors(ports).fail_keys.add("a:v1")
    with pytest.raises(RuntimeError):
        process_batch(records, ports)
    assert _counters(ports).counts["page"] == 0
    assert _visitors(ports).profiles == {}
    _visitors(ports).fail_keys.clear()
    process_batch(records, ports)
    assert _counters(ports).counts["page"] == 4
    assert {k: p.state.profile.total_page_views for k, p in _visitors(ports).profiles.items()} == {
        "a:v1": 2,
        "a:v2": 2,
    }


def test_a_failing_visitor_is_redelivered_without_recounting(ports: EnrichPorts) -> None:
    records = Stream().records(*_browse("v1", 2), *_browse("v2", 2))
    _visitors(ports).fail_keys.add("a:v2")
    outcome = process_batch(records, ports)
    # Counters (with v1) and lake are committed before the other visitors; only v2's records come back.
    assert outcome.failed_sequence_numbers == [r.sequence_number for r in records[2:]]
    assert _counters(ports).counts["page"] == 4
    assert set(_visitors(ports).profiles) == {"a:v1"}
    _visitors(ports).fail_keys.clear()
    again = process_batch(records, ports)  # Lambda redelivers from the lowest failed record
    assert again.failed_sequence_numbers == []
    assert _counters(ports).counts["page"] == 4
    assert len(_lake(ports).rows) == 4
    assert {k: p.state.profile.total_page_views for k, p in _visitors(ports).profiles.items()} == {
        "a:v1": 2,
        "a:v2": 2,
    }


def test_a_counter_failure_fails_the_whole_batch_before_any_visitor(ports: EnrichPorts) -> None:
    records = Stream().records(*_browse("v1", 2))
    _counters(ports).fail_next = 1
    with pytest.raises(RuntimeError):
        process_batch(records, ports)
    assert _visitors(ports).profiles == {}
    process_batch(records, ports)
    assert _counters(ports).counts["page"] == 2
    assert _visitors(ports).profiles["a:v1"].state.profile.total_page_views == 2


def test_bot_only_batches_commit_counters_on_their_own(ports: EnrichPorts) -> None:
    process_batch(Stream().records(event("crawler", user_agent=GOOGLEBOT_UA)), ports)
    assert _counters(ports).direct_commits == 1
    assert _counters(ports).counts["bot"] == 1


def test_lake_failure_fails_the_whole_batch_and_retry_is_exact(ports: EnrichPorts) -> None:
    records = Stream().records(*_browse("v1", 3))
    _lake(ports).fail_next = 1
    with pytest.raises(RuntimeError):
        process_batch(records, ports)
    assert _visitors(ports).profiles == {}
    process_batch(records, ports)
    assert _visitors(ports).profiles["a:v1"].state.profile.total_page_views == 3
    assert len(_lake(ports).rows) == 3


def test_counter_failure_after_lake_commit_is_retried_exactly(ports: EnrichPorts) -> None:
    records = Stream().records(*_browse("v1", 3))
    _counters(ports).fail_next = 1
    with pytest.raises(RuntimeError):
        process_batch(records, ports)
    assert len(_lake(ports).rows) == 3
    process_batch(records, ports)
    assert len(_lake(ports).rows) == 3
    assert _counters(ports).counts["page"] == 3
    assert _visitors(ports).profiles["a:v1"].state.profile.total_page_views == 3


def test_bisected_batches_equal_one_batch(ports: EnrichPorts) -> None:
    stream = Stream()
    events = [*_browse("v1", 3), *_browse("v2", 3)]
    records = stream.records(*events)
    # Lambda's bisect-on-error: the first half, then the second half, then the whole batch again.
    process_batch(records[:3], ports)
    process_batch(records[3:], ports)
    process_batch(records, ports)
    assert _visitors(ports).profiles["a:v1"].state.profile.total_page_views == 3
    assert _visitors(ports).profiles["a:v2"].state.profile.total_page_views == 3
    assert len(_lake(ports).rows) == 6
    assert _counters(ports).counts["page"] == 6


def test_poison_records_are_kept_and_do_not_block_the_shard(ports: EnrichPorts) -> None:
    stream = Stream()
    good = stream.records(event("v1"))
    poison = [
        StreamRecord(stream.shard_id, "900", "pk", b"{not json"),
        StreamRecord(stream.shard_id, "901", "pk", b""),
    ]
    outcome = process_batch([*good, *poison], ports)
    assert outcome.failed_sequence_numbers == []
    assert outcome.stats["poison"] == 2
    assert isinstance(ports.poison, MemoryPoison)
    assert [p.sequence_number for p in ports.poison.items] == ["900", "901"]
    assert all(p.reason for p in ports.poison.items)
    assert _visitors(ports).profiles["a:v1"].state.profile.total_page_views == 1


def test_bots_are_flagged_and_kept_out_of_visitor_metrics(ports: EnrichPorts) -> None:
    bot = [
        event("crawler", at=T0 + timedelta(seconds=i), path=f"/p{i}", user_agent=GOOGLEBOT_UA)
        for i in range(5)
    ]
    process_batch(Stream().records(*bot, event("human")), ports)
    assert "a:crawler" not in _visitors(ports).profiles
    assert _counters(ports).counts["bot"] == 5
    assert _counters(ports).counts["page"] == 1
    assert sum(r.is_bot for r in _lake(ports).rows) == 5


def test_conversion_revenue_and_journey(ports: EnrichPorts) -> None:
    events = [
        event("buyer", at=T0, path="/"),
        event("buyer", at=T0 + timedelta(minutes=1), path="/pricing"),
        event("buyer", kind="track", name="Booking Started", at=T0 + timedelta(minutes=3), path="/book"),
        event(
            "buyer",
            kind="track",
            name="Booking Submitted",
            at=T0 + timedelta(minutes=6),
            path="/book",
            properties={"revenue": 89.5, "service": "iphone-screen-repair"},
        ),
    ]
    process_batch(Stream().records(*events), ports)
    stored = _visitors(ports).profiles["a:buyer"]
    profile = stored.state.profile
    assert profile.conversions == 1
    assert profile.total_revenue == 89.5
    assert profile.journey_stage == "decision"
    assert profile.behavioral_traits["booking_submitted"] == 1
    assert "iphone-screen-repair" in profile.preferred_services
    session = stored.state.current_session
    assert session is not None and session.converted
    touchpoints = session.touchpoints
    assert [t.sequence_number for t in touchpoints] == list(range(1, len(touchpoints) + 1))
    assert touchpoints[-1].conversion_event
    assert touchpoints[0].time_spent == 60
    conversions = [r for r in _lake(ports).rows if r.is_conversion]
    assert len(conversions) == 1 and conversions[0].revenue == 89.5


def test_identify_links_anonymous_visitor_to_user(ports: EnrichPorts) -> None:
    identify = event("v1", kind="identify", user_id="u_abc", traits={"plan": "gold"})
    process_batch(Stream().records(event("v1"), identify), ports)
    assert ("a:v1", "u:u_abc") in _visitors(ports).links
    profile = _visitors(ports).profiles["a:v1"].state.profile
    assert profile.user_id == "u_abc"
    assert profile.traits == {"plan": "gold"}


class _Refuses:
    """Wraps one of the service's per-event steps so that it raises for one message id: a stand-in
    for any defect of enrich that a single event's data can trigger."""

    def __init__(self, step: object, message_id: str, error: Exception) -> None:
        self.step, self.message_id, self.error = step, message_id, error

    def __call__(self, *args: object, **kwargs: object) -> object:
        event = next(a for a in args if hasattr(a, "message_id"))
        result = self.step(*args, **kwargs)  # type: ignore[operator]
        if event.message_id == self.message_id:  # type: ignore[attr-defined]
            raise self.error  # after the step changed what it changes: a mid-way failure
        return result


@pytest.mark.parametrize("step", ["describe_event", "apply_event", "build_lake_row"])
def test_an_event_whose_data_breaks_a_step_is_rejected_alone_and_exactly_once(
    ports: EnrichPorts, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    import reviva.enrich.service as service

    stream = Stream()
    pages = [
        event("v1", at=T0 + timedelta(minutes=i), path=f"/services/p{i}", message_id=f"v1-{i}")
        for i in range(4)
    ]
    records = stream.records(*pages, event("v2", message_id="v2-0"))
    monkeypatch.setattr(service, step, _Refuses(getattr(service, step), "v1-2", ValueError("https://[x/")))

    outcome = process_batch(records, ports)

    assert outcome.failed_sequence_numbers == []
    assert outcome.stats["rejected_events"] == 1
    assert isinstance(ports.poison, MemoryPoison)
    [item] = ports.poison.items
    assert item.sequence_number == records[2].sequence_number and item.index == 0
    assert item.reason.startswith("event 0 of the record: enrich could not ") and "ValueError" in item.reason
    assert "[x/" not in item.reason  # an exception's text may quote the data: never in a reason
    assert b'"message_id":"v1-2"' in item.raw
    assert sorted(row.message_id for row in _lake(ports).rows) == ["v1-0", "v1-1", "v1-3", "v2-0"]
    profile = _visitors(ports).profiles["a:v1"]
    # Exactly the other three events, as if the bad one had never been sent.
    assert profile.state.profile.total_page_views == 3 and profile.state.profile.total_events == 3
    assert profile.watermarks[stream.shard_id] == records[3].sequence_number
    assert _counters(ports).counts["page"] == 4

    # Lambda redelivers the batch (another record failed, say): nothing is applied or stored twice.
    again = process_batch(records, ports)
    assert again.failed_sequence_numbers == []
    assert len(ports.poison.items) == 1
    assert len(_lake(ports).rows) == 4
    assert _visitors(ports).profiles["a:v1"].state.profile.total_page_views == 3
    assert _counters(ports).counts["page"] == 4


def test_several_rejected_events_of_one_visitor_leave_exactly_the_others(
    ports: EnrichPorts, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reviva.enrich.service as service

    apply_event = service.apply_event
    broken = {"v1-1", "v1-3", "v1-4"}

    def failing_apply(state, event, facts, rules):  # type: ignore[no-untyped-def]
        applied = apply_event(state, event, facts, rules)
        if event.message_id in broken:
            raise OverflowError("mid-way")
        return applied

    pages = [
        event("v1", at=T0 + timedelta(minutes=i), path=f"/services/p{i}", message_id=f"v1-{i}")
        for i in range(6)
    ]
    monkeypatch.setattr(service, "apply_event", failing_apply)
    outcome = process_batch(Stream().records(*pages), ports)

    assert outcome.stats["rejected_events"] == 3 and outcome.failed_sequence_numbers == []
    profile = _visitors(ports).profiles["a:v1"].state.profile
    assert profile.total_page_views == 3 and profile.total_events == 3
    assert sorted(profile.service_interest) == ["p0", "p2", "p5"]


def test_a_store_failure_still_fails_the_batch(ports: EnrichPorts) -> None:
    """Only data is rejected per event: an unavailable store is redelivered, never rejected."""
    _lake(ports).fail_next = 1
    with pytest.raises(RuntimeError, match="injected lake failure"):
        process_batch(Stream().records(event("v1")), ports)
    assert isinstance(ports.poison, MemoryPoison) and ports.poison.items == []
