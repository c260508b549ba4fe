"""The local reader: Iceberg files read once, new commits and erasures seen at once, days pruned."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from reviva.adapters.duckdb_executor import DuckDBExecutor, iceberg_source
from reviva.adapters.lake.catalog import ensure_events_table, load_lake_catalog
from reviva.adapters.lake.writer import LakeWriter
from reviva.analytics.ports import LakeQuery
from reviva.settings import Settings
from tests.analytics import dataset

SQL = (
    "SELECT count(*) AS n, count(DISTINCT visitor_key) AS v FROM events "
    "WHERE event_time >= ? AND event_time < ?"
)


def test_commits_and_erasures_are_seen_and_ranges_prune(tmp_path: Path) -> None:
    settings = Settings(
        LAKE_BUCKET=f"file://{tmp_path}/lake",
        LAKE_CATALOG="sql",
        LAKE_CATALOG_URI=f"sqlite:///{tmp_path}/c.db",
    )
    catalog = load_lake_catalog(settings)
    writer = LakeWriter(lambda: ensure_events_table(catalog, settings))
    events = dataset.events()
    writer.append("shard-1", events[:5], last_sequence="5")
    loads: list[int] = []

    def load():  # type: ignore[no-untyped-def]
        loads.append(1)
        return ensure_events_table(catalog, settings)

    source, freshness = iceberg_source(load)
    executor = DuckDBExecutor(source, freshness)
    start, end = dataset.at(0, 0), dataset.at(9, 0)
    query = LakeQuery("count", SQL, (start, end), start, end)
    assert executor.run(query) == [{"n": 5, "v": 1}]
    first_as_of = executor.data_as_of()
    writer.append("shard-1", events[5:], last_sequence="14")
    assert executor.run(query) == [{"n": 14, "v": 5}]  # the new commit's files are read
    assert executor.data_as_of() is not None and first_as_of is not None
    assert executor.data_as_of() >= first_as_of  # type: ignore[operator]
    writer.delete_visitor_rows(["a:B"])
    assert executor.run(query) == [{"n": 9, "v": 4}]  # erased rows are gone, not cached
    day1 = LakeQuery("day", SQL, (dataset.at(1, 0), dataset.at(2, 0)), dataset.at(1, 0), dataset.at(2, 0))
    assert executor.run(day1) == [{"n": 0, "v": 0}]  # B's day-1 events were erased
    window = dataset.at(7, 0), dataset.at(7, 0) + timedelta(days=1)
    assert executor.run(LakeQuery("day7", SQL, window, *window)) == [{"n": 1, "v": 1}]
    assert len(loads) == 1  # the table is loaded once and refreshed after


def test_an_empty_lake_answers_empty(tmp_path: Path) -> None:
    settings = Settings(
        LAKE_BUCKET=f"file://{tmp_path}/lake",
        LAKE_CATALOG="sql",
        LAKE_CATALOG_URI=f"sqlite:///{tmp_path}/c.db",
    )
    catalog = load_lake_catalog(settings)
    executor = DuckDBExecutor(*iceberg_source(lambda: ensure_events_table(catalog, settings)))
    start, end = dataset.at(0, 0), dataset.at(1, 0)
    assert executor.run(LakeQuery("count", SQL, (start, end), start, end)) == [{"n": 0, "v": 0}]
    assert executor.data_as_of() is None
