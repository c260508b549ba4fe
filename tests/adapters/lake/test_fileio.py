"""S3 and catalog requests per lake commit, counted where moto's server receives them.

Each batch is what the enrich service does: `watermark(shard)` then `append(shard, rows, last)`.
Before LakeFileIO (pyiceberg's stock PyArrowFileIO) a batch cost ~13 PUT/POST/LIST and ~11
GET/HEAD requests and 3 table loads; these tests pin the reduced counts so a regression shows.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from pyiceberg.catalog import Catalog

from reviva.adapters.lake import LakeWriter, fileio, scan_events
from reviva.adapters.lake.fileio import (
    ImmutableObjectCache,
    LakeFileIO,
    delayed_open_enabled,
    is_immutable_metadata,
)
from reviva.settings import Settings
from reviva_dev.measure.s3_requests import RequestLog
from tests.adapters.lake.conftest import BASE_TIME, make_event, writer_for

SHARD = "shardId-000000000000"
OTHER_SHARD = "shardId-000000000001"


def _batch(first: int, size: int, shard: str = SHARD) -> list:  # type: ignore[type-arg]
    # One day partition, as nearly every real batch is: one data file per commit.
    return [
        make_event(
            i, shard_id=shard, sequence=i + 1, event_time=BASE_TIME.replace(hour=0) + timedelta(seconds=i)
        )
        for i in range(first, first + size)
    ]


def _run_batch(writer: LakeWriter, shard: str, first: int, size: int = 20) -> int:
    writer.watermark(shard)
    return writer.append(shard, _batch(first, size, shard), last_sequence=str(first + size))


def _tiers(requests: list) -> Counter[str]:  # type: ignore[type-arg]
    counts: Counter[str] = Counter(request.s3_tier for request in requests)
    counts.update(f"method:{request.method}" for request in requests)
    return counts


def test_the_catalog_uses_lake_file_io_with_single_request_uploads(
    s3_catalog: Catalog, s3_settings: Settings
) -> None:
    table = s3_catalog.load_table(("reviva", "events"))
    assert isinstance(table.io, LakeFileIO)
    assert delayed_open_enabled(table.io.fs_by_scheme("s3", s3_settings.lake_bucket))


def test_a_warm_writer_alone_commits_with_four_puts_and_no_reads(
    s3_catalog: Catalog,
    s3_settings: Settings,
    request_log: RequestLog,
    own_metadata_cache: ImmutableObjectCache,
) -> None:
    writer = writer_for(s3_catalog, s3_settings)
    _run_batch(writer, SHARD, 0)  # cold: loads the table once

    per_batch = []
    for batch in range(1, 4):
        mark = request_log.mark()
        assert _run_batch(writer, SHARD, batch * 20) == 20
        per_batch.append(_tiers(request_log.since(mark, s3_settings.lake_bucket)))

    for counts in per_batch:
        # data file, manifest, manifest list, metadata.json: one PutObject each, nothing else.
        assert counts["method:PUT"] == 4, counts
        assert counts["tier1"] == 4, counts
        assert counts["tier2"] == 0, counts
        assert counts["method:POST"] == 0, counts  # no multipart upload
    assert scan_events(s3_catalog.load_table(("reviva", "events"))).num_rows == 80


def test_after_another_writer_committed_a_batch_reads_only_the_two_new_objects(
    s3_catalog: Catalog,
    s3_settings: Settings,
    request_log: RequestLog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two shards in two Lambda containers (two caches): each commit follows the other's."""
    caches = {SHARD: ImmutableObjectCache(), OTHER_SHARD: ImmutableObjectCache()}
    writers = {shard: writer_for(s3_catalog, s3_settings) for shard in caches}

    def run(shard: str, first: int) -> Counter[str]:
        monkeypatch.setattr(fileio, "METADATA_CACHE", caches[shard])
        mark = request_log.mark()
        assert _run_batch(writers[shard], shard, first) == 20
        return _tiers(request_log.since(mark, s3_settings.lake_bucket))

    run(SHARD, 0)
    run(OTHER_SHARD, 1000)
    for round_ in range(1, 3):
        for shard, base in ((SHARD, 0), (OTHER_SHARD, 1000)):
            counts = run(shard, base + round_ * 20)
            assert counts["tier1"] == 4, counts
            # The other writer's metadata.json and manifest list, one GET each (no HEAD first).
            assert counts["method:GET"] == 2 and counts["tier2"] == 2, counts
    ids = scan_events(s3_catalog.load_table(("reviva", "events"))).column("message_id").to_pylist()
    assert len(ids) == len(set(ids)) == 120


def test_a_commit_on_the_reused_view_fails_cleanly_when_the_same_shard_moved(
    s3_catalog: Catalog, s3_settings: Settings
) -> None:
    """The append reuses the table loaded by `watermark`; a second writer on the same shard moves
    the watermark in between. The stale commit must be refused and retried: no duplicate rows."""
    first = writer_for(s3_catalog, s3_settings, base_delay_seconds=0.001)
    second = writer_for(s3_catalog, s3_settings)

    assert first.watermark(SHARD) is None
    assert second.append(SHARD, _batch(0, 5), last_sequence="5") == 5

    written = first.append(SHARD, _batch(0, 8), last_sequence="8")

    assert written == 3
    counts = Counter(
        scan_events(s3_catalog.load_table(("reviva", "events"))).column("message_id").to_pylist()
    )
    assert len(counts) == 8 and set(counts.values()) == {1}
    assert first.watermark(SHARD) == "8"


def test_deleting_an_object_is_one_delete_request(
    s3_catalog: Catalog, s3_settings: Settings, request_log: RequestLog
) -> None:
    io = s3_catalog.load_table(("reviva", "events")).io
    location = f"s3://{s3_settings.lake_bucket}/warehouse/scratch/0-3f1e7c4a-1b2c-4d5e-8f90-123456789abc.avro"
    with io.new_output(location).create() as stream:
        stream.write(b"abc")
    assert len(io.new_input(location).open().read()) == 3
    mark = request_log.mark()

    io.delete(location)

    assert [request.method for request in request_log.since(mark, s3_settings.lake_bucket)] == ["DELETE"]
    assert not io.new_input(location).exists()  # the cached copy is gone too


def test_glue_commits_cost_two_get_table_and_one_update_table(
    s3_settings: Settings, request_log: RequestLog, own_metadata_cache: ImmutableObjectCache
) -> None:
    from reviva.adapters.lake import ensure_events_table, load_lake_catalog

    settings = s3_settings.model_copy(update={"lake_catalog": "glue", "lake_namespace": "reviva_glue_cost"})
    catalog = load_lake_catalog(settings)
    ensure_events_table(catalog, settings)
    writer = LakeWriter(lambda: catalog.load_table(("reviva_glue_cost", "events")))
    _run_batch(writer, SHARD, 0)

    mark = request_log.mark()
    assert _run_batch(writer, SHARD, 20) == 20

    glue_calls = Counter(
        r.target.split(".")[-1] for r in request_log.since(mark) if r.target.startswith("AWSGlue")
    )
    # watermark: GetTable; commit: GetTable + UpdateTable. No second load, no GetDatabase.
    assert glue_calls == Counter({"GetTable": 2, "UpdateTable": 1})


def test_immutable_cache_is_bounded_least_recently_used_first() -> None:
    cache = ImmutableObjectCache(max_bytes=10)
    cache.put("a", b"1234")
    cache.put("b", b"5678")
    assert cache.get("a") == b"1234"  # "a" is now the most recently used
    cache.put("c", b"90ab")

    assert cache.get("b") is None
    assert cache.get("a") == b"1234" and cache.get("c") == b"90ab"
    assert cache.size_bytes == 8
    cache.put("huge", b"x" * 11)
    assert cache.get("huge") is None
    cache.discard("a")
    assert cache.get("a") is None and cache.size_bytes == 4


@pytest.mark.parametrize(
    ("location", "immutable"),
    [
        ("s3://b/t/metadata/00012-0e9bc40f-7afc-437c-8bc0-c29dc4bfe421.metadata.json", True),
        ("s3://b/t/metadata/snap-1-0-7be58dde-f4a9-42ae-934a-3c0b802cba42.avro", True),
        ("s3://b/t/metadata/7be58dde-f4a9-42ae-934a-3c0b802cba42-m0.avro", True),
        ("s3://b/t/data/d=1/00000-0-7be58dde-f4a9-42ae-934a-3c0b802cba42.parquet", False),
        ("s3://b/t/metadata/version-hint.text", False),
        ("s3://b/t/metadata/settings.json", False),
    ],
)
def test_only_uuid_named_metadata_objects_are_cached(location: str, immutable: bool) -> None:
    assert is_immutable_metadata(location) is immutable
