"""The profile item's stored form: it round-trips exactly, stays under 1 KB for a typical visitor, and
items written in the previous format still load and are carried over exactly once."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from reviva.adapters.dynamodb import visitor_repository
from reviva.adapters.dynamodb.visitor_repository import (
    DynamoVisitorRepository,
    pack_profile,
    stored_visitor,
    unpack_profile,
)
from reviva.aws_clients import client
from reviva.enrich.dedupe import RecentMessageIds
from reviva.enrich.journey_rules import load_journey_rules
from reviva.enrich.ports import ConcurrentUpdate, VisitorCommit
from reviva.enrich.service import EnrichPorts, process_batch
from reviva.enrich.visitor_state import Profile, VisitorState
from reviva.settings import Settings
from reviva_dev.fakes.enrich import MemoryCounters, MemoryLake, MemoryPoison, MemoryVisitors
from tests.adapters.dynamodb.dynamo_ports import dynamo_ports
from tests.enrich.builders import T0, Stream, event

HERE = Path(__file__).parent
# Written by the previous code (format 1) on moto: `version`, zlib JSON `state`, `watermarks` map,
# `recent_ids` of 6-byte digests.
LEGACY = json.loads((HERE / "legacy_visitor_items.json").read_text())
# Written by this code's first release of format 2: what it reads must never change.
FORMAT_2 = json.loads((HERE / "profile_item_format2.json").read_text())
LEGACY_KEY = "a:legacy-visitor"
# A Kinesis sequence number as AWS hands them out (moto's are small counters).
AWS_SEQUENCE = "49590338271490256608559692538361581995921575989136588898"


def _wire(value: dict[str, Any]) -> dict[str, Any]:
    """A fixture's attribute value in boto3's wire form (binary values are stored as base64)."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "M":
        return {"M": {name: _wire(v) for name, v in inner.items()}}
    return {kind: inner}


def _item(fixture: dict[str, Any]) -> dict[str, Any]:
    return {name: _wire(value) for name, value in fixture["item"].items()}


def dynamodb_item_size(item: dict[str, Any]) -> int:
    """Bytes of a wire-format item by DynamoDB's documented rule (names + values)."""

    def value_size(value: dict[str, Any]) -> int:
        ((kind, inner),) = value.items()
        if kind == "S":
            return len(inner.encode())
        if kind == "B":
            return len(inner)
        if kind == "N":
            digits = inner.lstrip("-").replace(".", "").strip("0") or "0"
            return (len(digits) + 1) // 2 + 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in inner.items())
        raise AssertionError(f"no size rule for {kind} in this test")

    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def _raw_profile(settings: Settings, key: str) -> dict[str, Any]:
    response = client("dynamodb", settings).get_item(
        TableName=settings.visitors_table, Key={"pk": {"S": key}, "sk": {"S": "PROFILE"}}
    )
    item: dict[str, Any] = response["Item"]
    return item


def _put_legacy(settings: Settings) -> None:
    dynamodb = client("dynamodb", settings)
    dynamodb.put_item(TableName=settings.visitors_table, Item=_item(LEGACY))
    session = {name: _wire(value) for name, value in LEGACY["session_item"].items()}
    dynamodb.put_item(TableName=settings.visitors_table, Item=session)


def test_a_profile_written_in_the_previous_format_loads_as_it_was(settings: Settings) -> None:
    _put_legacy(settings)
    expected = LEGACY["expected"]
    repository = DynamoVisitorRepository(settings)
    stored = repository.load([LEGACY_KEY])[LEGACY_KEY]
    assert stored.state.model_dump(mode="json") == expected["state"]
    assert stored.version == expected["version"] == 3
    assert stored.watermarks == expected["watermarks"]
    recent = RecentMessageIds(stored.recent_ids)
    assert len(recent) == len(expected["applied_message_ids"])
    assert all(message_id in recent for message_id in expected["applied_message_ids"])
    read, sessions = repository.read_visitor(LEGACY_KEY)
    assert read is not None and read.state == stored.state
    assert [s.model_dump(mode="json") for s in sessions] == [
        expected["closed_session"],
        expected["state"]["current_session"],
    ]


def test_the_next_batch_carries_a_previous_format_profile_over_exactly_once(settings: Settings) -> None:
    _put_legacy(settings)
    stream = Stream("shardId-000000000000")
    stream.next_sequence = 105  # the shard's watermark on the stored item
    redelivered = stream.records(event("legacy-visitor", at=T0, message_id="legacy-m-000"))
    stream.next_sequence = 106
    retried = event("legacy-visitor", kind="track", name="Booking Submitted", message_id="legacy-m-006")
    new = event("legacy-visitor", at=T0 + timedelta(hours=3, minutes=5), path="/services", message_id="new-1")
    outcome = process_batch([*redelivered, *stream.records(retried, new)], dynamo_ports(settings))
    assert outcome.failed_sequence_numbers == []
    assert (outcome.stats["already_applied"], outcome.stats["duplicate"], outcome.stats["new"]) == (1, 1, 1)

    item = _raw_profile(settings, LEGACY_KEY)
    assert set(item) == {"pk", "sk", "v", "s", "r", "expires_at"}  # rewritten in format 2
    stored = stored_visitor(item)
    assert stored.version == 4
    assert stored.watermarks == {"shardId-000000000000": "107", "shardId-000000000001": "100"}
    assert stored.state.profile.total_events == LEGACY["expected"]["state"]["profile"]["total_events"] + 1
    assert stored.state.profile.conversions == 1  # the retried conversion did not count twice
    assert "legacy-m-003" in RecentMessageIds(stored.recent_ids)  # the converted window carried over


def test_a_stale_write_over_a_previous_format_profile_is_a_concurrent_update(settings: Settings) -> None:
    _put_legacy(settings)
    repository = DynamoVisitorRepository(settings)
    stored = repository.load([LEGACY_KEY])[LEGACY_KEY]
    stale = VisitorCommit(LEGACY_KEY, stored.version - 1, stored.state, stored.watermarks, b"", [], [])
    with pytest.raises(ConcurrentUpdate):
        repository.commit(stale)
    repository.commit(VisitorCommit(LEGACY_KEY, stored.version, stored.state, stored.watermarks, b"", [], []))
    with pytest.raises(ConcurrentUpdate):  # the version moved, now in `v`
        repository.commit(VisitorCommit(LEGACY_KEY, stored.version, stored.state, {}, b"", [], []))
    assert repository.load([LEGACY_KEY])[LEGACY_KEY].version == stored.version + 1


def test_the_oldest_profiles_with_json_in_data_still_load(settings: Settings) -> None:
    state = VisitorState.model_validate(LEGACY["expected"]["state"])
    item = {
        "pk": {"S": LEGACY_KEY},
        "sk": {"S": "PROFILE"},
        "version": {"N": "2"},
        "data": {"S": state.model_dump_json()},
    }
    client("dynamodb", settings).put_item(TableName=settings.visitors_table, Item=item)
    stored = DynamoVisitorRepository(settings).load([LEGACY_KEY])[LEGACY_KEY]
    assert stored.state == state
    assert (stored.version, stored.watermarks, stored.recent_ids) == (2, {}, None)


def test_the_first_release_of_format_2_stays_readable() -> None:
    # The preset dictionary is part of the format: changing it would make every stored item unreadable.
    dictionary = visitor_repository._DICTIONARY_V1
    assert hashlib.sha256(dictionary).hexdigest() == FORMAT_2["dictionary_sha256"]
    stored = stored_visitor(_item(FORMAT_2))
    assert stored.state.model_dump(mode="json") == FORMAT_2["expected"]["state"]
    assert stored.watermarks == FORMAT_2["expected"]["watermarks"]
    assert stored.version == FORMAT_2["expected"]["version"]


def _states_from_a_rich_stream() -> list[VisitorState]:
    counters = MemoryCounters()
    visitors = MemoryVisitors(counters)
    ports = EnrichPorts(visitors, counters, MemoryLake(), MemoryPoison(), load_journey_rules(None))
    stream = Stream()
    minute = timedelta(minutes=1)
    process_batch(
        stream.records(
            event(
                "a",
                at=T0,
                path="/services/iphone-screen-repair",
                url_query="?utm_source=google&utm_medium=cpc",
            ),
            event("a", kind="track", name="Pricing Viewed", at=T0 + minute, path="/pricing"),
            event("a", kind="identify", at=T0 + 2 * minute, user_id="u_abc", traits={"plan": "x", "n": 3}),
            event("a", at=T0 + timedelta(hours=2), path="/book"),
            event(
                "a",
                kind="track",
                name="Booking Submitted",
                at=T0 + timedelta(hours=2, minutes=3),
                properties={"revenue": 120.25},
            ),
            event("a", at=T0 - timedelta(hours=5), path="/contact"),  # late: a session of its own
            event("", kind="identify", user_id="u_only", at=T0),  # a visitor keyed by user id
            event("b", at=T0, path="/", referrer="https://www.bing.com/search?q=repair"),
        ),
        ports,
    )
    return [stored.state for stored in visitors.profiles.values()]


def test_packing_round_trips_every_field_exactly() -> None:
    states = _states_from_a_rich_stream()
    assert len(states) == 3
    for state in states:
        key = state.profile.fingerprint
        marks = {"shardId-000000000000": AWS_SEQUENCE, "shard-b": "7"}
        restored, watermarks = unpack_profile(key, pack_profile(key, state, marks))
        assert restored == state.model_copy(update={"closed_sessions": []})
        assert watermarks == marks


def test_fields_that_differ_from_their_derivation_are_stored_as_they_are() -> None:
    # Enrich never writes these, but the format must not silently replace a value it did not derive.
    odd = Profile(
        fingerprint="a:someone-else",
        anonymous_id=None,
        last_seen_at=T0,
        last_updated=None,
        total_sessions=3,
        total_time_spent=100,
        avg_session_duration=12.5,
        bounce_rate=0.5,
    )
    state = VisitorState(profile=odd)
    restored, _ = unpack_profile("a:visitor", pack_profile("a:visitor", state, {}))
    assert restored == state
    user_keyed = VisitorState(profile=Profile(fingerprint="u:x", anonymous_id="anon", last_updated=T0))
    restored, _ = unpack_profile("u:x", pack_profile("u:x", user_keyed, {}))
    assert restored == user_keyed


def test_a_busy_visitors_profile_stays_under_one_write_unit(settings: Settings) -> None:
    # Two visits of a visitor who books: page views, the tracker's automatic events, journey
    # touchpoints, an identify with traits, and AWS-sized sequence numbers on two shards.
    stream = Stream("shardId-000000000002")
    stream.next_sequence = int(AWS_SEQUENCE)
    names = ("Page Performance", "Web Vitals", "Scroll Depth Reached", "Element Clicked", "Exit Intent")
    paths = ("/", "/services/iphone-screen-repair", "/pricing/phones", "/contact", "/book", "/book/confirm")
    ports = dynamo_ports(settings)
    second = timedelta(seconds=7)
    for visit, start in enumerate((T0, T0 + timedelta(days=2))):
        events = []
        for p, path in enumerate(paths):
            at = start + p * 10 * second
            events.append(event("busy", at=at, path=path))
            events.extend(event("busy", kind="track", name=n, at=at + second, path=path) for n in names)
        events.append(event("busy", kind="track", name="Booking Submitted", at=at + second, path=path))
        if visit == 0:
            events.append(
                event(
                    "busy",
                    kind="identify",
                    user_id="u_" + "5" * 32,
                    at=start,
                    traits={"email": "h_" + "7" * 32},
                )
            )
        for batch in range(0, len(events), 9):
            assert not process_batch(
                stream.records(*events[batch : batch + 9]), ports
            ).failed_sequence_numbers
    item = _raw_profile(settings, "a:busy")
    stored = stored_visitor(item)
    assert stored.state.profile.total_events == 2 * len(paths) * (1 + len(names)) + 3
    assert len(RecentMessageIds(stored.recent_ids)) == stored.state.profile.total_events
    assert len(stored.state.current_session.touchpoints if stored.state.current_session else []) >= 5
    assert dynamodb_item_size(item) < 1024
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][settings.aws_region]
    moto_item = backend.get_item(settings.visitors_table, {"pk": {"S": "a:busy"}, "sk": {"S": "PROFILE"}})
    assert moto_item is not None and moto_item.size() < 1024


def test_a_closed_session_is_stored_packed_and_read_back_whole(settings: Settings) -> None:
    ports = dynamo_ports(settings)
    stream = Stream()
    minute = timedelta(minutes=1)
    paths = ["/", "/services/iphone-screen-repair", "/pricing/phones", "/contact", "/book", "/book/confirm"]
    visit = [event("v", at=T0 + i * minute, path=path) for i, path in enumerate(paths * 2)]
    visit.append(
        event("v", kind="track", name="Booking Submitted", at=T0 + 12 * minute, path="/book/confirm")
    )
    process_batch(stream.records(*visit), ports)
    process_batch(stream.records(event("v", at=T0 + timedelta(hours=2))), ports)  # closes the visit
    repository = DynamoVisitorRepository(settings)
    _, sessions = repository.read_visitor("a:v")
    closed = sessions[0]
    assert (closed.page_views, closed.converted, len(closed.touchpoints)) == (12, True, 13)
    response = client("dynamodb", settings).get_item(
        TableName=settings.visitors_table,
        Key={"pk": {"S": "a:v"}, "sk": {"S": f"SESSION#{closed.session_id}"}},
    )
    item = response["Item"]
    assert set(item) == {"pk", "sk", "s", "expires_at"}
    assert dynamodb_item_size(item) < 1024
    assert len(closed.model_dump_json(exclude_defaults=True)) > 2048  # what `data` held before
