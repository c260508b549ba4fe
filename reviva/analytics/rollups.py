"""Daily rollups (with their hourly series): the precomputed figures the overview and trends read.

A day's rollup holds, per hour, visitors (exact), sessions started, bounced sessions, session
seconds, converted sessions, page views, conversions and revenue; per day, exact visitors, page
views per page, sessions per channel, device and country, and a HyperLogLog sketch of the day's
visitors (so ranges of days get a distinct-visitor estimate). All are additive across days except
visitors, which merge through the sketches.

A rollup is never final: each records the lake version it was computed from, and the change log
(`reviva.analytics.change_log`, fed by the lake's commits) says which days later commits changed.
The `rollup` schedule (reviva.topology.SCHEDULES) recomputes exactly the stale days (late events for
any day, erasures) and fills missing recent days; a read finds a missing or stale day and computes it
from the lake on the spot, then stores it, so the dashboard's first screen reads one small object per
day and agrees with the lake.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from reviva.analytics import hll
from reviva.analytics.change_log import CHANGE_LOG_KEY, current_change_log
from reviva.analytics.periods import day_start, days_in
from reviva.analytics.ports import LakeHistory, LakeQuery, LakeVersion, ObjectStore, QueryExecutor, Row
from reviva.analytics.sketch_sql import daily_sketch_sql
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
# 2: visitor sketches hashed with MD5 and built by the engine (1 used BLAKE2b in Python; the two never
# merge, so every version-1 rollup is recomputed), and the lake version a rollup was computed from.
ROLLUP_VERSION = 2


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
# start before its end are measured to their last event. Grouping sets give one row per hour (the
# hourly figures; the other keys NULL) and one per day and value of each breakdown: a few thousand
# rows for 90 days, where grouping by hour and all three breakdowns at once returned hundreds of
# thousands for Python to add up. One aggregation pass (Trino would recompute a CTE used twice).
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
),
started AS (
  SELECT date_trunc('hour', started_at) AS hour,
         date_trunc('day', started_at) AS day,
         coalesce(channel, '(none)') AS channel,
         coalesce(device_type, '(none)') AS device_type,
         coalesce(country, '(none)') AS country,
         events,
         to_unixtime(ended_at) - to_unixtime(started_at) AS duration_seconds,
         converted
  FROM sessions
  WHERE started_at >= ? AND started_at < ?
)
SELECT hour, day, channel, device_type, country,
       count(*) AS sessions,
       count_if(events = 1) AS bounced_sessions,
       sum(duration_seconds) AS duration_seconds,
       sum(converted) AS converted_sessions
FROM started
GROUP BY GROUPING SETS ((hour), (day, channel), (day, device_type), (day, country))
"""

ROLLUP_PAGES_SQL = f"""
SELECT date_trunc('day', event_time) AS day,
       coalesce(page_path, '(none)') AS page_path,
       count(*) AS page_views
FROM events
WHERE {EVENT_RANGE_SQL} AND {PAGE_TYPES_SQL}
GROUP BY 1, 2
"""

# Per day: the exact count of distinct visitors and their HyperLogLog registers, built by the
# engine (one row a day; see reviva.analytics.sketch_sql) with the hash `hll.sketch` uses.
ROLLUP_VISITORS_SQL = daily_sketch_sql(EVENT_RANGE_SQL)


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


def run_rollup_queries(executor: QueryExecutor, queries: dict[str, LakeQuery]) -> dict[str, list[Row]]:
    """Run the rollup queries side by side (on Athena each waits on its own); rows by query name."""
    with ThreadPoolExecutor(max_workers=len(queries)) as pool:
        futures = {name: pool.submit(executor.run, query) for name, query in queries.items()}
        return {name: future.result() for name, future in futures.items()}


def compute_rollups(
    executor: QueryExecutor, first: date, last: date, now: datetime, lake: LakeVersion | None
) -> dict[date, dict[str, Any]]:
    """Rollups of the days first..last (inclusive) from the lake, in four queries for the whole span.

    `lake` is the lake's version read before the queries run: the rollups reflect at least that
    commit, so a commit landing meanwhile is never taken as already summarised.
    """
    start, end = day_start(first), day_start(last + timedelta(days=1))
    results = run_rollup_queries(executor, rollup_queries(start, end))
    return assemble_rollups(first, last, now, lake, results)


def assemble_rollups(
    first: date, last: date, now: datetime, lake: LakeVersion | None, results: dict[str, list[Row]]
) -> dict[date, dict[str, Any]]:
    """The rollups of first..last from the four queries' rows (see `rollup_queries`)."""
    days = {day: _empty_day(day) for day in days_in(first, last)}
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
        if row["hour"] is None:  # a breakdown row: its day and one breakdown column are set
            day = row["day"].astimezone(UTC).date()
            for name, column in BREAKDOWNS.items():
                if row[column] is not None:
                    breakdowns[day][name][str(row[column])] += int(row["sessions"])
            continue
        hour = row["hour"].astimezone(UTC)
        slot = days[hour.date()]["hours"][hour.hour]
        slot["sessions"] += int(row["sessions"])
        slot["bounced_sessions"] += int(row["bounced_sessions"])
        slot["duration_seconds"] = round(slot["duration_seconds"] + float(row["duration_seconds"] or 0), 3)
        slot["converted_sessions"] += int(row["converted_sessions"])
    for day, counts in breakdowns.items():
        for name, values in counts.items():
            days[day][name] = dict(values)

    for row in results["pages"]:
        days[_day_of(row["day"])]["pages"][str(row["page_path"])] = int(row["page_views"])

    for row in results["visitors"]:
        rollup = days[_day_of(row["day"])]
        rollup["visitors"] = int(row["visitors"])
        rollup["hll"] = hll.encode(hll.unpack(str(row["registers"])))
    empty_sketch = hll.encode(bytes(hll.REGISTERS))
    for day, rollup in days.items():
        rollup["hll"] = rollup["hll"] or empty_sketch
        rollup["computed_at"] = now.isoformat()
        rollup["lake_sequence"] = lake.sequence if lake else 0
        rollup["data_as_of"] = lake.committed_at.isoformat() if lake else None
        # A day is complete once it ended before its data was read (plus an hour for late events);
        # late data after that still reaches it (the change log marks the day, see `RollupService`).
        rollup["complete"] = day_start(day + timedelta(days=1)) + timedelta(hours=1) <= now
    return days


def consecutive_runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days grouped into (first, last) runs of consecutive days: one query set per run."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


# Storage requests in flight at once when reading or writing a range of daily rollups.
ROLLUP_IO_THREADS = 32


@dataclass(frozen=True)
class RollupRead:
    """Daily rollups for a range, and how current they are against the lake."""

    days: dict[date, dict[str, Any]]
    # The lake version the change log was complete up to when the rollups were judged.
    lake: LakeVersion | None
    # Days computed from the lake for this read (missing, or late data had reached them).
    recomputed: list[date] = field(default_factory=list)
    # Days served from a rollup younger than the minimum age although newer data has arrived.
    lagging: list[date] = field(default_factory=list)

    @property
    def computed(self) -> bool:
        """Whether any day had to be computed from the lake just now."""
        return bool(self.recomputed)


class RollupService:
    """Reads daily rollups, recomputing from the lake exactly the days that are missing or stale.

    A stored rollup is stale when a lake commit after the one it was computed from changed its day
    (`reviva.analytics.change_log`): late events, a backfill, an erasure. A stale rollup younger than
    `min_age` is still served (and the answer's freshness says so), so a day receiving a steady
    trickle of events is not recomputed on every read; the schedule recomputes it meanwhile.
    """

    def __init__(
        self,
        executor: QueryExecutor,
        store: ObjectStore,
        history: LakeHistory,
        *,
        min_age: timedelta = timedelta(minutes=1),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._executor = executor
        self._store = store
        self._history = history
        self._min_age = min_age
        self._clock = clock

    @staticmethod
    def key(day: date) -> str:
        """The object key of a day's rollup."""
        return f"rollups/daily/{day.isoformat()}.json"

    @staticmethod
    def _current_format(rollup: Any) -> bool:
        return isinstance(rollup, dict) and rollup.get("version") == ROLLUP_VERSION

    def days(self, first: date, last: date) -> RollupRead:
        """The rollups of first..last, recomputing the missing and stale ones."""
        now = self._clock()
        wanted = days_in(first, last)
        stored = self._read_all(wanted)
        log, lake = current_change_log(self._history, self._store)
        result: dict[date, dict[str, Any]] = {}
        missing: list[date] = []
        lagging: list[date] = []
        for day, rollup in zip(wanted, stored, strict=True):
            if not self._current_format(rollup):
                missing.append(day)
            elif not log.changed_after(day, int(rollup["lake_sequence"])):
                result[day] = rollup
            elif now - datetime.fromisoformat(rollup["computed_at"]) <= self._min_age:
                result[day] = rollup
                lagging.append(day)
            else:
                missing.append(day)
        if missing:
            result.update(self._compute(missing, now, lake))
        return RollupRead(days=result, lake=lake, recomputed=missing, lagging=lagging)

    def _read_all(self, days: list[date]) -> list[Any]:
        """Each day's stored rollup (None where there is none), read concurrently.

        One object a day: a year with its previous period is 732 reads, each a storage round trip
        (~10-30 ms on S3), so one after another they would take seconds; concurrently, well under one.
        """
        if len(days) <= 1:
            return [get_json(self._store, self.key(day)) for day in days]
        with ThreadPoolExecutor(max_workers=min(ROLLUP_IO_THREADS, len(days))) as pool:
            return list(pool.map(lambda day: get_json(self._store, self.key(day)), days))

    def _compute(
        self, days: list[date], now: datetime, lake: LakeVersion | None
    ) -> dict[date, dict[str, Any]]:
        """Compute these days from the lake (one query set per run of consecutive days) and store them.

        `lake` must have been read before the queries (it is what the rollups are stamped with).
        """
        computed: dict[date, dict[str, Any]] = {}
        for first, last in consecutive_runs(days):
            computed.update(compute_rollups(self._executor, first, last, now, lake))
        items = list(computed.items())
        with ThreadPoolExecutor(max_workers=max(1, min(ROLLUP_IO_THREADS, len(items)))) as pool:
            list(pool.map(lambda item: put_json(self._store, self.key(item[0]), item[1]), items))
        return computed

    def refresh(self, first: date, last: date, now: datetime | None = None) -> dict[date, dict[str, Any]]:
        """Compute first..last from the lake and store them, whatever is stored."""
        return self._compute(days_in(first, last), now or self._clock(), self._history.current())

    def run_schedule(self, backfill_days: int = 35) -> dict[str, Any]:
        """The scheduled task: recompute every stored day the lake changed since, fill recent gaps.

        Looks at the days the change log says changed since the previous run, wherever they are
        (late data for last month, an erasure), and the last `backfill_days` days; of those it
        recomputes the ones whose rollup is missing or stale, and no other.
        """
        now = self._clock()
        log, lake = current_change_log(self._history, self._store)
        window = days_in(now.date() - timedelta(days=backfill_days - 1), now.date())
        candidates = sorted(set(window) | set(log.changed_since(log.scheduled_through)))
        stale = [
            day
            for day, rollup in zip(candidates, self._read_all(candidates), strict=True)
            if not self._current_format(rollup) or log.changed_after(day, int(rollup["lake_sequence"]))
        ]
        if stale:
            self._compute(stale, now, lake)
        if lake is not None and log.scheduled_through != lake.sequence:
            log.scheduled_through = lake.sequence
            put_json(self._store, CHANGE_LOG_KEY, log.to_json())
        late = [day for day in stale if day < window[0]]
        logger.info("rollups recomputed for %d days (%d before the backfill window)", len(stale), len(late))
        return {
            "task": "rollup",
            "days": len(stale),
            "recomputed": [day.isoformat() for day in stale],
            "computed_at": now.isoformat(),
        }
