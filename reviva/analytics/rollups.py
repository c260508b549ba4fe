"""Daily rollups (with their hourly series): the precomputed figures the overview and trends read.

A day's rollup holds, per hour, visitors (exact), sessions started, bounced sessions, session
seconds, converted sessions, page views, conversions and revenue; per day, exact visitors, page
views per page, sessions per channel, device and country, and a HyperLogLog sketch of the day's
visitors (so ranges of days get a distinct-visitor estimate). All are additive across days except
visitors, which merge through the sketches.

The `rollup` schedule (reviva.topology.SCHEDULES) recomputes today and yesterday (late events) and
fills missing days; a read finds a missing or stale day and computes it from the lake on the spot,
then stores it, so the dashboard's first screen reads one small object per day.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

from reviva.analytics import hll
from reviva.analytics.periods import day_start
from reviva.analytics.ports import LakeQuery, ObjectStore, QueryExecutor
from reviva.analytics.sql_fragments import EVENT_RANGE_SQL, PAGE_TYPES_SQL, event_range
from reviva.analytics.store import get_json, put_json

logger = logging.getLogger(__name__)

HOUR_FIELDS = (
    "visitors",
    "sessions",
    "bounced_sessions",
    "duration_seconds",
    "converted_sessions",
    "page_views",
    "conversions",
    "revenue",
)
BREAKDOWNS = {"channels": "channel", "devices": "device_type", "countries": "country"}
ROLLUP_VERSION = 1


# The four queries a range of rollups is computed from.

ROLLUP_EVENTS_SQL = f"""
SELECT date_trunc('hour', event_time) AS hour,
       count(DISTINCT visitor_key) AS visitors,
       count_if({PAGE_TYPES_SQL}) AS page_views,
       count_if(is_conversion) AS conversions,
       coalesce(sum(CASE WHEN is_conversion THEN revenue END), 0) AS revenue
FROM events
WHERE {EVENT_RANGE_SQL}
GROUP BY 1
"""

# Sessions count on the hour they start; the scan runs one day past the range so sessions that
# start before its end are measured to their last event.
ROLLUP_SESSIONS_SQL = f"""
WITH sessions AS (
  SELECT session_id,
         min(event_time) AS started_at,
         max(event_time) AS ended_at,
         count(*) AS events,
         max(CASE WHEN is_conversion THEN 1 ELSE 0 END) AS converted,
         min_by(channel, event_time) AS channel,
         min_by(device_type, event_time) AS device_type,
         min_by(country, event_time) AS country
  FROM events
  WHERE {EVENT_RANGE_SQL} AND session_id IS NOT NULL
  GROUP BY session_id
)
SELECT date_trunc('hour', started_at) AS hour,
       coalesce(channel, '(none)') AS channel,
       coalesce(device_type, '(none)') AS device_type,
       coalesce(country, '(none)') AS country,
       count(*) AS sessions,
       count_if(events = 1) AS bounced_sessions,
       sum(to_unixtime(ended_at) - to_unixtime(started_at)) AS duration_seconds,
       sum(converted) AS converted_sessions
FROM sessions
WHERE started_at >= ? AND started_at < ?
GROUP BY 1, 2, 3, 4
"""

ROLLUP_PAGES_SQL = f"""
SELECT date_trunc('day', event_time) AS day,
       coalesce(page_path, '(none)') AS page_path,
       count(*) AS page_views
FROM events
WHERE {EVENT_RANGE_SQL} AND {PAGE_TYPES_SQL}
GROUP BY 1, 2
"""

ROLLUP_VISITORS_SQL = f"""
SELECT date_trunc('day', event_time) AS day, visitor_key
FROM events
WHERE {EVENT_RANGE_SQL}
GROUP BY 1, 2
"""


def rollup_queries(start: datetime, end: datetime) -> dict[str, LakeQuery]:
    """The four queries a range of daily rollups is computed from ([start, end), whole UTC days)."""
    session_end = end + timedelta(days=1)
    return {
        "events": LakeQuery("rollup_events", ROLLUP_EVENTS_SQL, event_range(start, end), start, end),
        "sessions": LakeQuery(
            "rollup_sessions",
            ROLLUP_SESSIONS_SQL,
            (start, session_end, start, end),
            start,
            session_end,
        ),
        "pages": LakeQuery("rollup_pages", ROLLUP_PAGES_SQL, event_range(start, end), start, end),
        "visitors": LakeQuery("rollup_visitors", ROLLUP_VISITORS_SQL, event_range(start, end), start, end),
    }


def _day_of(value: Any) -> date:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date()


def _empty_day(day: date) -> dict[str, Any]:
    return {
        "version": ROLLUP_VERSION,
        "day": day.isoformat(),
        "hours": [dict.fromkeys(HOUR_FIELDS, 0) for _ in range(24)],
        "visitors": 0,
        "pages": {},
        "channels": {},
        "devices": {},
        "countries": {},
        "hll": "",
    }


def compute_rollups(
    executor: QueryExecutor, first: date, last: date, now: datetime
) -> dict[date, dict[str, Any]]:
    """Rollups of the days first..last (inclusive) from the lake, in four queries for the whole span."""
    start, end = day_start(first), day_start(last + timedelta(days=1))
    queries = rollup_queries(start, end)
    days = {
        first + timedelta(days=i): _empty_day(first + timedelta(days=i))
        for i in range((last - first).days + 1)
    }
    as_of = executor.data_as_of()
    # The four queries are independent: on Athena they run side by side (each waits on its own).
    with ThreadPoolExecutor(max_workers=len(queries)) as pool:
        futures = {name: pool.submit(executor.run, query) for name, query in queries.items()}
        results = {name: future.result() for name, future in futures.items()}

    for row in results["events"]:
        hour: datetime = row["hour"].astimezone(UTC)
        slot = days[hour.date()]["hours"][hour.hour]
        slot["visitors"] = int(row["visitors"])
        slot["page_views"] = int(row["page_views"])
        slot["conversions"] = int(row["conversions"])
        slot["revenue"] = round(float(row["revenue"] or 0), 2)

    breakdowns: dict[date, dict[str, defaultdict[str, int]]] = defaultdict(
        lambda: {name: defaultdict(int) for name in BREAKDOWNS}
    )
    for row in results["sessions"]:
        hour = row["hour"].astimezone(UTC)
        slot = days[hour.date()]["hours"][hour.hour]
        slot["sessions"] += int(row["sessions"])
        slot["bounced_sessions"] += int(row["bounced_sessions"])
        slot["duration_seconds"] = round(slot["duration_seconds"] + float(row["duration_seconds"] or 0), 3)
        slot["converted_sessions"] += int(row["converted_sessions"])
        for name, column in BREAKDOWNS.items():
            breakdowns[hour.date()][name][str(row[column])] += int(row["sessions"])
    for day, counts in breakdowns.items():
        for name, values in counts.items():
            days[day][name] = dict(values)

    for row in results["pages"]:
        days[_day_of(row["day"])]["pages"][str(row["page_path"])] = int(row["page_views"])

    visitors: dict[date, list[str]] = defaultdict(list)
    for row in results["visitors"]:
        visitors[_day_of(row["day"])].append(str(row["visitor_key"]))
    for day, rollup in days.items():
        keys = visitors.get(day, [])
        rollup["visitors"] = len(keys)
        rollup["hll"] = hll.encode(hll.sketch(keys))
        rollup["computed_at"] = now.isoformat()
        rollup["data_as_of"] = as_of.isoformat() if as_of else None
        # A day is complete once it ended before its data was read (plus an hour for late events).
        rollup["complete"] = day_start(day + timedelta(days=1)) + timedelta(hours=1) <= now
    return days


# Storage requests in flight at once when reading or writing a range of daily rollups.
ROLLUP_IO_THREADS = 32


class RollupService:
    """Reads daily rollups, computing and storing missing or stale ones from the lake."""

    def __init__(
        self,
        executor: QueryExecutor,
        store: ObjectStore,
        *,
        min_age: timedelta = timedelta(minutes=1),
        max_age: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._executor = executor
        self._store = store
        self._min_age = min_age
        self._max_age = max_age
        self._clock = clock

    @staticmethod
    def key(day: date) -> str:
        """The object key of a day's rollup."""
        return f"rollups/daily/{day.isoformat()}.json"

    def _usable(
        self, rollup: dict[str, Any] | None, now: datetime, lake_as_of: Callable[[], datetime | None]
    ) -> bool:
        """A complete day's rollup always is; an open day's for `min_age`, then while the lake has
        not changed since it was computed, and never beyond `max_age` (the schedule refreshes it)."""
        if rollup is None or rollup.get("version") != ROLLUP_VERSION:
            return False
        if rollup.get("complete"):
            return True
        age = now - datetime.fromisoformat(rollup["computed_at"])
        if age <= self._min_age:
            return True
        if age > self._max_age:
            return False
        current, stored = lake_as_of(), rollup.get("data_as_of")
        return current is None or (stored is not None and datetime.fromisoformat(stored) >= current)

    def days(self, first: date, last: date) -> tuple[dict[date, dict[str, Any]], bool]:
        """The rollups of first..last and whether any had to be computed from the lake just now."""
        now = self._clock()
        result: dict[date, dict[str, Any]] = {}
        missing: list[date] = []
        lake: list[datetime | None] = []

        def lake_as_of() -> datetime | None:  # the lake's commit time, read at most once
            if not lake:
                lake.append(self._executor.data_as_of())
            return lake[0]

        wanted = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
        for day, rollup in zip(wanted, self._read_all(wanted), strict=True):
            if self._usable(rollup, now, lake_as_of):
                result[day] = rollup  # type: ignore[assignment]
            else:
                missing.append(day)
        if missing:
            computed = self.refresh(min(missing), max(missing), now)
            result.update({d: computed[d] for d in missing})
        return result, bool(missing)

    def _read_all(self, days: list[date]) -> list[Any]:
        """Each day's stored rollup (None where there is none), read concurrently.

        One object a day: a year with its previous period is 732 reads, each a storage round trip
        (~10-30 ms on S3), so one after another they would take seconds; concurrently, well under one.
        """
        if len(days) <= 1:
            return [get_json(self._store, self.key(day)) for day in days]
        with ThreadPoolExecutor(max_workers=min(ROLLUP_IO_THREADS, len(days))) as pool:
            return list(pool.map(lambda day: get_json(self._store, self.key(day)), days))

    def refresh(self, first: date, last: date, now: datetime | None = None) -> dict[date, dict[str, Any]]:
        """Compute first..last from the lake and store them (concurrently: one object a day)."""
        now = now or self._clock()
        computed = compute_rollups(self._executor, first, last, now)
        items = list(computed.items())
        with ThreadPoolExecutor(max_workers=max(1, min(ROLLUP_IO_THREADS, len(items)))) as pool:
            list(pool.map(lambda item: put_json(self._store, self.key(item[0]), item[1]), items))
        return computed

    def run_schedule(self, backfill_days: int = 35) -> dict[str, Any]:
        """The scheduled task: recompute today and yesterday, fill missing days of the last weeks."""
        now = self._clock()
        today = now.date()
        refreshed = self.refresh(today - timedelta(days=1), today, now)
        older = [today - timedelta(days=offset) for offset in range(2, backfill_days)]
        missing = [day for day, stored in zip(older, self._read_all(older), strict=True) if stored is None]
        if missing:
            refreshed.update(self.refresh(min(missing), max(missing), now))
        logger.info("rollups refreshed for %d days", len(refreshed))
        return {"task": "rollup", "days": len(refreshed), "computed_at": now.isoformat()}
