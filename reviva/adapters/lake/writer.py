"""Exactly-once appends to the `events` table, and row-level erasure.

Kinesis redelivers (Lambda retries, bisected batches, a crash after the commit but before the
checkpoint). The lake stays duplicate-free because each commit carries, atomically with its rows,
a per-shard watermark table property `reviva.watermark.<shard_id>` = the last sequence number
written. One Iceberg commit holds both, so either the rows and the watermark land or neither does.

Contract with the consumer (the enrich service):
  1. read `watermark(shard_id)`, drop records whose sequence number is <= it;
  2. call `append(shard_id, rows, last_sequence)` with the remaining rows and the batch's last
     sequence number.
`append` re-checks under the commit: it refreshes the table, returns 0 if the watermark already
reached `last_sequence`, drops rows whose own `sequence_number` is covered by a newer watermark,
and commits only if the watermark is still the value it read (a compare-and-set requirement
validated by the catalog at commit time). Commits from other shards race on the same table; the
loser refreshes and retries a bounded number of times with jittered backoff.

Empty batches (`rows == []`): by default nothing is committed and 0 is returned, even when
`last_sequence` is newer. This is safe because the rows a record yields are a function of the
record (a duplicate `messageId` stays a duplicate on replay), so replaying records that produced
no row produces none again; and it spares S3 one metadata write per idle batch. Pass
`commit_empty_batches=True` to advance the watermark with a property-only commit instead (one
metadata file, no data or manifest files).

Requests: the enrich service's `watermark` + `append` pair loads the table once (the append
commits on the view the watermark read loaded; a stale view only costs a refused commit and a
retry), and `reviva.adapters.lake.fileio.LakeFileIO` makes the commit 4 PutObject requests (data file,
manifest, manifest list, metadata.json) plus, when another shard committed since, 2 GETs.

Compaction of the small per-batch files, snapshot expiry and orphan-file removal live in
`reviva.adapters.lake.maintenance`. Until snapshots are expired, a deleted visitor's rows remain reachable
by time travel in older snapshots; the erasure workflow must run `expire_snapshots` after it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import BooleanExpression, In
from pyiceberg.table import Table
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.update import ValidatableTableRequirement

from reviva.adapters.lake.schema import events_to_arrow
from reviva.adapters.lake.transaction import lake_transaction
from reviva.contracts.events import EnrichedEvent

logger = logging.getLogger(__name__)

WATERMARK_PREFIX = "reviva.watermark."
# Per shard: the object holding the messages in the lake that no profile holds yet (see
# `reviva.enrich.unapplied`). Maintenance's orphan removal keeps the objects these name.
UNAPPLIED_PREFIX = "reviva.unapplied."
ERASURE_SNAPSHOT_PROPERTY = "reviva.erasure-id"

TableLoader = Callable[[], Table]


@dataclass(frozen=True)
class LakeCommit:
    """What one successful `LakeWriter.append` commit wrote: one new snapshot of the table."""

    shard_id: str
    rows: int
    last_sequence: str


# Told of every successful append commit (metering: `make cost` counts the snapshots kept).
CommitObserver = Callable[[LakeCommit], None]


def watermark_property(shard_id: str) -> str:
    """The table property holding a shard's last committed sequence number."""
    return f"{WATERMARK_PREFIX}{shard_id}"


def unapplied_property(shard_id: str) -> str:
    """The table property naming the object of a shard's unapplied messages."""
    return f"{UNAPPLIED_PREFIX}{shard_id}"


class WatermarkConflict(ValidationException):
    """The shard's watermark changed between reading it and committing (another writer, same shard)."""


class _AssertWatermark(ValidatableTableRequirement):
    """Commit requirement: the watermark (or another per-shard) property still holds the value read.

    Glue and SQL catalogs validate requirements against the latest metadata inside their optimistic
    commit, so this is a compare-and-set. It raises a ValidationException subclass, not
    CommitFailedException, so pyiceberg's own rebase-and-retry loop stops at once and `append`
    re-reads the watermark instead of retrying a commit that can never succeed.
    """

    type: Literal["reviva-assert-watermark"] = "reviva-assert-watermark"
    key: str
    expected: str | None

    # pydantic's deprecated classmethod `validate` shadows the name for mypy; pyiceberg's own
    # requirements override it the same way.
    def validate(self, base_metadata: TableMetadata | None) -> None:  # type: ignore[override]
        if base_metadata is None:
            raise CommitFailedException("Requirement failed: current table metadata is missing")
        current = base_metadata.properties.get(self.key)
        if current != self.expected:
            raise WatermarkConflict(f"{self.key} moved from {self.expected!r} to {current!r}")


def _covered(sequence: str | None, watermark: int | None) -> bool:
    return watermark is not None and sequence is not None and int(sequence) <= watermark


class LakeWriter:
    """Appends enriched events exactly once per Kinesis record and deletes visitors' rows.

    `table_loader` returns the events table (e.g. `lambda: ensure_events_table(catalog, settings)`);
    it is called on first use, never at construction, so building a writer makes no AWS call. One
    writer is safe to share between threads: its calls are serialized.

    `on_commit`, when given, is called after each successful append commit (not for replays,
    skipped empty batches or lost races), with the writer's lock held: it must be quick and must not
    call the writer. Unset, it costs one `is None` test per commit.
    """

    def __init__(
        self,
        table_loader: TableLoader,
        *,
        max_attempts: int = 8,
        base_delay_seconds: float = 0.05,
        max_delay_seconds: float = 2.0,
        commit_empty_batches: bool = False,
        on_commit: CommitObserver | None = None,
    ) -> None:
        self._load_table = table_loader
        self._table: Table | None = None
        # True between a watermark read (which refreshes the table) and the next append: the
        # append then commits on that same view instead of loading the table a second time.
        self._refreshed_for_append = False
        self._lock = threading.Lock()
        self._max_attempts = max_attempts
        self._base_delay = base_delay_seconds
        self._max_delay = max_delay_seconds
        self._commit_empty_batches = commit_empty_batches
        self._on_commit = on_commit
        # shard → (object path, contents) of the unapplied messages last read or written: the path
        # changes with every write, so a warm writer reads each version at most once.
        self._unapplied: dict[str, tuple[str | None, bytes]] = {}

    def _fresh_table(self) -> Table:
        if self._table is None:
            self._table = self._load_table()
        else:
            self._table.refresh()
        return self._table

    def _backoff(self, attempt: int) -> None:
        # Full jitter: shards that collided once must not collide again in lockstep.
        time.sleep(random.uniform(0, min(self._max_delay, self._base_delay * 2**attempt)))

    def watermark(self, shard_id: str) -> str | None:
        """The shard's last committed sequence number, read from freshly loaded metadata.

        The next `append` commits on the table as loaded here (one catalog load per batch, not
        two). That is safe because the commit is optimistic: if another writer moved the table in
        between, the catalog rejects it and `append` reloads and retries.
        """
        with self._lock:
            table = self._fresh_table()
            self._refreshed_for_append = True
            return table.properties.get(watermark_property(shard_id))

    def append(self, shard_id: str, rows: Sequence[EnrichedEvent], last_sequence: str) -> int:
        """Write `rows` and set the shard's watermark to `last_sequence` in one Iceberg commit.

        Returns the number of rows written: 0 when the watermark already reached `last_sequence`
        (a replay) or when `rows` is empty (see the module docstring). Raises CommitFailedException
        or WatermarkConflict after `max_attempts` lost races; the caller's batch then fails and
        Kinesis redelivers it, which is safe.
        """
        target = int(last_sequence)
        key = watermark_property(shard_id)
        with self._lock:
            reuse_watermark_view = self._refreshed_for_append and self._table is not None
            self._refreshed_for_append = False
            for attempt in range(self._max_attempts):
                if attempt == 0 and reuse_watermark_view and self._table is not None:
                    table = self._table
                else:
                    table = self._fresh_table()
                current = table.properties.get(key)
                current_value = int(current) if current is not None else None
                if current_value is not None and current_value >= target:
                    return 0
                pending = [row for row in rows if not _covered(row.sequence_number, current_value)]
                if not pending and not self._commit_empty_batches:
                    return 0
                try:
                    self._commit(table, shard_id, key, current, pending, last_sequence)
                except (CommitFailedException, WatermarkConflict) as error:
                    if attempt + 1 == self._max_attempts:
                        raise
                    logger.info("lake commit for %s lost a race (%s); retrying", shard_id, error)
                    self._backoff(attempt)
                    continue
                if self._on_commit is not None:
                    self._on_commit(LakeCommit(shard_id, len(pending), last_sequence))
                return len(pending)
        raise AssertionError("unreachable: the loop returns or raises")

    def unapplied(self, shard_id: str) -> bytes | None:
        """The shard's unapplied messages, from the table as `watermark` last loaded it.

        Nothing to read (no request) unless a visitor write failed: the property is absent then.
        """
        with self._lock:
            table = self._table if self._table is not None else self._fresh_table()
            path = table.properties.get(unapplied_property(shard_id))
            cached = self._unapplied.get(shard_id)
            if path is None:
                self._unapplied[shard_id] = (None, b"")
                return None
            if cached is None or cached[0] != path:
                with table.io.new_input(path).open() as stream:
                    self._unapplied[shard_id] = (path, stream.read())
            return self._unapplied[shard_id][1]

    def record_unapplied(self, shard_id: str, packed: bytes) -> None:
        """Store the shard's unapplied messages (empty: none) in a property-only commit.

        The commit requires the property to name what `unapplied` read, so two writers of one
        shard (the consumer and a `reviva replay-failed`) cannot overwrite each other's changes:
        the loser raises WatermarkConflict and its batch is retried on fresh state.
        """
        key = unapplied_property(shard_id)
        with self._lock:
            self._refreshed_for_append = False
            expected = self._unapplied.get(shard_id, (None, b""))[0]
            path: str | None = None
            for attempt in range(self._max_attempts):
                table = self._fresh_table()
                if packed and path is None:
                    path = f"{table.location()}/metadata/reviva-unapplied-{uuid.uuid4().hex}.bin"
                    with table.io.new_output(path).create(overwrite=True) as stream:
                        stream.write(packed)
                transaction = lake_transaction(table)
                transaction._stage((), (_AssertWatermark(key=key, expected=expected),))  # type: ignore[arg-type]
                if path is not None:
                    transaction.set_properties({key: path})
                elif key in table.properties:
                    transaction.remove_properties(key)
                try:
                    transaction.commit_transaction()
                except CommitFailedException as error:  # another shard's commit: rebase and retry
                    if attempt + 1 == self._max_attempts:
                        raise
                    logger.info("unapplied messages of %s lost a race (%s); retrying", shard_id, error)
                    self._backoff(attempt)
                    continue
                self._unapplied[shard_id] = (path, packed)
                return

    @staticmethod
    def _commit(
        table: Table,
        shard_id: str,
        key: str,
        expected: str | None,
        rows: Sequence[EnrichedEvent],
        last_sequence: str,
    ) -> None:
        transaction = lake_transaction(table)
        # The requirement must be staged before the property update: staging validates it against
        # the transaction's view, which would otherwise already hold the new watermark. pyiceberg
        # has no public hook for custom requirements; `_stage` is the one `Transaction` itself uses.
        transaction._stage((), (_AssertWatermark(key=key, expected=expected),))  # type: ignore[arg-type]
        if rows:
            transaction.append(
                events_to_arrow(rows),
                snapshot_properties={"reviva.shard-id": shard_id, "reviva.last-sequence": last_sequence},
            )
        transaction.set_properties({key: last_sequence})
        transaction.commit_transaction()

    def delete_visitor_rows(self, visitor_keys: Sequence[str]) -> int:
        """Delete every row of these visitors (copy-on-write); return how many rows were removed.

        Files holding no matching row are left alone; files holding some are rewritten without
        them. Older snapshots still reference the old files until snapshots are expired.
        """
        keys = sorted(set(visitor_keys))
        if not keys:
            return 0
        erasure_id = uuid.uuid4().hex
        # pyiceberg's In is a pydantic model with a hand-written __init__ that mypy does not see.
        visitors: BooleanExpression = In("visitor_key", keys)  # type: ignore[call-arg,arg-type]
        with self._lock:
            self._refreshed_for_append = False
            for attempt in range(self._max_attempts):
                table = self._fresh_table()
                try:
                    table.delete(visitors, snapshot_properties={ERASURE_SNAPSHOT_PROPERTY: erasure_id})
                    break
                except CommitFailedException as error:
                    if attempt + 1 == self._max_attempts:
                        raise
                    logger.info("lake delete lost a race (%s); retrying", error)
                    self._backoff(attempt)
            table = self._fresh_table()
            return _rows_removed_by(table, erasure_id)


def _rows_removed_by(table: Table, erasure_id: str) -> int:
    """Net rows removed by the snapshots stamped with `erasure_id`.

    A copy-on-write delete commits a DELETE snapshot (whole files dropped) and/or an OVERWRITE one
    (files rewritten); an overwrite counts every record of a rewritten file as deleted and the kept
    ones as added, so the net is deleted minus added. Other writers' snapshots in between are ignored.
    """

    def count(value: str | None) -> int:
        return int(value) if value else 0

    removed = 0
    for snapshot in table.snapshots():
        summary = snapshot.summary
        if summary is not None and summary[ERASURE_SNAPSHOT_PROPERTY] == erasure_id:
            removed += count(summary["deleted-records"]) - count(summary["added-records"])
    return removed
