"""A re-send or a replay after a visitor's writes ran out of retries is counted once everywhere.

Enrich writes the lake, then the counters, then the visitors. When a visitor's write keeps failing
until Lambda gives the batch up, its events are in the lake and counted but in no profile; the
profile's window of recent messageIds cannot recognise them. These tests give up on such batches
(no redelivery) and then re-send the same messages (new stream records, as a client retry or a
second ingest request makes) and/or replay the original records, in every order.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviva.contracts.events import CollectedEvent
from reviva.enrich.service import EnrichPorts, process_batch
from reviva.enrich.stream_records import StreamRecord
from reviva_dev.fakes.enrich import (
    MemoryLake,
    MemoryVisitors,
    memory_enrich_ports,
)
from tests.enrich.builders import GOOGLEBOT_UA, T0, Stream, browse, event

_ports = memory_enrich_ports


def _give_up(
    records: list[StreamRecord], ports: EnrichPorts, failing: set[str], visitors: MemoryVisitors
) -> None:
    """Process once with `failing` visitors' writes failing, and never redeliver (retries exhausted)."""
    visitors.fail_keys = set(failing)
    with contextlib.suppress(RuntimeError):  # a whole-batch failure, given up on too
        process_batch(records, ports)
    visitors.fail_keys = set()


def _page_views(visitors: MemoryVisitors) -> dict[str, int]:
    return {key: stored.state.profile.total_page_views for key, stored in visitors.profiles.items()}


def _lake_copies(lake: MemoryLake) -> Counter[str]:
    return Counter(row.message_id for row in lake.rows)


def test_a_resend_after_a_given_up_visitor_write_is_one_lake_row_and_one_count() -> None:
    ports, visitors, lake, counters = _ports()
    stream = Stream()
    _give_up(stream.records(*browse("v1", 2), *browse("v2", 3)), ports, {"a:v2"}, visitors)
    assert _page_views(visitors) == {"a:v1": 2}
    assert len(lake.rows) == 5 and counters.counts["page"] == 5
    assert lake.unapplied_by_shard, "the failure is noted"

    outcome = process_batch(stream.records(*browse("v2", 3)), ports)  # the client re-sends v2's messages

    assert outcome.failed_sequence_numbers == []
    assert outcome.stats["unapplied_applied"] == 3
    assert _page_views(visitors) == {"a:v1": 2, "a:v2": 3}
    assert max(_lake_copies(lake).values()) == 1 and len(lake.rows) == 5
    assert counters.counts["page"] == 5
    assert lake.unapplied_by_shard == {}, "the note is gone once the profile holds the messages"


def test_a_replay_then_a_resend_after_a_given_up_write_counts_once() -> None:
    ports, visitors, lake, counters = _ports()
    stream = Stream()
    records = stream.records(*browse("v1", 2), *browse("v2", 3))
    _give_up(records, ports, {"a:v2"}, visitors)
    process_batch(records, ports)  # `reviva replay-failed`: the same records, read back from the stream
    process_batch(stream.records(*browse("v2", 3)), ports)  # and a client re-send as well
    assert _page_views(visitors) == {"a:v1": 2, "a:v2": 3}
    assert len(lake.rows) == 5 and counters.counts["page"] == 5
    assert lake.unapplied_by_shard == {}


def test_a_failed_counter_commit_given_up_leaves_the_resend_to_be_counted_once() -> None:
    ports, visitors, lake, counters = _ports()
    stream = Stream()
    # v1 carries the counters: its transaction failing fails the whole batch after the lake commit.
    _give_up(stream.records(*browse("v1", 2), *browse("v2", 3)), ports, {"a:v1"}, visitors)
    assert len(lake.rows) == 5 and counters.counts["page"] == 0 and _page_views(visitors) == {}

    process_batch(stream.records(*browse("v1", 2), *browse("v2", 3)), ports)

    assert _page_views(visitors) == {"a:v1": 2, "a:v2": 3}
    assert len(lake.rows) == 5, "no second lake row"
    assert counters.counts["page"] == 5, "counted once, now"
    assert lake.unapplied_by_shard == {}


def test_a_visitor_failing_again_on_the_resend_stays_noted() -> None:
    ports, visitors, lake, counters = _ports()
    stream = Stream()
    _give_up(stream.records(*browse("v1", 1), *browse("v2", 2)), ports, {"a:v2"}, visitors)
    _give_up(stream.records(*browse("v1", 1, start=1), *browse("v2", 2)), ports, {"a:v2"}, visitors)
    process_batch(stream.records(*browse("v2", 2)), ports)
    assert _page_views(visitors) == {"a:v1": 2, "a:v2": 2}
    assert len(lake.rows) == 4 and counters.counts["page"] == 4


def test_ordinary_batches_and_duplicates_write_no_note() -> None:
    ports, visitors, lake, _ = _ports()
    stream = Stream()
    process_batch(stream.records(*browse("v1", 3)), ports)
    process_batch(stream.records(*browse("v1", 3)), ports)  # a re-send the profile's window catches
    retry = stream.records(*browse("v1", 2, start=3))
    visitors.fail_keys = {"a:v1"}
    with pytest.raises(RuntimeError):
        process_batch(retry, ports)  # the write carrying the counters fails: noted as in the lake only
    visitors.fail_keys = set()
    process_batch(retry, ports)  # Lambda's redelivery succeeds: the note is removed
    assert lake.unapplied_writes == 2
    assert lake.unapplied_by_shard == {}
    assert _page_views(visitors) == {"a:v1": 5} and len(lake.rows) == 5


# A model of what can happen to deliveries of a few visitors' messages: each delivery is either
# processed normally or given up on with some visitors' writes failing; deliveries may be re-sends
# of earlier messages (new records) or replays of earlier records. Whatever the history, once every
# message has finally been delivered without failures, each is in the lake once, counted once and
# applied to its profile once.
VISITORS = ("v1", "v2", "v3")
MESSAGES = {
    name: [
        event(name, at=T0 + timedelta(minutes=i), path=f"/p{i}", message_id=f"{name}-{i}") for i in range(6)
    ]
    for name in VISITORS
}

delivery = st.tuples(
    st.sampled_from(("send", "replay")),
    st.lists(st.tuples(st.sampled_from(VISITORS), st.integers(0, 5)), min_size=1, max_size=8),
    st.sets(st.sampled_from(VISITORS)),
)


@settings(max_examples=150)
@given(history=st.lists(delivery, max_size=8))
def test_any_history_of_failures_resends_and_replays_ends_exact(
    history: list[tuple[str, list[tuple[str, int]], set[str]]],
) -> None:
    ports, visitors, lake, counters = _ports()
    stream = Stream()
    sent: list[list[StreamRecord]] = []
    for kind, picks, failing in history:
        if kind == "replay" and sent:
            records = sent[len(picks) % len(sent)]
        else:
            events: list[CollectedEvent] = [MESSAGES[name][i] for name, i in picks]
            records = stream.records(*events)
            sent.append(records)
        _give_up(records, ports, {f"a:{name}" for name in failing}, visitors)
    # Finally every message is sent once more (in order per visitor) and nothing fails.
    process_batch(stream.records(*(m for name in VISITORS for m in MESSAGES[name])), ports)

    copies = _lake_copies(lake)
    assert set(copies) == {m.message_id for name in VISITORS for m in MESSAGES[name]}
    assert max(copies.values()) == 1
    assert counters.counts["page"] == len(copies)
    applied = _page_views(visitors)
    assert applied == {f"a:{name}": len(MESSAGES[name]) for name in VISITORS}
    assert lake.unapplied_by_shard == {}


@pytest.mark.parametrize("failing", [{"a:v2"}, {"a:v1"}])
def test_a_bot_beside_a_given_up_visitor_is_neither_noted_nor_rewritten(failing: set[str]) -> None:
    ports, visitors, lake, counters = _ports()
    stream = Stream()
    bot = event("crawler", at=T0, path="/", message_id="bot-1", user_agent=GOOGLEBOT_UA)
    _give_up(stream.records(*browse("v1", 1), bot, *browse("v2", 1)), ports, failing, visitors)
    process_batch(stream.records(*browse("v1", 1), *browse("v2", 1)), ports)
    assert _lake_copies(lake) == {"v1-0": 1, "bot-1": 1, "v2-0": 1}
    assert counters.counts["page"] == 2
    assert _page_views(visitors) == {"a:v1": 1, "a:v2": 1}
