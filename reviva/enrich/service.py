"""The enrich stage: one Kinesis batch in, profiles, sessions, journeys, counters and lake rows out.

Effect-exactly-once rests on three watermarks and one order of writes:

1. Everything is computed first, from the stored state, deterministically (session ids come from
   event ids, times from event timestamps), so a retry recomputes exactly what an earlier attempt
   did.
2. The lake is written first, then the live counters: each in one atomic commit that also moves a
   per-shard watermark, and each skips records at or below its own watermark. The counters ride in
   the first visitor's write (then a transaction; they cost no write request of their own) or, in a
   batch with no visitor to write, in a transaction of their own.
3. Visitors are written last, one conditional write of the profile item each (not a transaction:
   the item itself holds the version, the per-visitor, per-shard watermark and the visitor's window
   of recent messageIds, so a single-item condition is enough). Sessions the batch closed and new
   identity links go first, unconditionally: they are deterministic, so rewriting them on a
   redelivery is harmless. The open session rides inside the profile item, so an ordinary batch
   costs a visitor exactly one small write.

So a visitor's events are never applied before they are in the lake and counted, and a redelivered
record is recognised at every store. A visitor whose transaction fails has its records reported as
batch item failures; Lambda redelivers from the lowest, and everything already written is skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from aws_lambda_powertools import Logger

from reviva.contracts.events import CollectedEvent, EnrichedEvent
from reviva.contracts.stream_envelope import PoisonRecord
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
from reviva.enrich.stream_records import StreamRecord, decode_record
from reviva.enrich.visitor_state import VisitorState
from reviva.enrich.visitor_update import AppliedEvent, apply_event

logger = Logger(child=True)

VISITOR_WRITERS = 8  # concurrent visitor writes in one batch
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
    """Each readable event with the record that carried it, in stream order; and the poison.

    Poison is a record that cannot be read at all (stats "poison") or one invalid event inside a
    readable envelope ("poison_events"): its valid neighbours are still enriched.
    """
    decoded: list[tuple[StreamRecord, CollectedEvent]] = []
    poison: list[PoisonItem] = []
    outcome.stats["records"] += len(records)
    for record in records:
        try:
            carried = decode_record(record)
        except PoisonRecord as exc:
            outcome.stats["poison"] += 1
            poison.append(
                PoisonItem(
                    record.shard_id, record.sequence_number, record.partition_key, str(exc), record.data
                )
            )
            continue
        decoded.extend((record, event) for event in carried.events)
        outcome.stats["events"] += len(carried.events)
        for invalid in carried.invalid:
            outcome.stats["poison_events"] += 1
            reason = f"event {invalid.index} of {carried.event_count} in the record: {invalid.reason}"
            poison.append(
                PoisonItem(record.shard_id, record.sequence_number, record.partition_key, reason, invalid.raw)
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
            # An envelope's events share their record's sequence number: all are written in the
            # same visitor, lake and counter commits, so record-level watermarks stay exact.
            if visitor.last_sequence != record.sequence_number:
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
    commits = [_commit_for(visitor, shard_id) for visitor in dirty]
    if counters:
        expected = None if counter_mark < 0 else str(counter_mark)
        pending = CounterCommit(shard_id, expected, last_sequence, counters.minutes)
        if commits and _fits_one_transaction(pending):
            # The counters ride with the first visitor's profile (one transaction, no write request
            # of their own) and commit before any other visitor; its failure fails the whole batch.
            commits[0].counters = pending
            ports.visitors.commit(commits[0])
            outcome.stats["visitor_writes"] += 1
            dirty, commits = dirty[1:], commits[1:]
        else:
            ports.counters.commit(pending)
            outcome.stats["counter_writes"] += 1

    # Visitors are independent items: writing them concurrently keeps a full batch's wall time (what
    # Lambda bills and what bounds a shard's throughput) near one write's latency, not the sum.
    if len(commits) > 1 and VISITOR_WRITERS > 1:
        with ThreadPoolExecutor(max_workers=min(VISITOR_WRITERS, len(commits))) as pool:
            errors = list(pool.map(partial(_write_visitor, ports.visitors), commits))
    else:
        errors = [_write_visitor(ports.visitors, commit) for commit in commits]
    for visitor, error in zip(dirty, errors, strict=True):
        if error is None:
            outcome.stats["visitor_writes"] += 1
            continue
        outcome.failed_sequence_numbers.extend(visitor.sequences)
        if isinstance(error, ConcurrentUpdate):
            logger.warning("visitor changed during the batch; redelivering", extra={"visitor": visitor.key})
            outcome.stats["visitor_conflicts"] += 1
        else:
            logger.error(
                "visitor write failed; redelivering",
                extra={"visitor": visitor.key, "error": repr(error)},
                exc_info=error,
            )
            outcome.stats["visitor_failures"] += 1
    outcome.failed_sequence_numbers.sort(key=int)
    return outcome


def _fits_one_transaction(counters: CounterCommit) -> bool:
    """DynamoDB transactions hold 100 items: the profile, the counters' watermark and minutes."""
    return 2 + len(counters.minutes) <= MAX_TRANSACTION_ITEMS


def _write_visitor(repository: VisitorRepository, commit: VisitorCommit) -> Exception | None:
    """One visitor's write; the error instead of raising, so one visitor cannot fail the others."""
    try:
        repository.commit(commit)
    except Exception as error:  # reported per visitor as batch item failures
        return error
    return None


def _commit_for(visitor: _WorkingVisitor, shard_id: str) -> VisitorCommit:
    assert visitor.last_sequence is not None
    watermarks = dict(visitor.stored.watermarks) if visitor.stored else {}
    watermarks[shard_id] = visitor.last_sequence
    state = visitor.state
    return VisitorCommit(
        visitor_key=visitor.key,
        expected_version=visitor.stored.version if visitor.stored else 0,
        state=state,
        watermarks=watermarks,
        recent_ids=visitor.recent.pack(),
        sessions=list(state.closed_sessions),
        identity_links=visitor.links,
    )
