"""When a stored rollup is served and when it is recomputed: exactly the days the lake's commits changed.

Over a real Iceberg lake (file:// warehouse, SQLite catalog) written by the LakeWriter, read by the
DuckDB executor, with the commit history read by IcebergLakeHistory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from reviva.adapters.duckdb_executor import DuckDBExecutor, iceberg_source
from reviva.adapters.lake.catalog import ensure_events_table, load_lake_catalog
from reviva.adapters.lake.history import FixedLakeHistory, IcebergLakeHistory
from reviva.adapters.lake.writer import LakeWriter
from reviva.analytics.ports import LakeQuery, Row
from reviva.analytics.rollups import ROLLUP_VERSION, RollupService, consecutive_runs
from reviva.contracts.events import EnrichedEvent
from reviva.settings import Settings
from reviva_dev.fakes.analytics import MemoryObjectStore, SlowObjectStore
from tests.analytics import dataset
from tests.analytics.dataset import D


class CountingExecutor:
    """An executor that counts the queries it runs (four per run of consecutive days computed)."""

    def __init__(self, inner: DuckDBExecutor) -> None:
        self.inner = inner
        self.runs = 0

    def run(self, query: LakeQuery) -> list[Row]:
        self.runs += 1
        return self.inner.run(query)

    def data_as_of(self) -> datetime | None:
        return self.inner.data_as_of()


@dataclass
class Lake:
    writer: LakeWriter
    executor: CountingExecutor
    history: IcebergLakeHistory
    store: MemoryObjectStore
    sequence: int = 0

    def append(self, events: list[EnrichedEvent]) -> None:
        self.sequence += 100
        self.writer.append("shard-1", events, last_sequence=str(self.sequence))

    def service(self, now: list[datetime], min_age: timedelta = timedelta(minutes=1)) -> RollupService:
        return RollupService(self.executor, self.store, self.history, min_age=min_age, clock=lambda: now[0])


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    settings = Settings(
        LAKE_BUCKET=f"file://{tmp_path}/lake",
        LAKE_CATALOG="sql",
        LAKE_CATALOG_URI=f"sqlite:///{tmp_path}/c.db",
    )
    catalog = load_lake_catalog(settings)

    def table():  # type: ignore[no-untyped-def]
        return ensure_events_table(catalog, settings)

    source, freshness = iceberg_source(table)
    return Lake(
        LakeWriter(table),
        CountingExecutor(DuckDBExecutor(source, freshness)),
        IcebergLakeHistory(table),
        MemoryObjectStore(),
    )


def events_on(*offsets: int) -> list[EnrichedEvent]:
    wanted = {D + timedelta(days=offset) for offset in offsets}
    return [event for event in dataset.events() if event.event_time.date() in wanted]


def day(offset: int) -> date:
    return D + timedelta(days=offset)


def test_late_data_recomputes_exactly_the_days_it_reached(lake: Lake) -> None:
    lake.append(events_on(0, 1))
    now = [datetime(2026, 11, 12, 12, tzinfo=UTC)]
    service = lake.service(now)

    read = service.days(day(0), day(8))
    assert read.recomputed == [day(offset) for offset in range(9)]
    assert lake.executor.runs == 4  # one run of consecutive days: four queries
    assert read.days[day(0)]["visitors"] == 3 and read.days[day(7)]["visitors"] == 0
    computed_at = read.days[day(1)]["computed_at"]

    now[0] += timedelta(minutes=5)
    read = service.days(day(0), day(8))
    assert read.recomputed == [] and lake.executor.runs == 4  # nothing changed: all served as stored

    # Late data: D+7's events and a new visitor on D, both days long over.
    late_visitor = dataset.row("E", dataset.at(0, 15), session_id="sE1", page_path="/")
    lake.append([*events_on(7), late_visitor])
    now[0] += timedelta(minutes=5)
    read = service.days(day(0), day(8))
    assert read.recomputed == [day(0), day(7)]  # those two days, and no other
    assert lake.executor.runs == 4 + 8  # two separate runs of days
    assert read.days[day(0)]["visitors"] == 4 and read.days[day(7)]["visitors"] == 1
    assert read.days[day(1)]["computed_at"] == computed_at
    assert read.lake is not None and read.days[day(0)]["lake_sequence"] == read.lake.sequence

    # An erasure is a change too: B had events on D and D+1.
    lake.writer.delete_visitor_rows(["a:B"])
    now[0] += timedelta(minutes=5)
    read = service.days(day(0), day(8))
    assert read.recomputed == [day(0), day(1)]
    assert read.days[day(1)]["visitors"] == 0


def test_a_stale_rollup_younger_than_the_minimum_age_is_served_and_says_so(lake: Lake) -> None:
    lake.append(events_on(0))
    now = [datetime(2026, 11, 12, 12, tzinfo=UTC)]
    service = lake.service(now, min_age=timedelta(minutes=1))
    service.days(day(0), day(0))
    lake.append([dataset.row("E", dataset.at(0, 15), session_id="sE1", page_path="/")])

    now[0] += timedelta(seconds=30)
    read = service.days(day(0), day(0))
    assert read.recomputed == [] and read.lagging == [day(0)]
    assert read.days[day(0)]["visitors"] == 3

    now[0] += timedelta(minutes=1)
    read = service.days(day(0), day(0))
    assert read.recomputed == [day(0)] and read.lagging == []
    assert read.days[day(0)]["visitors"] == 4


def test_the_schedule_recomputes_the_changed_days_wherever_they_are(lake: Lake) -> None:
    lake.append(events_on(0, 1))
    now = [datetime(2026, 12, 2, 12, tzinfo=UTC)]  # D is 30 days back, outside a 10-day window
    service = lake.service(now)

    first = service.run_schedule(backfill_days=10)
    window = [(now[0].date() - timedelta(days=offset)).isoformat() for offset in range(9, -1, -1)]
    assert first["recomputed"] == [day(0).isoformat(), day(1).isoformat(), *window]

    now[0] += timedelta(minutes=5)
    assert service.run_schedule(backfill_days=10)["recomputed"] == []  # nothing changed since

    lake.append([dataset.row("E", dataset.at(0, 15), session_id="sE1", page_path="/")])
    now[0] += timedelta(minutes=5)
    assert service.run_schedule(backfill_days=10)["recomputed"] == [day(0).isoformat()]
    stored = json.loads(lake.store.objects[RollupService.key(day(0))])
    assert stored["visitors"] == 4
    # The schedule's work is done: a read now serves the stored day.
    assert service.days(day(0), day(1)).recomputed == []


def test_rollups_of_an_older_version_are_recomputed(lake: Lake) -> None:
    lake.append(events_on(0))
    now = [datetime(2026, 11, 12, 12, tzinfo=UTC)]
    service = lake.service(now)
    service.days(day(0), day(0))
    key = RollupService.key(day(0))
    old = {**json.loads(lake.store.objects[key]), "version": ROLLUP_VERSION - 1}
    lake.store.objects[key] = json.dumps(old).encode()
    assert service.days(day(0), day(0)).recomputed == [day(0)]


def test_consecutive_runs() -> None:
    days = [day(5), day(0), day(1), day(3), day(1)]
    assert consecutive_runs(days) == [(day(0), day(1)), (day(3), day(3)), (day(5), day(5))]


def test_a_year_of_daily_rollups_is_read_and_written_concurrently(executor: DuckDBExecutor) -> None:
    # One object a day: a year of round trips one after another would take seconds on S3.
    now = datetime(2026, 11, 10, 12, tzinfo=UTC)
    store = SlowObjectStore(MemoryObjectStore(), latency_seconds=0.002)
    service = RollupService(executor, store, FixedLakeHistory(executor.data_as_of()), clock=lambda: now)
    first, last = now.date() - timedelta(days=365), now.date()
    read = service.days(first, last)
    assert read.computed and len(read.days) == 366
    assert store.max_in_flight > 1, "the missing days' reads and writes overlap"
    store.max_in_flight = 0
    again = service.days(first, last)
    assert not again.computed and again.days.keys() == read.days.keys()
    assert store.max_in_flight > 1, "the stored days are read concurrently"
