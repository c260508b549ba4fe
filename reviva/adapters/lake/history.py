"""The lake's commit history for the analytics layer: which event days each Iceberg commit changed.

Implements `reviva.analytics.ports.LakeHistory` over the `events` table. Each snapshot is one commit
and carries a sequence number that grows by one per commit; walking from the current snapshot to
its parents lists the commits after a given sequence number, newest first.

Which day partitions a commit touched comes from its snapshot summary: the table property
`write.summary.partition-limit` (`reviva.adapters.lake.catalog`) makes every commit that changes at
most that many partitions list them (`partitions.event_time_day=2026-11-02`), so the usual case
reads nothing beyond the table metadata the executor loads anyway. A commit without that list (a
larger erasure, or one written before the property was set) is read from the manifests it added:
their entries name each added or removed data file's partition. Compaction commits (stamped by
`reviva.adapters.lake.maintenance`) rewrite rows without changing them and are left out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from pyiceberg.manifest import ManifestEntryStatus
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from reviva.adapters.lake.maintenance import MAINTENANCE_SNAPSHOT_PROPERTY
from reviva.adapters.lake.schema import PARTITION_FIELD_NAME
from reviva.analytics.ports import LakeChanges, LakeVersion

_SUMMARY_PREFIX = f"partitions.{PARTITION_FIELD_NAME}="
_EPOCH = date(1970, 1, 1)
# Days per snapshot are immutable facts; keep many (a day's worth of per-batch commits) but not forever.
_MAX_CACHED_SNAPSHOTS = 100_000


def _version(snapshot: Snapshot) -> LakeVersion:
    return LakeVersion(
        sequence=snapshot.sequence_number or 0,
        committed_at=datetime.fromtimestamp(snapshot.timestamp_ms / 1000, UTC),
    )


class IcebergLakeHistory:
    """The `events` table's snapshots as `LakeHistory` (thread-safe; loads the table on first use)."""

    def __init__(self, table_loader: Callable[[], Table]) -> None:
        self._load_table = table_loader
        self._table: Table | None = None
        self._lock = threading.Lock()
        self._days_of: dict[int, frozenset[date]] = {}

    def _fresh_table(self) -> Table:
        with self._lock:
            if self._table is None:
                self._table = self._load_table()
            else:
                self._table.refresh()
            return self._table

    def current(self) -> LakeVersion | None:
        """The current snapshot's sequence number and commit time."""
        snapshot = self._fresh_table().current_snapshot()
        return _version(snapshot) if snapshot is not None else None

    def changes_since(self, sequence: int | None) -> LakeChanges:
        """Walk the current snapshot's ancestry back to `sequence`, collecting each commit's days."""
        table = self._fresh_table()
        node = table.current_snapshot()
        if node is None:
            return LakeChanges(current=None, days={})
        current = _version(node)
        days: dict[date, int] = {}
        known_from: int | None = None
        while node is not None and (sequence is None or (node.sequence_number or 0) > sequence):
            node_sequence = node.sequence_number or 0
            for day in self._days_changed(table, node):
                days[day] = max(days.get(day, 0), node_sequence)
            parent_id = node.parent_snapshot_id
            parent = table.snapshot_by_id(parent_id) if parent_id is not None else None
            if parent is None:
                # The table's first commit (sequence 1), or the oldest one expiry left (which may
                # have lost its parent link). Sequence numbers go up by one per commit, so nothing is
                # missing when the one before it is the commit asked from (or there is none).
                if node_sequence - 1 > (sequence or 0):
                    known_from = node_sequence
                break
            node = parent
        return LakeChanges(current=current, days=days, known_from=known_from)

    def _days_changed(self, table: Table, snapshot: Snapshot) -> frozenset[date]:
        cached = self._days_of.get(snapshot.snapshot_id)
        if cached is not None:
            return cached
        summary = snapshot.summary
        properties = summary.additional_properties if summary is not None else {}
        if properties.get(MAINTENANCE_SNAPSHOT_PROPERTY) == "compaction":
            days: frozenset[date] = frozenset()
        else:
            listed = _days_from_summary(properties)
            days = listed if listed is not None else _days_from_manifests(table, snapshot)
        if len(self._days_of) >= _MAX_CACHED_SNAPSHOTS:
            self._days_of.clear()
        self._days_of[snapshot.snapshot_id] = days
        return days


def _days_from_summary(properties: dict[str, str]) -> frozenset[date] | None:
    """The days a snapshot summary lists, or None when it lists no partitions (or others than days)."""
    if properties.get("partition-summaries-included") != "true":
        return None
    days = set()
    for key in properties:
        if not key.startswith("partitions."):
            continue
        if not key.startswith(_SUMMARY_PREFIX):
            return None  # another partition spec: read the manifests instead
        try:
            days.add(date.fromisoformat(key.removeprefix(_SUMMARY_PREFIX)))
        except ValueError:
            return None
    return frozenset(days)


def _days_from_manifests(table: Table, snapshot: Snapshot) -> frozenset[date]:
    """The partitions of the data files this snapshot added or removed, read from its own manifests."""
    days = set()
    changed = (ManifestEntryStatus.ADDED, ManifestEntryStatus.DELETED)
    for manifest in snapshot.manifests(table.io):
        if manifest.added_snapshot_id != snapshot.snapshot_id:
            continue  # written by an earlier commit: its entries are that commit's changes
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False):
            if entry.status not in changed or entry.snapshot_id != snapshot.snapshot_id:
                continue
            partition = entry.data_file.partition
            value = partition[0] if len(partition) else None
            if isinstance(value, int):
                days.add(_EPOCH + timedelta(days=value))
    return frozenset(days)


class FixedLakeHistory:
    """A lake that never changes after it is read (a fixed Arrow table in tests and benchmarks)."""

    def __init__(self, committed_at: datetime | None) -> None:
        self._current = LakeVersion(1, committed_at) if committed_at is not None else None

    def current(self) -> LakeVersion | None:
        """The one version there is."""
        return self._current

    def changes_since(self, sequence: int | None) -> LakeChanges:
        """No change after the first read."""
        return LakeChanges(current=self._current, days={})
