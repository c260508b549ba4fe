"""Compaction, snapshot expiry and orphan removal on moto S3, with appends and erasures racing them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import boto3
import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from reviva.adapters.lake import (
    LakeWriter,
    compact_partition,
    ensure_events_table,
    expire_snapshots,
    load_lake_catalog,
    maintenance,
    remove_orphan_files,
    scan_events,
    watermark_property,
)
from reviva.adapters.lake.maintenance import MAINTENANCE_SNAPSHOT_PROPERTY
from reviva.contracts.events import EnrichedEvent
from reviva.settings import Settings
from tests.adapters.lake.conftest import BASE_TIME, make_event, writer_for

SHARD = "shardId-000000000000"
DAY = BASE_TIME.date()
NEXT_DAY = DAY + timedelta(days=1)


def _events(first: int, count: int, day: date) -> list[EnrichedEvent]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return [
        make_event(i, sequence=i + 1, event_time=start + timedelta(minutes=i))
        for i in range(first, first + count)
    ]


def _append_batches(writer: LakeWriter, batches: list[tuple[int, int, date]]) -> int:
    """Append (first, count, day) batches in order, each its own commit; return the last sequence."""
    last = 0
    for first, count, day in batches:
        last = first + count
        assert writer.append(SHARD, _events(first, count, day), last_sequence=str(last)) == count
    return last


def _rows(table: Table) -> list[dict[str, object]]:
    return sorted(scan_events(table).to_pylist(), key=lambda row: str(row["message_id"]))


def _files_by_day(table: Table) -> dict[int, list[str]]:
    table.refresh()
    days: dict[int, list[str]] = {}
    for task in table.scan().plan_files():
        days.setdefault(task.file.partition[0], []).append(task.file.file_path)
    return days


def _epoch_day(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def _object_exists(settings: Settings, path: str) -> bool:
    bucket, key = path.removeprefix("s3://").split("/", 1)
    client = boto3.client("s3", endpoint_url=settings.aws_endpoint_url, region_name="us-east-1")
    return "Contents" in client.list_objects_v2(Bucket=bucket, Prefix=key)


@pytest.fixture
def six_small_files(s3_writer: LakeWriter) -> int:
    """Five small files on DAY and two on NEXT_DAY (seven commits); returns the shard's watermark."""
    return _append_batches(
        s3_writer,
        [
            (0, 10, DAY),
            (10, 10, DAY),
            (20, 10, NEXT_DAY),
            (30, 10, DAY),
            (40, 10, DAY),
            (50, 10, NEXT_DAY),
            (60, 10, DAY),
        ],
    )


def test_compaction_merges_a_days_small_files_and_keeps_every_row(
    s3_table: Table, s3_writer: LakeWriter, six_small_files: int
) -> None:
    rows_before = _rows(s3_table)
    assert len(_files_by_day(s3_table)[_epoch_day(DAY)]) == 5

    result = compact_partition(s3_table, DAY)

    assert (result.files_rewritten, result.files_written, result.rows) == (5, 1, 50)
    files = _files_by_day(s3_table)
    assert len(files[_epoch_day(DAY)]) == 1
    assert len(files[_epoch_day(NEXT_DAY)]) == 2  # the other day is not touched
    assert _rows(s3_table) == rows_before
    assert s3_table.properties[watermark_property(SHARD)] == str(six_small_files)
    snapshot = s3_table.current_snapshot()
    assert snapshot is not None and snapshot.summary is not None
    assert snapshot.summary[MAINTENANCE_SNAPSHOT_PROPERTY] == "compaction"
    # Nothing left to merge: a second run commits nothing.
    again = compact_partition(s3_table, DAY)
    assert again.snapshot_id is None and again.files_rewritten == 0
    assert s3_table.refresh().current_snapshot() == snapshot


def test_compacted_rows_are_sorted_like_the_table(s3_table: Table, six_small_files: int) -> None:
    compact_partition(s3_table, DAY)
    (task,) = [t for t in s3_table.refresh().scan().plan_files() if t.file.partition[0] == _epoch_day(DAY)]
    import pyarrow.parquet as pq

    with s3_table.io.new_input(task.file.file_path).open() as stream:
        keys = pq.read_table(stream, columns=["visitor_key", "event_time"]).to_pylist()
    assert keys == sorted(keys, key=lambda row: (row["visitor_key"], row["event_time"]))


def test_an_append_landing_during_compaction_is_kept(
    s3_table: Table,
    s3_catalog: Catalog,
    s3_settings: Settings,
    six_small_files: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other_writer = writer_for(s3_catalog, s3_settings)
    read_rows = maintenance._read_rows
    raced: list[bool] = []

    def read_then_someone_appends(table: Table, tasks: list) -> pa.Table:  # type: ignore[type-arg]
        rows = read_rows(table, tasks)
        if not raced:
            raced.append(True)
            other_writer.append(SHARD, _events(70, 10, DAY), last_sequence="80")
        return rows

    monkeypatch.setattr(maintenance, "_read_rows", read_then_someone_appends)

    result = compact_partition(s3_table, DAY, base_delay_seconds=0.001)

    assert result.attempts >= 2 and result.files_rewritten == 5
    ids = scan_events(s3_table).column("message_id").to_pylist()
    assert len(ids) == len(set(ids)) == 80  # 70 before + 10 appended during the compaction
    assert len(_files_by_day(s3_table)[_epoch_day(DAY)]) == 2  # compacted file + the racing append
    assert s3_table.properties[watermark_property(SHARD)] == "80"


def test_an_erasure_landing_during_compaction_is_not_undone(
    s3_table: Table, s3_writer: LakeWriter, six_small_files: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    doomed = "a:visitor-3"
    read_rows = maintenance._read_rows
    erased: list[int] = []

    def read_then_someone_erases(table: Table, tasks: list) -> pa.Table:  # type: ignore[type-arg]
        rows = read_rows(table, tasks)
        if not erased:
            erased.append(s3_writer.delete_visitor_rows([doomed]))
        return rows

    monkeypatch.setattr(maintenance, "_read_rows", read_then_someone_erases)
    expected = sorted(str(row["message_id"]) for row in _rows(s3_table) if row["visitor_key"] != doomed)

    result = compact_partition(s3_table, DAY, base_delay_seconds=0.001)

    assert erased[0] > 0 and result.attempts >= 2
    remaining = scan_events(s3_table)
    assert doomed not in remaining.column("visitor_key").to_pylist()
    assert sorted(remaining.column("message_id").to_pylist()) == expected


def test_expiry_drops_old_snapshots_and_the_files_only_they_reached(
    s3_table: Table, s3_writer: LakeWriter, s3_settings: Settings, six_small_files: int
) -> None:
    compact_partition(s3_table, DAY)  # the five small DAY files are now unreachable from the head
    old_day_files = [
        entry.data_file.file_path
        for snapshot in s3_table.refresh().snapshots()
        for manifest in snapshot.manifests(s3_table.io)
        for entry in manifest.fetch_manifest_entry(s3_table.io)
        if entry.data_file.partition[0] == _epoch_day(DAY)
    ]
    live_files = [task.file.file_path for task in s3_table.scan().plan_files()]
    rows_before = _rows(s3_table)
    snapshots_before = len(s3_table.snapshots())

    result = expire_snapshots(s3_table, older_than=datetime.now(UTC) + timedelta(seconds=1))

    assert len(result.expired_snapshot_ids) == snapshots_before - 1
    assert len(s3_table.refresh().snapshots()) == 1
    assert result.deleted_data_files == 5
    dropped = set(old_day_files) - set(live_files)
    assert len(dropped) == 5 and not any(_object_exists(s3_settings, path) for path in dropped)
    assert all(_object_exists(s3_settings, path) for path in live_files)
    assert _rows(s3_table) == rows_before
    assert s3_table.properties[watermark_property(SHARD)] == str(six_small_files)
    assert expire_snapshots(s3_table, older_than=datetime.now(UTC)).expired_snapshot_ids == ()


def test_expiry_keeps_recent_snapshots_and_their_files(s3_table: Table, s3_writer: LakeWriter) -> None:
    _append_batches(s3_writer, [(0, 5, DAY)])
    cutoff = datetime.now(UTC)
    _append_batches(s3_writer, [(5, 5, DAY), (10, 5, DAY)])

    result = expire_snapshots(s3_table, older_than=cutoff, retain_last=1)

    assert len(result.expired_snapshot_ids) == 1
    assert result.deleted_data_files == 0  # the first batch's file is still live in the head
    assert len(s3_table.refresh().snapshots()) == 2
    assert scan_events(s3_table).num_rows == 15


def test_erased_rows_are_gone_from_storage_after_expiry(
    s3_table: Table, s3_writer: LakeWriter, s3_settings: Settings, six_small_files: int
) -> None:
    doomed = "a:visitor-3"
    holding_files = {
        task.file.file_path
        for task in s3_table.refresh().scan(row_filter=f"visitor_key = '{doomed}'").plan_files()
    }
    assert s3_writer.delete_visitor_rows([doomed]) > 0
    assert all(_object_exists(s3_settings, path) for path in holding_files)  # time travel still reaches them

    expire_snapshots(s3_table, older_than=datetime.now(UTC) + timedelta(seconds=1))

    assert not any(_object_exists(s3_settings, path) for path in holding_files)
    assert doomed not in scan_events(s3_table).column("visitor_key").to_pylist()


def test_orphan_removal_deletes_only_unreferenced_old_objects(
    s3_table: Table, s3_writer: LakeWriter, s3_settings: Settings, six_small_files: int
) -> None:
    name = "00000-0-0b680d63-7e6f-4619-bbb0-cd666b3c0e09.parquet"
    orphan = f"{s3_table.location()}/data/event_time_day={DAY}/{name}"
    with s3_table.io.new_output(orphan).create() as stream:
        stream.write(b"an abandoned commit's data file")
    referenced = [task.file.file_path for task in s3_table.refresh().scan().plan_files()]
    rows_before = _rows(s3_table)
    in_two_hours = lambda: datetime.now(UTC) + timedelta(hours=2)  # noqa: E731 - the clock, moved on

    listed = remove_orphan_files(
        s3_table, datetime.now(UTC) + timedelta(minutes=1), dry_run=True, now=in_two_hours
    )
    assert [f"s3://{path}" for path in listed.orphans] == [orphan] and listed.deleted == 0
    assert _object_exists(s3_settings, orphan)

    removed = remove_orphan_files(s3_table, datetime.now(UTC) + timedelta(minutes=1), now=in_two_hours)

    assert removed.deleted == 1 and not _object_exists(s3_settings, orphan)
    assert all(_object_exists(s3_settings, path) for path in referenced)
    assert _rows(s3_table) == rows_before
    # Recent objects may belong to a commit in flight: the default clock refuses such a cutoff.
    with pytest.raises(ValueError, match="commit in flight"):
        remove_orphan_files(s3_table, datetime.now(UTC))


def test_compaction_works_on_a_local_warehouse(file_settings: Settings) -> None:
    catalog = load_lake_catalog(file_settings)
    table = ensure_events_table(catalog, file_settings)
    writer = LakeWriter(lambda: table)
    _append_batches(writer, [(0, 4, DAY), (4, 4, DAY), (8, 4, DAY)])
    rows_before = _rows(table)

    result = compact_partition(table, DAY)

    assert (result.files_rewritten, result.files_written) == (3, 1)
    assert _rows(table) == rows_before


def test_compaction_refuses_a_minimum_of_one_file(s3_table: Table) -> None:
    with pytest.raises(ValueError, match="min_files"):
        compact_partition(s3_table, DAY, min_files=1)


def test_a_day_bigger_than_the_input_budget_is_compacted_over_several_runs(
    s3_table: Table, six_small_files: int
) -> None:
    day_files = sorted(
        task.file.file_size_in_bytes
        for task in s3_table.refresh().scan().plan_files()
        if task.file.partition[0] == _epoch_day(DAY)
    )
    budget = day_files[0] + day_files[1] + day_files[2]  # room for about three of the five files
    rows_before = _rows(s3_table)

    first = compact_partition(s3_table, DAY, max_input_bytes=budget)
    runs = [first]
    while runs[-1].files_rewritten:
        runs.append(compact_partition(s3_table, DAY, max_input_bytes=budget))

    assert 2 <= first.files_rewritten < 5
    assert len(runs) >= 3  # at least two rewriting runs and the final no-op
    assert _rows(s3_table) == rows_before
    assert len(_files_by_day(s3_table)[_epoch_day(DAY)]) < 5


def test_the_scheduled_run_expires_old_snapshots_then_compacts_recent_days(
    s3_table: Table, six_small_files: int
) -> None:
    rows_before = _rows(s3_table)
    snapshots_before = len(s3_table.snapshots())
    # Two hours after the commits: every snapshot but the current one is old enough to expire.
    later = datetime.now(UTC) + timedelta(hours=2)
    result = maintenance.run_scheduled_maintenance(s3_table, later, days=[NEXT_DAY, DAY])

    assert len(result.expiry.expired_snapshot_ids) == snapshots_before - 1
    assert not result.stopped_for_time
    assert [c.day for c in result.compactions if c.files_rewritten] == [NEXT_DAY, DAY]
    files = _files_by_day(s3_table)
    assert len(files[_epoch_day(DAY)]) == 1 and len(files[_epoch_day(NEXT_DAY)]) == 1
    assert _rows(s3_table) == rows_before
    assert s3_table.properties[watermark_property(SHARD)] == str(six_small_files)


def test_the_scheduled_run_stops_within_its_time_budget(s3_table: Table, six_small_files: int) -> None:
    ticks = iter(range(1000))
    result = maintenance.run_scheduled_maintenance(
        s3_table,
        datetime.combine(NEXT_DAY, datetime.min.time(), UTC),
        time_budget_seconds=0.5,
        clock=lambda: float(next(ticks)),
    )
    assert result.stopped_for_time
    assert len(result.compactions) == 0  # the budget was spent before the first compaction
    assert len(_rows(s3_table)) == 70
