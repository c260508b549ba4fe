"""When a stored rollup is served and when it is recomputed from the lake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reviva.adapters.duckdb_executor import DuckDBExecutor
from reviva.analytics.ports import LakeQuery, Row
from reviva.analytics.rollups import RollupService
from reviva_dev.fakes.analytics import MemoryObjectStore, SlowObjectStore
from tests.analytics.dataset import D


class CountingExecutor:
    """The DuckDB executor over the fixed dataset, counting runs and with a movable lake commit time."""

    def __init__(self, inner: DuckDBExecutor) -> None:
        self.inner = inner
        self.runs = 0
        self.as_of = datetime(2026, 11, 3, 12, tzinfo=UTC)

    def run(self, query: LakeQuery) -> list[Row]:
        self.runs += 1
        return self.inner.run(query)

    def data_as_of(self) -> datetime | None:
        return self.as_of


def test_open_days_are_recomputed_only_when_the_lake_moved(executor: DuckDBExecutor) -> None:
    counting = CountingExecutor(executor)
    now = [datetime(2026, 11, 3, 12, tzinfo=UTC)]  # day 1 (D + 1) has not ended
    service = RollupService(counting, MemoryObjectStore(), clock=lambda: now[0])
    day1 = D + timedelta(days=1)

    _, computed = service.days(D, day1)
    assert computed and counting.runs == 4
    now[0] += timedelta(minutes=5)
    _, computed = service.days(D, day1)
    assert not computed and counting.runs == 4  # the lake has not changed: served from the rollup
    counting.as_of += timedelta(minutes=3)
    _, computed = service.days(D, day1)
    assert computed and counting.runs == 8  # newer lake commit and older than a minute: recomputed
    now[0] += timedelta(seconds=30)
    counting.as_of += timedelta(seconds=10)
    _, computed = service.days(D, day1)
    assert not computed  # within the minimum age, even though the lake moved
    now[0] += timedelta(minutes=20)
    counting.as_of = datetime(2026, 11, 1, tzinfo=UTC)
    days, computed = service.days(D, D)
    assert not computed and days[D]["complete"]  # day 0 had ended: never recomputed on read
    _, computed = service.days(day1, day1)
    assert computed  # beyond the maximum age


def test_the_schedule_refreshes_today_and_yesterday_and_fills_gaps(executor: DuckDBExecutor) -> None:
    store = MemoryObjectStore()
    now = datetime(2026, 11, 10, 12, tzinfo=UTC)
    service = RollupService(executor, store, clock=lambda: now)
    result = service.run_schedule(backfill_days=10)
    assert result["days"] == 10
    stored = {key.split("/")[-1] for key in store.objects}
    assert stored == {f"2026-11-{day:02d}.json" for day in range(1, 11)}


def test_a_year_of_daily_rollups_is_read_and_written_concurrently(executor: DuckDBExecutor) -> None:
    # One object a day: a year of round trips one after another would take seconds on S3.
    now = datetime(2026, 11, 10, 12, tzinfo=UTC)
    store = SlowObjectStore(MemoryObjectStore(), latency_seconds=0.002)
    service = RollupService(executor, store, clock=lambda: now)
    first, last = now.date() - timedelta(days=365), now.date()
    computed, was_computed = service.days(first, last)
    assert was_computed and len(computed) == 366
    assert store.max_in_flight > 1, "the missing days' reads and writes overlap"
    store.max_in_flight = 0
    again, was_computed = service.days(first, last)
    assert not was_computed and again.keys() == computed.keys()
    assert store.max_in_flight > 1, "the stored days are read concurrently"
