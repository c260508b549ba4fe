"""The lake's commit history: which event days each commit changed, from summaries or manifests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pyiceberg.table import Table

from reviva.adapters.lake.catalog import (
    EVENTS_TABLE_PROPERTIES,
    PARTITION_SUMMARY_LIMIT_PROPERTY,
    ensure_events_table,
    events_table_identifier,
    load_lake_catalog,
)
from reviva.adapters.lake.history import IcebergLakeHistory
from reviva.adapters.lake.maintenance import compact_partition, expire_snapshots
from reviva.adapters.lake.schema import EVENTS_PARTITION_SPEC, EVENTS_SCHEMA, EVENTS_SORT_ORDER
from reviva.adapters.lake.writer import LakeWriter
from reviva.settings import Settings
from tests.analytics import dataset

D = dataset.D


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        LAKE_BUCKET=f"file://{tmp_path}/lake",
        LAKE_CATALOG="sql",
        LAKE_CATALOG_URI=f"sqlite:///{tmp_path}/c.db",
    )


def _events_on(*offsets: int) -> list:  # type: ignore[type-arg]
    wanted = {D + timedelta(days=offset) for offset in offsets}
    return [event for event in dataset.events() if event.event_time.date() in wanted]


def _lake(tmp_path: Path, *, summaries: bool = True) -> tuple[Table, LakeWriter, IcebergLakeHistory]:
    settings = _settings(tmp_path)
    catalog = load_lake_catalog(settings)
    if not summaries:  # a table created before the property existed, as one in AWS may be
        properties = {
            k: v for k, v in EVENTS_TABLE_PROPERTIES.items() if k != PARTITION_SUMMARY_LIMIT_PROPERTY
        }
        catalog.create_namespace(settings.lake_namespace)
        catalog.create_table(
            events_table_identifier(settings),
            schema=EVENTS_SCHEMA,
            partition_spec=EVENTS_PARTITION_SPEC,
            sort_order=EVENTS_SORT_ORDER,
            properties=properties,
        )
        table = catalog.load_table(events_table_identifier(settings))
    else:
        table = ensure_events_table(catalog, settings)
    writer = LakeWriter(lambda: catalog.load_table(events_table_identifier(settings)))
    return table, writer, IcebergLakeHistory(lambda: catalog.load_table(events_table_identifier(settings)))


def test_each_commit_names_the_days_it_changed(tmp_path: Path) -> None:
    table, writer, history = _lake(tmp_path)
    assert history.current() is None
    assert history.changes_since(None).days == {}
    writer.append("shard-1", _events_on(0, 1), last_sequence="10")
    first = history.current()
    assert first is not None and first.sequence == 1
    writer.append("shard-1", _events_on(7) + _events_on(0)[:1], last_sequence="20")
    second = history.current()
    assert second is not None and second.sequence == 2
    assert second.committed_at >= first.committed_at
    table.refresh()
    summary = table.current_snapshot().summary  # type: ignore[union-attr]
    assert summary is not None and summary["partitions.event_time_day=2026-11-09"] is not None

    everything = history.changes_since(None)
    assert everything.days == {D: 2, D + timedelta(days=1): 1, D + timedelta(days=7): 2}
    assert everything.known_from is None and everything.current == second
    assert history.changes_since(1).days == {D: 2, D + timedelta(days=7): 2}
    assert history.changes_since(2).days == {}

    writer.delete_visitor_rows(["a:B"])  # B has events on D and D+1 only
    erased = history.changes_since(2)
    assert erased.days.keys() == {D, D + timedelta(days=1)}
    assert erased.current is not None and min(erased.days.values()) > 2


def test_commits_without_summaries_are_read_from_their_manifests(tmp_path: Path) -> None:
    with_summaries = _lake(tmp_path / "a")
    without = _lake(tmp_path / "b", summaries=False)
    for _, writer, _ in (with_summaries, without):
        writer.append("shard-1", _events_on(0, 1), last_sequence="10")
        writer.append("shard-1", _events_on(7, 8), last_sequence="20")
        writer.delete_visitor_rows(["a:A"])  # A: D and D+8
    table, _, history = without
    table.refresh()
    assert PARTITION_SUMMARY_LIMIT_PROPERTY not in table.properties
    assert "partition-summaries-included" not in table.current_snapshot().summary.additional_properties  # type: ignore[union-attr]
    expected = with_summaries[2].changes_since(None).days
    assert history.changes_since(None).days == expected
    assert history.changes_since(2).days.keys() == {D, D + timedelta(days=8)}


def test_an_older_table_gains_partition_summaries_when_loaded(tmp_path: Path) -> None:
    table, _, _ = _lake(tmp_path, summaries=False)
    assert PARTITION_SUMMARY_LIMIT_PROPERTY not in table.properties
    settings = _settings(tmp_path)
    loaded = ensure_events_table(load_lake_catalog(settings), settings)
    assert loaded.properties[PARTITION_SUMMARY_LIMIT_PROPERTY] == "100"


def test_compaction_changes_no_day_and_expired_history_is_reported(tmp_path: Path) -> None:
    table, writer, history = _lake(tmp_path)
    for batch, event in enumerate(_events_on(0)):
        writer.append("shard-1", [event], last_sequence=str(batch + 1))
    before = history.current()
    assert before is not None
    table.refresh()
    result = compact_partition(table, D)
    assert result.snapshot_id is not None
    assert history.current().sequence == before.sequence + 1  # type: ignore[union-attr]
    assert history.changes_since(before.sequence).days == {}  # the same rows, in fewer files

    table.refresh()
    expire_snapshots(table, datetime.now(UTC) + timedelta(seconds=1), retain_last=1)
    late = history.changes_since(1)
    assert late.known_from == before.sequence + 1  # the commits in between are gone
    assert history.changes_since(before.sequence).known_from is None  # nothing missing after it
    assert history.changes_since(None).days == {}
