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
Its events are also noted as in the lake and counted but in no profile (`reviva.enrich.unapplied`),
so that if the retries run out, a re-sent or replayed message is applied to its profile without a
second lake row or count.
"""

from __future__ import annotations

import traceback
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

from aws_lambda_powertools import Logger

from reviva.contracts.events import CollectedEvent, EnrichedEvent
from reviva.contracts.stream_envelope import PoisonRecord, serialize_event
from reviva.enrich.dedupe import DELIVERY_MIN_EVENTS, DELIVERY_WINDOW, RecentMessageIds, delivery_key
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
from reviva.enrich.unapplied import UnappliedMessages, message_key
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
    deliveries: RecentMessageIds = field(default_factory=lambda: RecentMessageIds(window=DELIVERY_WINDOW))
    # The record being applied is a delivery seen before: all its events are duplicates.
    repeated_delivery: bool = False
    sequences: list[str] = field(default_factory=list)
    last_sequence: str | None = None
    dirty: bool = False
    links: list[tuple[str, str, str]] = field(default_factory=list)
    # This batch's events applied to `state`, in order: what `_restore` replays.
    applied: list[tuple[CollectedEvent, EventFacts]] = field(default_factory=list)
    # After a first rejected event, each event is applied to a copy kept in `before_event`.
    careful: bool = False
    before_event: VisitorState | None = None

    # messageIds of applied events that this attempt's counter commit counts.
    counted_now: set[str] = field(default_factory=set)

    def message_keys(self) -> list[bytes]:
        """The `unapplied` keys of this batch's events applied to the visitor."""
        return [message_key(self.key, event.message_id) for event, _ in self.applied]

    def unapplied_entries(self, counters_committed: bool) -> list[tuple[bytes, bool]]:
        """(key, counted) of this batch's events applied to the visitor, for `UnappliedMessages.add`."""
        return [
            (
                message_key(self.key, event.message_id),
                counters_committed or event.message_id not in self.counted_now,
            )
            for event, _ in self.applied
        ]


def _working_visitor(key: str, stored: StoredVisitor | None, shard_id: str) -> _WorkingVisitor:
    if stored is None:
        return _WorkingVisitor(key, None, VisitorState.new(key), RecentMessageIds(), -1)
    # The repository hands over a freshly read state: this batch owns it and may change it in place.
    state = stored.state
    state.closed_sessions = []
    mark = stored.watermarks.get(shard_id)
    return _WorkingVisitor(
        key,
        stored,
        state,
        RecentMessageIds(stored.recent_ids),
        int(mark) if mark else -1,
        deliveries=RecentMessageIds(stored.recent_deliveries, window=DELIVERY_WINDOW),
    )


def _as_int(sequence: str | None) -> int:
    return int(sequence) if sequence else -1


@dataclass(frozen=True, slots=True)
class _Carried:
    """One readable event, the record that carried it and its position in that record."""

    record: StreamRecord
    index: int
    event: CollectedEvent


def _decode_all(
    records: Sequence[StreamRecord], outcome: BatchOutcome
) -> tuple[list[_Carried], list[PoisonItem]]:
    """Each readable event with the record that carried it, in stream order; and the poison.

    Poison is a record that cannot be read at all (stats "poison") or one invalid event inside a
    readable envelope ("poison_events"): its valid neighbours are still enriched.
    """
    decoded: list[_Carried] = []
    poison: list[PoisonItem] = []
    outcome.stats["records"] += len(records)
    for record in records:
        try:
            carried = decode_record(record)
        except PoisonRecord as exc:
            outcome.stats["poison"] += 1
            poison.append(
                PoisonItem(
                    record.shard_id,
                    record.sequence_number,
                    record.partition_key,
                    str(exc),
                    record.data,
                    seen_at=record.arrived_at,
                )
            )
            continue
        invalid_at = {invalid.index for invalid in carried.invalid}
        positions = (i for i in range(carried.event_count) if i not in invalid_at)
        decoded.extend(
            _Carried(record, index, event) for index, event in zip(positions, carried.events, strict=True)
        )
        outcome.stats["events"] += len(carried.events)
        for invalid in carried.invalid:
            outcome.stats["poison_events"] += 1
            reason = f"event {invalid.index} of {carried.event_count} in the record: {invalid.reason}"
            poison.append(
                PoisonItem(
                    record.shard_id,
                    record.sequence_number,
                    record.partition_key,
                    reason,
                    invalid.raw,
                    index=invalid.index,
                    seen_at=record.arrived_at,
                )
            )
    return decoded, poison


def _rejected_event(carried: _Carried, step: str, error: Exception) -> PoisonItem:
    """A readable event whose enrichment raised: kept with where it failed, never with the error's text.

    An exception's message may quote the event's data (a URL, a trait), and reasons are stored and
    shown unmasked, so the reason names the exception's type and the line that raised it only.
    """
    frames = traceback.extract_tb(error.__traceback__)
    # The deepest line of our own code says more than a library's internals.
    ours = [frame for frame in frames if "reviva" in Path(frame.filename).parts] or frames
    where = f" at {Path(ours[-1].filename).name}:{ours[-1].lineno} ({ours[-1].name})" if ours else ""
    record = carried.record
    logger.warning(
        "event rejected by enrich",
        extra={
            "step": step,
            "error": type(error).__name__,
            "where": where.strip(),
            "sequence": record.sequence_number,
        },
    )
    return PoisonItem(
        record.shard_id,
        record.sequence_number,
        record.partition_key,
        f"event {carried.index} of the record: enrich could not {step}: {type(error).__name__}{where}",
        serialize_event(carried.event),
        index=carried.index,
        seen_at=carried.event.received_at,
    )


def _large_deliveries(decoded: Sequence[_Carried]) -> dict[str, str]:
    """Record sequence number → delivery key, for records of more than `DELIVERY_MIN_EVENTS` events."""
    ids: dict[str, list[str]] = {}
    for carried in decoded:
        ids.setdefault(carried.record.sequence_number, []).append(carried.event.message_id)
    return {sequence: delivery_key(m) for sequence, m in ids.items() if len(m) > DELIVERY_MIN_EVENTS}


def _start_record(visitor: _WorkingVisitor, sequence: int, delivery: str | None) -> None:
    """A visitor's next record begins: is it a large delivery applied before (then skip it whole)?"""
    visitor.repeated_delivery = False
    if delivery is None or sequence <= visitor.applied_up_to:
        return
    if delivery in visitor.deliveries:
        visitor.repeated_delivery = True
    else:
        visitor.deliveries.add(delivery)


def _restore(visitor: _WorkingVisitor, ports: EnrichPorts, shard_id: str) -> None:
    """Undo a failed event's partial changes to `visitor.state`, keeping the events applied before it.

    `apply_event` changes the state in place, and copying the state before every event would double
    enrich's work for a case that needs no speed: the first time, the visitor is read again and this
    batch's applied events replayed (deterministic, so the result is what it was); from then on the
    visitor is `careful`, and each of its events is applied to a copy first.
    """
    if visitor.before_event is not None:
        visitor.state, visitor.before_event = visitor.before_event, None
        return
    if visitor.careful:
        return  # the event failed before it was applied: the state is untouched
    fresh = _working_visitor(visitor.key, ports.visitors.load([visitor.key]).get(visitor.key), shard_id)
    visitor.state = fresh.state
    for event, facts in visitor.applied:
        apply_event(visitor.state, event, facts, ports.rules)
    visitor.careful = True


def _apply(
    visitor: _WorkingVisitor, event: CollectedEvent, facts: EventFacts, rules: JourneyRules
) -> AppliedEvent:
    if visitor.careful:
        visitor.before_event = visitor.state.model_copy(deep=True)
    return apply_event(visitor.state, event, facts, rules)


def process_batch(records: Sequence[StreamRecord], ports: EnrichPorts) -> BatchOutcome:
    """Enrich one batch of records from one shard; return the records Lambda must redeliver.

    An event whose own data makes enrichment raise is rejected alone (stats "rejected_events"): it
    goes to the poison sink with its reason and (masked there) payload, and the batch goes on.
    Enrichment is pure computation, so whatever it raises is the event's; only the ports (stores)
    can fail a batch.
    """
    outcome = BatchOutcome()
    if not records:
        return outcome
    shard_id = records[0].shard_id
    last_sequence = records[-1].sequence_number
    decoded, poison = _decode_all(records, outcome)

    described: list[tuple[_Carried, EventFacts]] = []
    for carried in decoded:
        try:
            described.append((carried, describe_event(carried.event, ports.site_hosts)))
        except Exception as failure:  # the event's data, never a store: see the docstring
            poison.append(_rejected_event(carried, "describe it", failure))
            outcome.stats["rejected_events"] += 1
    human_keys = sorted({carried.event.visitor_key for carried, facts in described if not facts.is_bot})
    stored = ports.visitors.load(human_keys) if human_keys else {}
    visitors = {key: _working_visitor(key, stored.get(key), shard_id) for key in human_keys}
    lake_mark = _as_int(ports.lake.watermark(shard_id))
    unapplied = UnappliedMessages(ports.lake.unapplied(shard_id))
    counter_mark = _as_int(ports.counters.watermark(shard_id))

    deliveries = _large_deliveries(decoded)
    rows: list[EnrichedEvent] = []
    counters = LiveCounterBatch()
    for carried, facts in described:
        record, event = carried.record, carried.event
        sequence = record.sequence
        visitor: _WorkingVisitor | None = None
        step = "apply it to its visitor"
        try:
            if facts.is_bot:
                applied = AppliedEvent()
            else:
                visitor = visitors[event.visitor_key]
                # An envelope's events share their record's sequence number: all are written in the
                # same visitor, lake and counter commits, so record-level watermarks stay exact.
                if visitor.last_sequence != record.sequence_number:
                    visitor.sequences.append(record.sequence_number)
                    visitor.last_sequence = record.sequence_number
                    _start_record(visitor, sequence, deliveries.get(record.sequence_number))
                if sequence <= visitor.applied_up_to:
                    outcome.stats["already_applied"] += 1
                    continue
                if visitor.repeated_delivery or event.message_id in visitor.recent:
                    outcome.stats["duplicate"] += 1
                    continue
                applied = _apply(visitor, event, facts, ports.rules)
            # A message the lake (and maybe the counters) already hold, whose profile write failed.
            held = message_key(visitor.key, event.message_id) if visitor is not None and unapplied else None
            in_lake = held is not None and held in unapplied
            if in_lake:
                outcome.stats["unapplied_applied"] += 1
            step = "build its lake row"
            row = (
                build_lake_row(record, event, facts, applied)
                if sequence > lake_mark and not in_lake
                else None
            )
            step = "count it"
            # A noted message is counted by its note, not the watermark: a batch whose counter commit
            # failed was given up on while later batches moved the counters' watermark past it.
            count_it = (
                not unapplied.is_counted(held) if in_lake and held is not None else sequence > counter_mark
            )
            if count_it:
                counters.add(event, facts.is_bot)  # changes nothing when it raises
        except Exception as failure:  # the event's data, never a store: see the docstring
            if visitor is not None:
                _restore(visitor, ports, shard_id)
            poison.append(_rejected_event(carried, step, failure))
            outcome.stats["rejected_events"] += 1
            continue
        if visitor is not None:
            visitor.before_event = None
            visitor.applied.append((event, facts))
            visitor.recent.add(event.message_id)
            visitor.links.extend(applied.identity_links)
            visitor.dirty = True
            if count_it:
                visitor.counted_now.add(event.message_id)
        if facts.is_bot:
            outcome.stats["bot"] += 1
        outcome.stats["new"] += 1
        if row is not None:
            rows.append(row)

    # Failures from here to the first visitor write are whole-batch failures (raised): every store
    # below skips what it already has, so redelivering the whole batch is safe.
    if poison:
        ports.poison.record_poison(poison)
    if rows:
        outcome.stats["lake_rows"] += ports.lake.append(shard_id, rows, last_sequence)
    dirty = [v for v in visitors.values() if v.dirty and v.last_sequence is not None]
    commits = [_commit_for(visitor, shard_id) for visitor in dirty]
    written_with_counters: list[_WorkingVisitor] = []
    if counters:
        expected = None if counter_mark < 0 else str(counter_mark)
        pending = CounterCommit(shard_id, expected, last_sequence, counters.minutes)
        try:
            if commits and _fits_one_transaction(pending):
                # The counters ride with the first visitor's profile (one transaction, no write
                # request of their own) and commit before any other visitor; its failure fails the
                # whole batch.
                commits[0].counters = pending
                ports.visitors.commit(commits[0])
                outcome.stats["visitor_writes"] += 1
                written_with_counters, dirty, commits = dirty[:1], dirty[1:], commits[1:]
            else:
                ports.counters.commit(pending)
                outcome.stats["counter_writes"] += 1
        except Exception:
            # The lake holds the batch; the counters and the profiles do not.
            _note_after_counter_failure(unapplied, dirty, records, ports.lake, shard_id)
            raise

    # Visitors are independent items: writing them concurrently keeps a full batch's wall time (what
    # Lambda bills and what bounds a shard's throughput) near one write's latency, not the sum.
    if len(commits) > 1 and VISITOR_WRITERS > 1:
        with ThreadPoolExecutor(max_workers=min(VISITOR_WRITERS, len(commits))) as pool:
            errors = list(pool.map(partial(_write_visitor, ports.visitors), commits))
    else:
        errors = [_write_visitor(ports.visitors, commit) for commit in commits]
    _note_unapplied(
        unapplied,
        [
            *((v, True) for v in written_with_counters),
            *((v, e is None) for v, e in zip(dirty, errors, strict=True)),
        ],
        records,
        ports.lake,
        shard_id,
        outcome,
    )
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


def _batch_day(records: Sequence[StreamRecord]) -> date:
    """The day a note is dated: the batch's last arrival (deterministic on a redelivery)."""
    arrivals = [r.arrived_at for r in records if r.arrived_at is not None]
    return max(arrivals).astimezone(UTC).date() if arrivals else datetime.now(UTC).date()


def _note_unapplied(
    unapplied: UnappliedMessages,
    written: Sequence[tuple[_WorkingVisitor, bool]],
    records: Sequence[StreamRecord],
    lake: LakeSink,
    shard_id: str,
    outcome: BatchOutcome,
) -> None:
    """Note the failed visitors' events as unapplied and forget those the written visitors now hold.

    `written` pairs each visitor with whether its write succeeded. Every event a failed visitor
    carried is in the lake and counted by now (both committed before any visitor that does not
    carry the counters). Raises if the lake refuses the note: the whole batch is then redelivered,
    which every store skips exactly.
    """
    if all(ok for _, ok in written) and not unapplied:
        return
    today = _batch_day(records)
    for visitor, ok in written:
        if ok:
            unapplied.discard(visitor.message_keys())
        else:
            unapplied.add(visitor.unapplied_entries(counters_committed=True), today)
    unapplied.forget_before(today)
    if unapplied.changed:
        lake.record_unapplied(shard_id, unapplied.pack())
        outcome.stats["unapplied_notes"] += 1


def _note_after_counter_failure(
    unapplied: UnappliedMessages,
    visitors: Sequence[_WorkingVisitor],
    records: Sequence[StreamRecord],
    lake: LakeSink,
    shard_id: str,
) -> None:
    """The counter commit failed after the lake commit: note every visitor's events as in the lake only.

    The caller re-raises the counter failure whatever happens here; a note that fails too is logged.
    """
    for visitor in visitors:
        unapplied.add(visitor.unapplied_entries(counters_committed=False), _batch_day(records))
    if not unapplied.changed:
        return
    try:
        lake.record_unapplied(shard_id, unapplied.pack())
    except Exception as error:  # the counter failure is the one to report
        logger.error("could not note the batch's events as unapplied", extra={"error": repr(error)})


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
        recent_deliveries=visitor.deliveries.pack(),
        sessions=list(state.closed_sessions),
        identity_links=visitor.links,
    )
