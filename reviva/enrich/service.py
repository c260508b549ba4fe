"""The enrich stage: one Kinesis batch in, profiles, sessions, journeys, counters and lake rows out.

Effect-exactly-once rests on three watermarks and one order of writes:

1. Everything is computed first, from the stored state, deterministically (session ids come from
   event ids, times from event timestamps), so a retry recomputes exactly what an earlier attempt
   did.
2. The lake is written first, then the live counters: each in one atomic commit that also moves a
   per-shard watermark, and each skips records at or below its own watermark. The counters ride in
   the first visitor's transaction (they cost no write request of their own) or, in a batch with
   no visitor to write, in a transaction of their own.
3. Visitors are written last, one transaction each, moving a per-visitor, per-shard watermark and
   the visitor's window of recent messageIds (client retries of the same message).

So a visitor's events are never applied before they are in the lake and counted, and a redelivered
record is recognised at every store. A visitor whose transaction fails has its records reported as
batch item failures; Lambda redelivers from the lowest, and everything already written is skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from aws_lambda_powertools import Logger

from reviva.enrich.dedupe import RecentMessageIds
from reviva.enrich.event_facts import EventFacts, describe_event
from reviva.enrich.journey_rules import JourneyRules
from reviva.enrich.lake_rows import build_lake_row
from reviva.enrich.live_counters import LiveCounterBatch
from reviva.enrich.ports import (
    ConcurrentUpdate,
    CounterCommit,
    CounterRepository,
    LakeSink,
    PoisonItem,
    PoisonSink,
    StoredVisitor,
    VisitorCommit,
    VisitorRepository,
)
from reviva.enrich.stream_records import PoisonRecord, StreamRecord, decode_record
from reviva.enrich.visitor_state import VisitorState
from reviva.enrich.visitor_update import AppliedEvent, apply_event
from reviva.events import CollectedEvent, EnrichedEvent

logger = Logger(child=True)

MAX_TRANSACTION_ITEMS = 100


@dataclass
class EnrichPorts:
    """The adapters one batch writes through."""

    visitors: VisitorRepository
    counters: CounterRepository
    lake: LakeSink
    poison: PoisonSink
    rules: JourneyRules
    site_hosts: frozenset[str] = frozenset()


@dataclass
class BatchOutcome:
    """What happened to a batch: failures to report and counts for metrics."""

    failed_sequence_numbers: list[str] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)


@dataclass
class _WorkingVisitor:
    key: str
    stored: StoredVisitor | None
    state: VisitorState
    recent: RecentMessageIds
    applied_up_to: int  # the shard's watermark as stored; records at or below it are done
    sequences: list[str] = field(default_factory=list)
    last_sequence: str | None = None
    dirty: bool = False
    links: list[tuple[str, str, str]] = field(default_factory=list)


def _working_visitor(key: str, stored: StoredVisitor | None, shard_id: str) -> _WorkingVisitor:
    if stored is None:
        return _WorkingVisitor(key, None, VisitorState.new(key), RecentMessageIds(), -1)
    # The repository hands over a freshly read state: this batch owns it and may change it in place.
    state = stored.state
    state.closed_sessions = []
    mark = stored.watermarks.get(shard_id)
    return _WorkingVisitor(key, stored, state, RecentMessageIds(stored.recent_ids), int(mark) if mark else -1)


def _as_int(sequence: str | None) -> int:
    return int(sequence) if sequence else -1


def _decode_all(
    records: Sequence[StreamRecord], outcome: BatchOutcome
) -> tuple[list[tuple[StreamRecord, CollectedEvent]], list[PoisonItem]]:
    decoded: list[tuple[StreamRecord, CollectedEvent]] = []
    poison: list[PoisonItem] = []
    for record in records:
        try:
            decoded.append((record, decode_record(record)))
        except PoisonRecord as exc:
            outcome.stats["poison"] += 1
            poison.append(
                PoisonItem(
                    record.shard_id, record.sequence_number, record.partition_key, str(exc), record.data
                )
            )
    return decoded, poison


def process_batch(records: Sequence[StreamRecord], ports: EnrichPorts) -> BatchOutcome:
    """Enrich one batch of records from one shard; return the records Lambda must redeliver."""
    outcome = BatchOutcome()
    if not records:
        return outcome
    shard_id = records[0].shard_id
    last_sequence = records[-1].sequence_number
    decoded, poison = _decode_all(records, outcome)

    facts_of: list[EventFacts] = [describe_event(event, ports.site_hosts) for _, event in decoded]
    human_keys = sorted(
        {event.visitor_key for (_, event), facts in zip(decoded, facts_of, strict=True) if not facts.is_bot}
    )
    stored = ports.visitors.load(human_keys) if human_keys else {}
    visitors = {key: _working_visitor(key, stored.get(key), shard_id) for key in human_keys}
    lake_mark = _as_int(ports.lake.watermark(shard_id))
    counter_mark = _as_int(ports.counters.watermark(shard_id))

    rows: list[EnrichedEvent] = []
    counters = LiveCounterBatch()
    for (record, event), facts in zip(decoded, facts_of, strict=True):
        sequence = record.sequence
        if facts.is_bot:
            applied = AppliedEvent()
            outcome.stats["bot"] += 1
        else:
            visitor = visitors[event.visitor_key]
            visitor.sequences.append(record.sequence_number)
            visitor.last_sequence = record.sequence_number
            if sequence <= visitor.applied_up_to:
                outcome.stats["already_applied"] += 1
                continue
            if event.message_id in visitor.recent:
                outcome.stats["duplicate"] += 1
                continue
            applied = apply_event(visitor.state, event, facts, ports.rules)
            visitor.recent.add(event.message_id)
            visitor.links.extend(applied.identity_links)
            visitor.dirty = True
        outcome.stats["new"] += 1
        if sequence > lake_mark:
            rows.append(build_lake_row(record, event, facts, applied))
        if sequence > counter_mark:
            counters.add(event, facts.is_bot)

    # Failures from here to the first visitor write are whole-batch failures (raised): every store
    # below skips what it already has, so redelivering the whole batch is safe.
    if poison:
        ports.poison.record_poison(poison)
    if rows:
        outcome.stats["lake_rows"] += ports.lake.append(shard_id, rows, last_sequence)
    dirty = [v for v in visitors.values() if v.dirty and v.last_sequence is not None]
    if counters:
        expected = None if counter_mark < 0 else str(counter_mark)
        pending = CounterCommit(shard_id, expected, last_sequence, counters.minutes)
        first = _commit_for(dirty[0], shard_id) if dirty else None
        if first is not None and _fits_one_transaction(first, pending):
            # The counters ride in the first visitor's transaction: no write request of their own,
            # still committed before any other visitor. If it fails, the whole batch is redelivered.
            first.counters = pending
            ports.visitors.commit(first)
            outcome.stats["visitor_writes"] += 1
            dirty = dirty[1:]
        else:
            ports.counters.commit(pending)
            outcome.stats["counter_writes"] += 1

    for visitor in dirty:
        try:
            ports.visitors.commit(_commit_for(visitor, shard_id))
            outcome.stats["visitor_writes"] += 1
        except ConcurrentUpdate:
            logger.warning("visitor changed during the batch; redelivering", extra={"visitor": visitor.key})
            outcome.failed_sequence_numbers.extend(visitor.sequences)
            outcome.stats["visitor_conflicts"] += 1
        except Exception:
            logger.exception("visitor write failed; redelivering", extra={"visitor": visitor.key})
            outcome.failed_sequence_numbers.extend(visitor.sequences)
            outcome.stats["visitor_failures"] += 1
    outcome.failed_sequence_numbers.sort(key=int)
    return outcome


def _fits_one_transaction(commit: VisitorCommit, counters: CounterCommit) -> bool:
    """DynamoDB transactions hold 100 items: profile, sessions, link pairs, watermark, minutes."""
    items = 1 + len(commit.sessions) + 2 * len(commit.identity_links) + 1 + len(counters.minutes)
    return items <= MAX_TRANSACTION_ITEMS


def _commit_for(visitor: _WorkingVisitor, shard_id: str) -> VisitorCommit:
    assert visitor.last_sequence is not None
    watermarks = dict(visitor.stored.watermarks) if visitor.stored else {}
    watermarks[shard_id] = visitor.last_sequence
    state = visitor.state
    sessions = [*state.closed_sessions]
    if state.current_session is not None:
        sessions.append(state.current_session)
    return VisitorCommit(
        visitor_key=visitor.key,
        expected_version=visitor.stored.version if visitor.stored else 0,
        state=state,
        watermarks=watermarks,
        recent_ids=visitor.recent.pack(),
        sessions=sessions,
        identity_links=visitor.links,
    )
