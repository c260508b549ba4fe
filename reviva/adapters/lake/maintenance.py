"""Lake maintenance: compact a day's small files, expire old snapshots, remove orphan files.

The enrich function commits one small Parquet file per Kinesis batch and day, so a day partition
collects hundreds of files of a few hundred KB; every commit also leaves a snapshot. Left alone,
Athena opens every small file and the table metadata grows by a snapshot per batch (and erased
visitors stay reachable by time travel). These functions are what a scheduled maintenance job
calls; each is safe while the enrich function keeps appending:

- `compact_partition` rewrites the small files of one day into few large ones. It replaces exactly
  the files it read (never "everything matching a filter"), so rows appended meanwhile are kept; if
  a commit races, the already written files are re-committed on the new table state, and if one of
  the files it read disappeared (an erasure rewrote it) it starts over, so erased rows never return.
- `expire_snapshots` drops snapshots older than a time (keeping the newest few) and deletes the
  manifest lists, manifests and data files only they reached.
- `remove_orphan_files` deletes objects under the table's location that no snapshot or metadata
  file references (left by failed or abandoned commits), if older than a safety age.

None of them touches table properties, so the per-shard watermarks (`reviva.watermark.*`) are
carried over by every maintenance commit.

What pyiceberg 0.12 lacks, and is therefore written here: a rewrite-data-files action (Java's
RewriteDataFiles), file deletion on snapshot expiry (its ExpireSnapshots only edits metadata), and
orphan-file removal. It cannot rewrite manifests on demand either (only the append-time merge,
`commit.manifest-merge.enabled`), and it cannot compact away row-level delete files: files that
carry delete files (Athena's merge-on-read DELETE writes them) are left for Athena's
`OPTIMIZE ... REWRITE DATA` instead.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
from pyarrow.fs import FileSelector, FileType
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io import FileIO
from pyiceberg.io.pyarrow import ArrowScan, PyArrowFileIO, _dataframe_to_data_files
from pyiceberg.manifest import DataFile, ManifestFile
from pyiceberg.table import FileScanTask, Table
from pyiceberg.table.snapshots import Snapshot
from pyiceberg.transforms import DayTransform
from pyiceberg.utils.datetime import datetime_to_millis

from reviva.adapters.lake.schema import sort_like_table
from reviva.adapters.lake.transaction import lake_transaction
from reviva.adapters.lake.writer import UNAPPLIED_PREFIX

logger = logging.getLogger(__name__)

MAINTENANCE_SNAPSHOT_PROPERTY = "reviva.maintenance"
COMPACTED_DAY_PROPERTY = "reviva.compacted-day"
# A file below this size is "small": it gets merged with its day's other small files. Files above
# it are already worth their own request when Athena reads them.
DEFAULT_SMALL_FILE_BYTES = 64 * 1024 * 1024
# How much Parquet one compaction run reads. Arrow holds it decompressed (several times larger),
# so this sizes the maintenance function's memory; a day bigger than this takes several runs.
DEFAULT_MAX_INPUT_BYTES = 128 * 1024 * 1024
# Orphan removal must never delete a file a running commit has written but not yet committed; a
# Lambda runs at most 15 minutes, so anything younger than this is left alone.
MIN_ORPHAN_AGE = timedelta(hours=1)
# How long a snapshot is kept before the `lake-expiry` schedule (every 5 minutes) expires it. Every
# enrich commit reads, copies and rewrites the table metadata, which holds every kept snapshot, so
# commit CPU grows with this age times the commit rate (docs/cost.md). Ten minutes still outlasts any
# query planned on an older snapshot (Athena's cutoff stops scans long before), whose files expiry
# may delete.
SNAPSHOT_RETENTION = timedelta(minutes=10)

_EPOCH = date(1970, 1, 1)


class MaintenanceConflict(RuntimeError):
    """A maintenance commit kept losing races with other writers and gave up (safe to rerun)."""


@dataclass(frozen=True)
class CompactionResult:
    """What `compact_partition` did to one day."""

    day: date
    files_rewritten: int  # small files replaced
    files_written: int  # files that replaced them
    rows: int  # rows moved (unchanged in content)
    snapshot_id: int | None  # the REPLACE-like overwrite snapshot, None when nothing was done
    attempts: int


@dataclass(frozen=True)
class ExpiryResult:
    """What `expire_snapshots` removed."""

    expired_snapshot_ids: tuple[int, ...]
    deleted_manifest_lists: int = 0
    deleted_manifests: int = 0
    deleted_data_files: int = 0


@dataclass(frozen=True)
class OrphanResult:
    """What `remove_orphan_files` found and deleted."""

    objects_listed: int
    orphans: tuple[str, ...] = field(default=())
    deleted: int = 0


def _sleep_backoff(attempt: int, base_delay: float, max_delay: float = 5.0) -> None:
    # Full jitter, like the writer: racing maintenance and appends must not collide in lockstep.
    time.sleep(random.uniform(0, min(max_delay, base_delay * 2**attempt)))


# --------------------------------------------------------------------------- compaction


def _day_partition_index(table: Table) -> int:
    """Position of the day(event_time) field in the current partition spec."""
    spec = table.spec()
    event_time_id = table.schema().find_field("event_time").field_id
    for index, partition_field in enumerate(spec.fields):
        if partition_field.source_id == event_time_id and isinstance(partition_field.transform, DayTransform):
            return index
    raise ValueError("the events table is not partitioned by day(event_time); cannot compact a day")


def _small_files_of_day(table: Table, day: date, small_file_bytes: int) -> list[FileScanTask]:
    """The day's data files worth merging: current spec, below the size bar, no delete files."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    end = start + timedelta(days=1)
    day_filter = f"event_time >= '{start.isoformat()}' and event_time < '{end.isoformat()}'"
    index = _day_partition_index(table)
    epoch_day = (day - _EPOCH).days
    spec_id = table.spec().spec_id
    return [
        task
        for task in table.scan(row_filter=day_filter).plan_files()
        if task.file.spec_id == spec_id
        and task.file.partition[index] == epoch_day
        and task.file.file_size_in_bytes < small_file_bytes
        and not task.delete_files
    ]


def _within_budget(tasks: list[FileScanTask], max_input_bytes: int) -> list[FileScanTask]:
    """The first files (planning order: oldest manifests first) whose sizes fit the budget."""
    picked: list[FileScanTask] = []
    total = 0
    for task in tasks:
        size = task.file.file_size_in_bytes
        if picked and total + size > max_input_bytes:
            break
        picked.append(task)
        total += size
    return picked


def _read_rows(table: Table, tasks: list[FileScanTask]) -> pa.Table:
    """Every row of these files, in the table's current schema and sort order."""
    rows = ArrowScan(table.metadata, table.io, table.schema(), row_filter=AlwaysTrue()).to_table(tasks)
    return sort_like_table(rows)


def _write_files(table: Table, rows: pa.Table) -> list[DataFile]:
    return list(_dataframe_to_data_files(table.metadata, rows, table.io, write_uuid=uuid.uuid4()))


def _delete_quietly(io: FileIO, paths: Iterable[str]) -> None:
    for path in paths:
        try:
            io.delete(path)
        except Exception:  # an undeleted abandoned file is an orphan, which orphan removal collects
            logger.warning("could not delete abandoned file %s", path, exc_info=True)


def compact_partition(
    table: Table,
    day: date,
    *,
    small_file_bytes: int = DEFAULT_SMALL_FILE_BYTES,
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
    min_files: int = 2,
    max_attempts: int = 8,
    base_delay_seconds: float = 0.2,
) -> CompactionResult:
    """Rewrite the small data files of one `day(event_time)` partition into few large files.

    Rows are unchanged (same values, sorted like the table); only their files change. Does nothing
    when the day has fewer than `min_files` small files. One run reads at most `max_input_bytes` of
    Parquet (oldest files first) and holds it in memory as Arrow, several times larger: run it
    again until `files_rewritten` is 0 to finish a big day. Safe against concurrent appends and
    erasures (see the module docstring); raises MaintenanceConflict after `max_attempts` lost races.
    """
    if min_files < 2:
        raise ValueError("min_files must be at least 2: rewriting one file into one file gains nothing")
    written: list[DataFile] = []
    written_for: set[str] = set()
    for attempt in range(max_attempts):
        table.refresh()
        candidates = _small_files_of_day(table, day, small_file_bytes)
        live = {task.file.file_path for task in candidates}
        if written and not written_for <= live:
            # A file we merged was removed meanwhile (an erasure rewrote it): our copy may hold
            # erased rows, so throw it away and read the day again.
            _delete_quietly(table.io, (data_file.file_path for data_file in written))
            written, written_for = [], set()
        if not written:
            tasks = _within_budget(candidates, max_input_bytes)
            if len(tasks) < min_files:
                return CompactionResult(day, 0, 0, 0, None, attempt + 1)
            rows = _read_rows(table, tasks)
            expected = sum(task.file.record_count for task in tasks)
            if rows.num_rows != expected:
                raise RuntimeError(f"compaction of {day} read {rows.num_rows} rows, manifests say {expected}")
            written = _write_files(table, rows)
            written_for = {task.file.file_path for task in tasks}
        replaced = [task.file for task in candidates if task.file.file_path in written_for]
        try:
            transaction = lake_transaction(table)
            stamp = {MAINTENANCE_SNAPSHOT_PROPERTY: "compaction", COMPACTED_DAY_PROPERTY: day.isoformat()}
            with transaction.update_snapshot(snapshot_properties=stamp).overwrite() as rewrite:
                for data_file in replaced:
                    rewrite.delete_data_file(data_file)
                for data_file in written:
                    rewrite.append_data_file(data_file)
            transaction.commit_transaction()
        except (CommitFailedException, ValidationException) as error:
            # pyiceberg's own retry re-validates with serializable isolation and refuses any
            # concurrent append; re-planning here on fresh metadata is the compaction-safe check.
            logger.info("compaction of %s lost a race (%s); retrying", day, error)
            _sleep_backoff(attempt, base_delay_seconds)
            continue
        snapshot = table.current_snapshot()
        return CompactionResult(
            day=day,
            files_rewritten=len(replaced),
            files_written=len(written),
            rows=sum(data_file.record_count for data_file in written),
            snapshot_id=snapshot.snapshot_id if snapshot else None,
            attempts=attempt + 1,
        )
    _delete_quietly(table.io, (data_file.file_path for data_file in written))
    raise MaintenanceConflict(f"compaction of {day} lost {max_attempts} races with other writers")


# --------------------------------------------------------------------------- snapshot expiry


def _manifests_of(snapshots: Iterable[Snapshot], io: FileIO) -> dict[str, ManifestFile]:
    manifests: dict[str, ManifestFile] = {}
    for snapshot in snapshots:
        for manifest in snapshot.manifests(io):
            manifests.setdefault(manifest.manifest_path, manifest)
    return manifests


def _data_paths(manifests: Iterable[ManifestFile], io: FileIO, *, live_only: bool) -> set[str]:
    def paths(manifest: ManifestFile) -> set[str]:
        entries = manifest.fetch_manifest_entry(io, discard_deleted=live_only)
        return {entry.data_file.file_path for entry in entries}

    with ThreadPoolExecutor(max_workers=8) as pool:
        return set().union(*pool.map(paths, list(manifests)))


def _snapshots_to_expire(table: Table, older_than: datetime, retain_last: int) -> list[Snapshot]:
    metadata = table.metadata
    protected = {ref.snapshot_id for ref in metadata.refs.values()}
    newest_first = sorted(metadata.snapshots, key=lambda snapshot: snapshot.timestamp_ms, reverse=True)
    protected.update(snapshot.snapshot_id for snapshot in newest_first[:retain_last])
    cutoff = datetime_to_millis(older_than)
    return [s for s in metadata.snapshots if s.timestamp_ms < cutoff and s.snapshot_id not in protected]


def expire_snapshots(
    table: Table,
    older_than: datetime,
    *,
    retain_last: int = 1,
    delete_files: bool = True,
    max_attempts: int = 8,
    base_delay_seconds: float = 0.2,
) -> ExpiryResult:
    """Expire snapshots taken before `older_than`, keeping at least the newest `retain_last`.

    With `delete_files`, also deletes the manifest lists, manifests and data files that only the
    expired snapshots reached (what time travel to them needed, e.g. an erased visitor's old files).
    A file still live in any kept snapshot is never deleted. Retries lost commit races.
    """
    if retain_last < 1:
        raise ValueError("retain_last must be at least 1: the current snapshot is the table")
    for attempt in range(max_attempts):
        table.refresh()
        expired = _snapshots_to_expire(table, older_than, retain_last)
        if not expired:
            return ExpiryResult(expired_snapshot_ids=())
        expired_ids = {snapshot.snapshot_id for snapshot in expired}
        kept = [snapshot for snapshot in table.metadata.snapshots if snapshot.snapshot_id not in expired_ids]
        if delete_files:
            # Planned before the commit, from the same metadata: a concurrent append only adds a
            # snapshot on top of the (kept) head, so it cannot make an expired file reachable.
            kept_manifests = _manifests_of(kept, table.io)
            doomed_manifests = {
                path: manifest
                for path, manifest in _manifests_of(expired, table.io).items()
                if path not in kept_manifests
            }
            doomed_data = _data_paths(doomed_manifests.values(), table.io, live_only=False) - _data_paths(
                kept_manifests.values(), table.io, live_only=True
            )
            doomed_lists = {snapshot.manifest_list for snapshot in expired} - {s.manifest_list for s in kept}
        try:
            table.maintenance.expire_snapshots().by_ids(sorted(expired_ids)).commit()
        except (CommitFailedException, ValueError) as error:
            # ValueError: another expiry removed one of these snapshots first; plan again.
            logger.info("snapshot expiry lost a race (%s); retrying", error)
            _sleep_backoff(attempt, base_delay_seconds)
            continue
        if not delete_files:
            return ExpiryResult(expired_snapshot_ids=tuple(sorted(expired_ids)))
        _delete_all(table.io, [*doomed_data, *doomed_manifests, *doomed_lists])
        return ExpiryResult(
            expired_snapshot_ids=tuple(sorted(expired_ids)),
            deleted_manifest_lists=len(doomed_lists),
            deleted_manifests=len(doomed_manifests),
            deleted_data_files=len(doomed_data),
        )
    raise MaintenanceConflict(f"snapshot expiry lost {max_attempts} races with other writers")


def _delete_all(io: FileIO, paths: list[str]) -> None:
    # One DeleteObject each: deletes are free on S3, a multi-object delete is a billed POST.
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda path: _delete_quietly(io, [path]), paths))


# --------------------------------------------------------------------------- orphan files


def _referenced_paths(table: Table) -> set[str]:
    """Every object the table's metadata can lead a reader to (any snapshot, any entry status)."""
    metadata = table.metadata
    referenced = {table.metadata_location, *(entry.metadata_file for entry in metadata.metadata_log)}
    referenced.update(snapshot.manifest_list for snapshot in metadata.snapshots)
    manifests = _manifests_of(metadata.snapshots, table.io)
    referenced.update(manifests)
    referenced.update(_data_paths(manifests.values(), table.io, live_only=False))
    referenced.update(statistics.statistics_path for statistics in metadata.statistics)
    # Objects the table's own properties name (a shard's unapplied messages), not Iceberg's files.
    referenced.update(
        value for name, value in metadata.properties.items() if name.startswith(UNAPPLIED_PREFIX)
    )
    return referenced


def remove_orphan_files(
    table: Table,
    older_than: datetime,
    *,
    dry_run: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> OrphanResult:
    """Delete objects under the table's location that its metadata does not reference.

    Only objects last modified before `older_than` are candidates, and `older_than` must be at
    least MIN_ORPHAN_AGE in the past: a commit in flight has written files it has not referenced
    yet. Run it after `expire_snapshots` (fewer snapshots to walk). With `dry_run`, lists only.
    """
    if older_than > now() - MIN_ORPHAN_AGE:
        raise ValueError(
            f"older_than must be at least {MIN_ORPHAN_AGE} ago: newer files may belong to a commit in flight"
        )
    io = table.io
    if not isinstance(io, PyArrowFileIO):
        raise NotImplementedError(
            f"orphan removal lists objects through pyarrow; the table uses {type(io).__name__}"
        )
    table.refresh()
    location = table.location()
    scheme, netloc, root = io.parse_location(location, io.properties)
    filesystem = io.fs_by_scheme(scheme, netloc)
    referenced = {io.parse_location(path, io.properties)[2] for path in _referenced_paths(table)}
    listed = filesystem.get_file_info(FileSelector(root, recursive=True, allow_not_found=True))
    files = [info for info in listed if info.type == FileType.File]
    orphans = sorted(
        info.path
        for info in files
        if info.path not in referenced and info.mtime is not None and info.mtime < older_than
    )
    prefix = f"{scheme}://" if scheme not in ("", "file") else "file://"
    if not dry_run:
        _delete_all(io, [f"{prefix}{path}" for path in orphans])
    deleted = 0 if dry_run else len(orphans)
    return OrphanResult(objects_listed=len(files), orphans=tuple(orphans), deleted=deleted)


@dataclass(frozen=True)
class ScheduledMaintenance:
    """What one scheduled maintenance run did."""

    expiry: ExpiryResult
    compactions: tuple[CompactionResult, ...]
    stopped_for_time: bool


def run_scheduled_maintenance(
    table: Table,
    now: datetime,
    *,
    snapshot_age: timedelta = SNAPSHOT_RETENTION,
    days: Sequence[date] | None = None,
    time_budget_seconds: float = 200.0,
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES // 2,
    clock: Callable[[], float] = time.monotonic,
) -> ScheduledMaintenance:
    """The hourly job: expire snapshots older than `snapshot_age`, then compact `days` (default: the
    day of `now` and the day before, the partitions enrich is still appending to).

    Every enrich batch adds a snapshot, and metadata.json (rewritten by every commit) grows with
    each one kept, so expiry is what keeps commits cheap; compaction keeps Athena's scans from
    opening thousands of small files. Compaction repeats per day until nothing is left to merge or
    the time budget (under the function's timeout) is spent; the next run carries on.
    """
    started = clock()
    expiry = expire_snapshots(table, now - snapshot_age)
    compactions: list[CompactionResult] = []
    stopped = False
    recent = days if days is not None else [now.date(), (now - timedelta(days=1)).date()]
    for day in recent:
        while True:
            if clock() - started > time_budget_seconds:
                stopped = True
                break
            result = compact_partition(table, day, max_input_bytes=max_input_bytes)
            compactions.append(result)
            if result.files_rewritten == 0:
                break
        if stopped:
            break
    return ScheduledMaintenance(expiry, tuple(compactions), stopped)
