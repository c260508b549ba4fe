"""Exactly-once appends, partitioning by event time, concurrency and erasure, on moto S3."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from reviva.adapters.lake import (
    LakeWriter,
    WatermarkConflict,
    remove_orphan_files,
    scan_events,
    watermark_property,
)
from reviva.adapters.lake.writer import LakeCommit
from reviva.contracts.events import EnrichedEvent
from reviva.enrich.ports import LakeSink
from reviva.settings import Settings
from reviva_dev.measure.s3_requests import RequestLog
from tests.adapters.lake.conftest import BASE_TIME, make_event, writer_for

SHARD = "shardId-000000000000"


def _by_message_id(table: pa.Table) -> dict[str, dict[str, object]]:
    return {row["message_id"]: row for row in table.to_pylist()}


def test_writer_satisfies_the_sink_protocol(s3_writer: LakeWriter) -> None:
    sink: LakeSink = s3_writer
    assert sink.watermark(SHARD) is None


def test_append_and_scan_round_trip_every_column(s3_writer: LakeWriter, s3_table: Table) -> None:
    events = [make_event(i) for i in range(12)]

    written = s3_writer.append(SHARD, events, last_sequence="12")

    assert written == 12
    rows = _by_message_id(scan_events(s3_table))
    assert set(rows) == {e.message_id for e in events}
    for event in events:
        assert rows[event.message_id] == event.model_dump(), event.message_id
    assert s3_writer.watermark(SHARD) == "12"


def test_rows_land_in_the_partition_of_their_event_day_not_arrival(
    s3_writer: LakeWriter, s3_table: Table
) -> None:
    arrival = BASE_TIME.replace(day=5)  # every row arrives the same day
    days = [BASE_TIME.replace(day=d, hour=23, minute=59) for d in (1, 2, 3)]
    events = [make_event(i, event_time=day, received_at=arrival) for i, day in enumerate(days)]

    s3_writer.append(SHARD, events, last_sequence="3")

    s3_table.refresh()
    files = [task.file for task in s3_table.scan().plan_files()]
    assert len(files) == 3
    partition_days = sorted(file.partition[0] for file in files)
    epoch_days = [(day.date() - day.date().replace(year=1970, month=1, day=1)).days for day in days]
    assert partition_days == epoch_days
    assert sorted(file.file_path.split("/")[-2] for file in files) == [
        f"event_time_day={day.date().isoformat()}" for day in days
    ]
    only_second_day = scan_events(
        s3_table,
        f"event_time >= '{days[1].date()}T00:00:00+00:00' and event_time < '{days[2].date()}T00:00:00+00:00'",
    )
    assert only_second_day.column("message_id").to_pylist() == [events[1].message_id]


def test_replaying_the_same_batch_writes_nothing(s3_writer: LakeWriter, s3_table: Table) -> None:
    events = [make_event(i) for i in range(5)]
    assert s3_writer.append(SHARD, events, last_sequence="5") == 5
    snapshots_after_first = len(s3_table.refresh().snapshots())

    assert s3_writer.append(SHARD, events, last_sequence="5") == 0
    assert s3_writer.append(SHARD, events[:3], last_sequence="3") == 0  # an older bisected half

    assert scan_events(s3_table).num_rows == 5
    assert len(s3_table.refresh().snapshots()) == snapshots_after_first


def test_the_commit_observer_hears_of_each_commit_and_of_nothing_else(
    s3_catalog: Catalog, s3_settings: Settings, s3_table: Table
) -> None:
    heard: list[LakeCommit] = []
    writer = writer_for(s3_catalog, s3_settings, on_commit=heard.append)

    writer.append(SHARD, [make_event(i) for i in range(5)], last_sequence="5")
    writer.append(SHARD, [make_event(i) for i in range(5)], last_sequence="5")  # a replay
    writer.append(SHARD, [], last_sequence="6")  # an empty batch, not committed
    writer.append(SHARD, [make_event(i) for i in range(8)], last_sequence="8")

    assert heard == [LakeCommit(SHARD, 5, "5"), LakeCommit(SHARD, 3, "8")]
    assert len(s3_table.refresh().snapshots()) == 2


def test_rows_covered_by_a_newer_watermark_are_dropped_under_the_commit(
    s3_writer: LakeWriter, s3_table: Table
) -> None:
    """A caller with a stale watermark re-sends records 1-5 with new ones 6-8: only 6-8 land."""
    s3_writer.append(SHARD, [make_event(i) for i in range(5)], last_sequence="5")

    written = s3_writer.append(SHARD, [make_event(i) for i in range(8)], last_sequence="8")

    assert written == 3
    counts = Counter(scan_events(s3_table).column("message_id").to_pylist())
    assert len(counts) == 8 and set(counts.values()) == {1}
    assert s3_writer.watermark(SHARD) == "8"


def test_sequence_numbers_compare_as_integers(s3_writer: LakeWriter) -> None:
    s3_writer.append(SHARD, [make_event(0, sequence=9)], last_sequence="9")
    # "10" < "9" as strings; as numbers it is newer and must be written.
    assert s3_writer.append(SHARD, [make_event(1, sequence=10)], last_sequence="10") == 1
    long_kinesis = "49654739451293462379204719487139456138713283472390414338"
    assert s3_writer.append(SHARD, [make_event(2, sequence=int(long_kinesis))], long_kinesis) == 1
    assert s3_writer.watermark(SHARD) == long_kinesis


def test_empty_batch_commits_nothing_by_default(s3_writer: LakeWriter, s3_table: Table) -> None:
    s3_writer.append(SHARD, [make_event(0)], last_sequence="1")
    metadata_before = s3_table.refresh().metadata_location

    assert s3_writer.append(SHARD, [], last_sequence="7") == 0

    assert s3_table.refresh().metadata_location == metadata_before
    assert s3_writer.watermark(SHARD) == "1"


def test_empty_batch_can_advance_the_watermark_without_a_snapshot(
    s3_catalog: Catalog, s3_settings: Settings, s3_table: Table
) -> None:
    writer = writer_for(s3_catalog, s3_settings, commit_empty_batches=True)
    writer.append(SHARD, [make_event(0)], last_sequence="1")
    snapshots_before = len(s3_table.refresh().snapshots())

    assert writer.append(SHARD, [], last_sequence="7") == 0

    assert writer.watermark(SHARD) == "7"
    assert len(s3_table.refresh().snapshots()) == snapshots_before
    assert writer.append(SHARD, [make_event(3, sequence=5)], last_sequence="5") == 0


def test_a_stale_watermark_fails_the_commit_and_writes_nothing(
    s3_writer: LakeWriter, s3_table: Table
) -> None:
    """The compare-and-set: a writer that read no watermark cannot commit over one that exists."""
    s3_writer.append(SHARD, [make_event(0)], last_sequence="1")
    s3_table.refresh()

    with pytest.raises(WatermarkConflict):
        LakeWriter._commit(s3_table, SHARD, watermark_property(SHARD), None, [make_event(1)], "2")

    assert scan_events(s3_table).num_rows == 1
    assert s3_table.refresh().properties[watermark_property(SHARD)] == "1"


def test_two_shards_committing_concurrently_both_land(s3_catalog: Catalog, s3_settings: Settings) -> None:
    shards = ["shardId-000000000000", "shardId-000000000001"]
    batches, batch_size = 4, 25
    start_together = threading.Barrier(len(shards))
    errors: list[BaseException] = []

    def consume(shard: str) -> None:
        writer = writer_for(s3_catalog, s3_settings, base_delay_seconds=0.01)
        try:
            for batch in range(batches):
                first = batch * batch_size
                events = [make_event(i, shard_id=shard) for i in range(first, first + batch_size)]
                start_together.wait(timeout=30)
                assert writer.append(shard, events, last_sequence=str(first + batch_size)) == batch_size
        except BaseException as error:
            errors.append(error)
            start_together.abort()

    threads = [threading.Thread(target=consume, args=(shard,)) for shard in shards]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    table = s3_catalog.load_table(("reviva", "events"))
    ids = scan_events(table).column("message_id").to_pylist()
    assert len(ids) == len(set(ids)) == len(shards) * batches * batch_size
    for shard in shards:
        assert table.properties[watermark_property(shard)] == str(batches * batch_size)


def test_delete_visitor_rows_removes_exactly_that_visitor(s3_writer: LakeWriter, s3_table: Table) -> None:
    # Two days, so the delete both drops and rewrites files.
    events = [make_event(i, event_time=BASE_TIME + timedelta(hours=i)) for i in range(40)]
    events.append(make_event(40, visitor="a:only-one-file", event_time=BASE_TIME + timedelta(days=5)))
    s3_writer.append(SHARD, events, last_sequence="41")
    doomed = {"a:visitor-3", "a:only-one-file"}
    expected_removed = sum(1 for e in events if e.visitor_key in doomed)

    removed = s3_writer.delete_visitor_rows(sorted(doomed))

    assert removed == expected_removed
    remaining = scan_events(s3_table)
    assert doomed.isdisjoint(remaining.column("visitor_key").to_pylist())
    assert sorted(remaining.column("message_id").to_pylist()) == sorted(
        e.message_id for e in events if e.visitor_key not in doomed
    )
    assert s3_writer.delete_visitor_rows(sorted(doomed)) == 0
    assert s3_writer.delete_visitor_rows([]) == 0


def test_glue_catalog_on_moto_appends_exactly_once(moto_endpoint: str, s3_settings: Settings) -> None:
    from reviva.adapters.lake import ensure_events_table, load_lake_catalog

    settings = s3_settings.model_copy(update={"lake_catalog": "glue", "lake_namespace": "reviva_glue"})
    catalog = load_lake_catalog(settings)
    table = ensure_events_table(catalog, settings)
    writer = LakeWriter(lambda: catalog.load_table(("reviva_glue", "events")))
    events: list[EnrichedEvent] = [make_event(i) for i in range(4)]

    assert writer.append(SHARD, events, last_sequence="4") == 4
    assert writer.append(SHARD, events, last_sequence="4") == 0
    assert scan_events(table).num_rows == 4


# ---------------------------------------------------------------- unapplied messages of a shard


def test_unapplied_messages_round_trip_through_a_property_only_commit(
    s3_catalog: Catalog, s3_settings: Settings, request_log: RequestLog
) -> None:
    writer = writer_for(s3_catalog, s3_settings)
    writer.append(SHARD, [make_event(0)], last_sequence="1")
    writer.watermark(SHARD)
    mark = request_log.mark()
    assert writer.unapplied(SHARD) is None
    assert request_log.since(mark, s3_settings.lake_bucket) == [], "no note: nothing to read"

    writer.record_unapplied(SHARD, b"twelve bytes" * 3)

    # Another container (a fresh writer) reads it with the watermark, and the rows are untouched.
    other = writer_for(s3_catalog, s3_settings)
    assert other.watermark(SHARD) == "1"
    assert other.unapplied(SHARD) == b"twelve bytes" * 3
    assert other.unapplied("shardId-000000000001") is None
    other.record_unapplied(SHARD, b"")
    writer.watermark(SHARD)
    assert writer.unapplied(SHARD) is None
    assert len(scan_events(writer_for(s3_catalog, s3_settings)._fresh_table())) == 1


def test_a_second_writer_of_the_note_cannot_overwrite_the_first(
    s3_catalog: Catalog, s3_settings: Settings
) -> None:
    consumer, replay = writer_for(s3_catalog, s3_settings), writer_for(s3_catalog, s3_settings)
    consumer.append(SHARD, [make_event(0)], last_sequence="1")
    consumer.watermark(SHARD)
    replay.watermark(SHARD)
    assert consumer.unapplied(SHARD) is None and replay.unapplied(SHARD) is None

    replay.record_unapplied(SHARD, b"the replay's")
    with pytest.raises(WatermarkConflict):
        consumer.record_unapplied(SHARD, b"the consumer's, from a stale read")

    consumer.watermark(SHARD)
    assert consumer.unapplied(SHARD) == b"the replay's"


def test_orphan_removal_keeps_the_note(s3_catalog: Catalog, s3_settings: Settings, s3_table: Table) -> None:
    writer = writer_for(s3_catalog, s3_settings)
    writer.append(SHARD, [make_event(0)], last_sequence="1")
    writer.watermark(SHARD)
    writer.unapplied(SHARD)
    writer.record_unapplied(SHARD, b"first")
    writer.record_unapplied(SHARD, b"second")  # the first object is no longer named
    later = lambda: datetime.now(UTC) + timedelta(hours=2)  # noqa: E731 - the clock, moved on

    removed = remove_orphan_files(s3_table, datetime.now(UTC) + timedelta(minutes=1), now=later)

    assert [path for path in removed.orphans if "reviva-unapplied" in path] != []
    fresh = writer_for(s3_catalog, s3_settings)
    fresh.watermark(SHARD)
    assert fresh.unapplied(SHARD) == b"second"
