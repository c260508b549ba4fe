"""Analytics endpoint latency on a large local lake (issue 5): p50/p95 per endpoint.

Synthetic events are generated column-wise with numpy/pyarrow (not through the pipeline: only the
lake's shape matters here) and appended to an Iceberg table in a `file://` warehouse, then every
endpoint runs through `AnalyticsService` with the DuckDB executor reading the table through
`reviva.adapters.lake.reader`, exactly as `reviva dev` serves the dashboard. Athena's latency in AWS is a
different engine and is not measured here.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reviva_dev.measure.timing import elapsed_ms, percentile

if TYPE_CHECKING:
    from reviva.analytics.ports import LakeVersion, QueryExecutor

DAYS = 90
# Recomputations of all DAYS days' rollups timed on a warm reader cache, each way (engine-built and
# Python-built visitor sketches).
ROLLUP_REPEATS = int(os.environ.get("BENCH_ROLLUP_REPEATS", "5"))
# The dashboard's default range (7 days); BENCH_ANALYTICS_RANGE_DAYS measures another.
RANGE_DAYS = int(os.environ.get("BENCH_ANALYTICS_RANGE_DAYS", "7"))
STORAGE_LATENCY_SECONDS = 0.020  # a typical S3 GET/PUT of a small object from Lambda in-region
YEAR_OVERVIEW = "GET /v1/stats/overview over 366 days, 20 ms a storage read"
OVERVIEW_TARGET_MS = 200.0
ENDPOINT_TARGET_MS = 2000.0

CHANNELS = ["direct", "organic_search", "paid_search", "paid_social", "email", "referral", "internal"]
DEVICES = ["desktop", "mobile", "tablet"]
COUNTRIES = ["PT", "ES", "FR", "GB", "DE", "BR", "US"]
CAMPAIGNS = [f"campaign-{i}" for i in range(12)]
PAGES = ["/", "/services/iphone-screen-repair", "/services/laptop-repair", "/pricing", "/book", "/contact"]
PAGE_TOUCHPOINTS = [
    "home_page",
    "service_browse",
    "service_browse",
    "pricing_check",
    "booking_page",
    "contact_page",
]
PAGE_STAGES = ["awareness", "awareness", "awareness", "consideration", "decision", "decision"]
TRACKS = ["Pricing Viewed", "Service Compared", "Booking Started", "Booking Submitted"]
TRACK_TOUCHPOINTS = ["pricing_check", "service_compare", "booking_start", "booking_submitted"]
TRACK_STAGES = ["consideration", "consideration", "decision", "decision"]


@dataclass
class AnalyticsFigures:
    events: int
    visitors: int
    sessions: int
    days: int
    range_days: int
    generate_seconds: float
    write_seconds: float
    rollup_seconds: float
    # Recomputing every day's rollups on a warm cache: as now, then as before issue 10.
    rollup_engine_runs: list[float]
    rollup_python_runs: list[float]
    runs: int
    # endpoint → (first call ms, after a new commit ms, p50 ms, p95 ms)
    latency: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)


def _strings(values: list[str], indices: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(indices.astype(np.int32)), pa.array(values)
    ).dictionary_decode()


def generate(events: int, end: date, seed: int = 7) -> tuple[pa.Table, int, int]:
    """`events` synthetic lake rows over DAYS days ending at `end`: (table, visitors, sessions)."""
    from reviva.adapters.lake.schema import EVENTS_ARROW_SCHEMA

    rng = np.random.default_rng(seed)
    sessions = max(1, events // 8)
    visitors = max(1, sessions // 2)
    lengths = rng.integers(1, 16, sessions)
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), events) + 1]
    lengths[-1] -= lengths.sum() - events
    sessions = len(lengths)
    session_of = np.repeat(np.arange(sessions), lengths)
    offsets = np.arange(events) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    start_epoch = int(datetime.combine(end - timedelta(days=DAYS - 1), datetime.min.time(), UTC).timestamp())
    session_start = start_epoch + rng.integers(0, DAYS * 86400 - 3600, sessions)
    times_us = (session_start[session_of] + offsets * rng.integers(5, 90, events)) * 1_000_000
    visitor_of_session = rng.integers(0, visitors, sessions)  # about two sessions per visitor
    channel_of_session = rng.choice(len(CHANNELS), sessions, p=[0.3, 0.3, 0.15, 0.1, 0.05, 0.05, 0.05])
    campaign_of_session = np.where(
        np.isin(channel_of_session, [2, 3, 4]), rng.integers(0, len(CAMPAIGNS), sessions), -1
    )
    converted_session = rng.random(sessions) < 0.03
    is_last = offsets == np.repeat(lengths - 1, lengths)
    conversion = converted_session[session_of] & is_last & (lengths[session_of] > 1)
    is_track = (rng.random(events) < 0.3) & (offsets > 0) | conversion
    page_index = rng.integers(0, len(PAGES), events)
    track_index = np.where(conversion, 3, rng.integers(0, 3, events))
    bot = rng.random(sessions) < 0.02

    ids = pa.array(np.arange(events)).cast(pa.string())
    visitor_ids = pa.array(visitor_of_session[session_of]).cast(pa.string())
    session_ids = pa.array(session_of).cast(pa.string())
    campaign = campaign_of_session[session_of]
    campaign_array = pa.array(np.where(campaign >= 0, campaign, 0).astype(np.int32), mask=campaign < 0)
    columns: dict[str, pa.Array] = {
        "message_id": pc.binary_join_element_wise("m", ids, ""),
        "visitor_key": pc.binary_join_element_wise("a", visitor_ids, ":"),
        "anonymous_id": visitor_ids,
        "session_id": pc.binary_join_element_wise("s", session_ids, ""),
        "event_type": _strings(["page", "track"], is_track.astype(np.int32)),
        "event_name": pa.array(np.array(TRACKS, dtype=object)[track_index], mask=~is_track, type=pa.string()),
        "event_time": pa.array(times_us, type=pa.timestamp("us", tz="UTC")),
        "received_at": pa.array(times_us + 1_000_000, type=pa.timestamp("us", tz="UTC")),
        "page_path": pa.array(np.array(PAGES, dtype=object)[page_index], mask=is_track, type=pa.string()),
        "channel": _strings(CHANNELS, channel_of_session[session_of]),
        "utm_campaign": pa.DictionaryArray.from_arrays(
            campaign_array, pa.array(CAMPAIGNS)
        ).dictionary_decode(),
        "utm_source": pa.array(np.full(events, "google", dtype=object), mask=campaign < 0, type=pa.string()),
        "utm_medium": pa.array(np.full(events, "cpc", dtype=object), mask=campaign < 0, type=pa.string()),
        "device_type": _strings(DEVICES, rng.choice(3, sessions, p=[0.45, 0.5, 0.05])[session_of]),
        "country": _strings(COUNTRIES, rng.integers(0, len(COUNTRIES), sessions)[session_of]),
        "is_bot": pa.array(bot[session_of]),
        "touchpoint": pa.array(
            np.where(
                is_track,
                np.array(TRACK_TOUCHPOINTS, dtype=object)[track_index],
                np.array(PAGE_TOUCHPOINTS, dtype=object)[page_index],
            ),
            type=pa.string(),
        ),
        "journey_stage": pa.array(
            np.where(
                is_track,
                np.array(TRACK_STAGES, dtype=object)[track_index],
                np.array(PAGE_STAGES, dtype=object)[page_index],
            ),
            type=pa.string(),
        ),
        "is_conversion": pa.array(conversion),
        "revenue": pa.array(np.round(rng.uniform(30, 250, events), 2), mask=~conversion, type=pa.float64()),
    }
    columns["event_date"] = columns["event_time"].cast(pa.date32())
    arrays = []
    for schema_field in EVENTS_ARROW_SCHEMA:
        if schema_field.name in columns:
            arrays.append(columns[schema_field.name].cast(schema_field.type))
        else:
            arrays.append(pa.nulls(events, schema_field.type))
    return pa.Table.from_arrays(arrays, schema=EVENTS_ARROW_SCHEMA), visitors, sessions


# Before issue 10 the rollup fetched every (day, visitor) pair and hashed each in Python, and its
# sessions query grouped by hour and all three breakdowns at once (hundreds of thousands of rows
# that Python added up). Kept here only to measure what the engine-side work saves.
PAIRS_VISITORS_SQL = """
SELECT date_trunc('day', event_time) AS day, visitor_key
FROM events
WHERE event_time >= ? AND event_time < ? AND NOT is_bot
GROUP BY 1, 2
"""

SESSIONS_BY_HOUR_AND_BREAKDOWNS_SQL = """
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
  WHERE event_time >= ? AND event_time < ? AND NOT is_bot AND session_id IS NOT NULL
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


def rollups_before_issue_10(
    executor: QueryExecutor, first: date, last: date, now: datetime, lake: LakeVersion | None
) -> dict[date, dict[str, Any]]:
    """The rollups as computed before issue 10: the same figures, with the visitor sketches built
    in Python from every (day, visitor) pair (MD5 now, BLAKE2b then: the same cost in Python) and
    the session rows added up in Python (into the rows `assemble_rollups` takes today)."""
    from reviva.analytics import hll
    from reviva.analytics.periods import day_start, lake_range
    from reviva.analytics.ports import LakeQuery
    from reviva.analytics.rollups import BREAKDOWNS, assemble_rollups, rollup_queries, run_rollup_queries

    start, end = lake_range(first, last)
    queries = rollup_queries(start, end)
    queries["visitors"] = LakeQuery("rollup_visitor_pairs", PAIRS_VISITORS_SQL, (start, end), start, end)
    session_end = end + timedelta(days=1)
    queries["sessions"] = LakeQuery(
        "rollup_sessions_by_all",
        SESSIONS_BY_HOUR_AND_BREAKDOWNS_SQL,
        (start, session_end, start, end),
        start,
        session_end,
    )
    results = run_rollup_queries(executor, queries)
    keys: defaultdict[date, list[str]] = defaultdict(list)
    for row in results["visitors"]:
        keys[row["day"].astimezone(UTC).date()].append(str(row["visitor_key"]))
    pack = bytes((byte + hll.PACKED_ZERO) % 256 for byte in range(256))
    results["visitors"] = [
        {
            "day": day_start(day),
            "visitors": len(day_keys),
            "registers": hll.sketch(day_keys).translate(pack).decode("ascii"),
        }
        for day, day_keys in keys.items()
    ]
    hours: dict[datetime, dict[str, Any]] = {}
    breakdowns: defaultdict[tuple[datetime, str, str], int] = defaultdict(int)
    for row in results["sessions"]:
        hour = row["hour"]
        slot = hours.setdefault(
            hour,
            {
                "hour": hour,
                "day": None,
                "sessions": 0,
                "bounced_sessions": 0,
                "duration_seconds": 0.0,
                "converted_sessions": 0,
            },
        )
        for name in ("sessions", "bounced_sessions", "duration_seconds", "converted_sessions"):
            slot[name] += row[name] or 0
        day = day_start(hour.astimezone(UTC).date())
        for column in BREAKDOWNS.values():
            breakdowns[(day, column, str(row[column]))] += int(row["sessions"])
    empty = dict.fromkeys(BREAKDOWNS.values())
    results["sessions"] = [{**slot, **empty} for slot in hours.values()] + [
        {"hour": None, "day": day, **empty, column: value, "sessions": sessions}
        for (day, column, value), sessions in breakdowns.items()
    ]
    return assemble_rollups(first, last, now, lake, results)


def run(events: int | None = None, runs: int | None = None) -> AnalyticsFigures:
    """Generate, write, roll up, and time every endpoint (first call, after a commit, `runs` calls)."""
    from pyiceberg.catalog.sql import SqlCatalog

    from reviva.adapters.duckdb_executor import DuckDBExecutor, iceberg_source
    from reviva.adapters.lake.catalog import EVENTS_TABLE_PROPERTIES
    from reviva.adapters.lake.history import IcebergLakeHistory
    from reviva.adapters.lake.schema import EVENTS_PARTITION_SPEC, EVENTS_SCHEMA, EVENTS_SORT_ORDER
    from reviva.adapters.object_store import DirectoryObjectStore
    from reviva.analytics.rollups import RollupService, compute_rollups
    from reviva.analytics.service import AnalyticsService
    from reviva.analytics.spend import SpendRow, SpendStore
    from reviva_dev.fakes.analytics import SlowObjectStore

    events = events or int(os.environ.get("BENCH_ANALYTICS_EVENTS", "10000000"))
    runs = runs or int(os.environ.get("BENCH_ANALYTICS_RUNS", "10"))
    today = datetime.now(UTC).date()
    started = time.perf_counter()
    data, visitors, sessions = generate(events, today)
    generate_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory(prefix="reviva-bench-analytics-") as directory:
        root = Path(directory)
        catalog = SqlCatalog(
            "bench", uri=f"sqlite:///{root}/catalog.db", warehouse=f"file://{root}/warehouse"
        )
        catalog.create_namespace("reviva")
        table = catalog.create_table(
            ("reviva", "events"),
            schema=EVENTS_SCHEMA,
            partition_spec=EVENTS_PARTITION_SPEC,
            sort_order=EVENTS_SORT_ORDER,
            properties=EVENTS_TABLE_PROPERTIES,
        )
        started = time.perf_counter()
        chunk = 2_000_000
        for offset in range(0, data.num_rows, chunk):
            table.append(data.slice(offset, chunk))
        write_seconds = time.perf_counter() - started
        del data

        source, freshness = iceberg_source(lambda: catalog.load_table(("reviva", "events")))
        executor = DuckDBExecutor(source, freshness)
        history = IcebergLakeHistory(lambda: catalog.load_table(("reviva", "events")))
        store = DirectoryObjectStore(root / "analytics")
        rollups = RollupService(executor, store, history)
        spend = SpendStore(store)
        spend.import_rows(
            [
                SpendRow(today - timedelta(days=d), "paid_search", c, 25.0)
                for d in range(RANGE_DAYS)
                for c in CAMPAIGNS
            ]
        )
        service = AnalyticsService(executor, rollups, spend)
        started = time.perf_counter()
        rollups.refresh(today - timedelta(days=DAYS - 1), today)  # what the schedule keeps current
        rollup_seconds = time.perf_counter() - started
        # The same computation again on the warm reader cache (the engine's and Python's work only),
        # alternating the two ways so machine noise falls on both alike.
        lake = history.current()
        engine_runs: list[float] = []
        python_runs: list[float] = []
        for _ in range(ROLLUP_REPEATS):
            for way, timings in ((compute_rollups, engine_runs), (rollups_before_issue_10, python_runs)):
                started = time.perf_counter()
                way(executor, today - timedelta(days=DAYS - 1), today, datetime.now(UTC), lake)
                timings.append(time.perf_counter() - started)

        year_service = AnalyticsService(
            executor,
            RollupService(executor, SlowObjectStore(store, STORAGE_LATENCY_SECONDS), history),
            spend,
        )
        year = {"from": (today - timedelta(days=365)).isoformat(), "to": today.isoformat()}
        first = (today - timedelta(days=RANGE_DAYS - 1)).isoformat()
        period = {"from": first, "to": today.isoformat()}
        funnel = {
            "steps": [
                {"type": "page"},
                {"url": "/pricing*"},
                {"event": "Booking Started"},
                {"event": "Booking Submitted"},
            ],
            "breakdown": "channel",
            **period,
        }
        calls: dict[str, Callable[[], Any]] = {
            "GET /v1/stats/overview (rollups)": lambda: service.answer("overview", period),
            "GET /v1/trends?metric=visitors (rollups)": lambda: service.answer(
                "trends", {"metric": "visitors", **period}
            ),
            "POST /v1/funnels (4 steps, by channel)": lambda: service.answer("funnels", body=funnel),
            "GET /v1/retention?cohort=week&periods=8": lambda: service.answer(
                "retention", {"cohort": "week", "periods": "8"}
            ),
            "GET /v1/paths?from_step=pricing_check": lambda: service.answer(
                "paths", {"from_step": "pricing_check", **period}
            ),
            "GET /v1/attribution?model=linear": lambda: service.answer(
                "attribution", {"model": "linear", **period}
            ),
            "GET /v1/attribution?model=markov": lambda: service.answer(
                "attribution", {"model": "markov", **period}
            ),
            "GET /v1/campaigns": lambda: service.answer("campaigns", period),
            # A year with its previous period is 732 daily rollup objects; S3 answers each in tens of
            # milliseconds, which a local directory does not, so this store adds that latency.
            YEAR_OVERVIEW: lambda: year_service.answer("overview", year),
        }
        latency: dict[str, tuple[float, float, float, float]] = {}
        recent, _, _ = generate(1_000, today, seed=11)
        for index, (name, call) in enumerate(calls.items()):
            cold = elapsed_ms(call)
            samples = [elapsed_ms(call) for _ in range(runs)]
            # A new commit (as the enrich function makes every batch): the next call plans the scan
            # again and reads only the new file; the others stay cached.
            batch = recent.slice(index * 100, 100)
            ids = pc.binary_join_element_wise(f"n{index}-", batch["message_id"], "")
            table.append(batch.set_column(0, batch.schema.field("message_id"), ids))
            after_commit = elapsed_ms(call)
            latency[name] = (cold, after_commit, statistics.median(samples), percentile(samples, 0.95))
    return AnalyticsFigures(
        events=events,
        visitors=visitors,
        sessions=sessions,
        days=DAYS,
        range_days=RANGE_DAYS,
        generate_seconds=generate_seconds,
        write_seconds=write_seconds,
        rollup_seconds=rollup_seconds,
        rollup_engine_runs=engine_runs,
        rollup_python_runs=python_runs,
        runs=runs,
        latency=latency,
    )


def render(figures: AnalyticsFigures) -> str:
    """The analytics section of docs/performance.md."""
    lines = [
        "## Analytics endpoints (issue 5)",
        "",
        f"A synthetic lake of {figures.events:,} events ({figures.sessions:,} sessions, up to"
        f" {figures.visitors:,} visitors, {figures.days} days, 2 % bot sessions) in an Iceberg table on"
        f" local disk, generated column-wise in {figures.generate_seconds:.1f} s and appended in"
        f" {figures.write_seconds:.1f} s."
        f" Computing the daily rollups of all {figures.days} days (the schedule's job) took"
        f" {figures.rollup_seconds:.1f} s, reading every data file from disk once.",
        "",
        *_rollup_lines(figures),
        f"Every endpoint over the last {figures.range_days} days (the dashboard's default range, about"
        f" {figures.range_days / figures.days:.0%} of the events), through"
        " `AnalyticsService` with the DuckDB executor reading the table through"
        " `reviva.adapters.lake.reader`, as"
        " `reviva dev` serves it. *First call* is the endpoint's first request (its query runs for the"
        " first time; the rollup job had already read the data files into the local reader's cache,"
        " so the one-off cost of reading files from storage is inside the rollup time above);"
        " *after a commit* is the call right after a small append (what the enrich function does every"
        " batch: only the new file is read, the others stay cached); p50/p95 are over"
        f" {figures.runs} calls on an unchanged snapshot. One core (`make bench` pins the process)."
        " Athena in AWS is another engine: its latency (typically 1-3 s a query, less"
        " with result reuse) is not measured here; the rollup-served overview does not depend on it."
        f" The year-long overview reads one rollup object a day for the year and its previous period"
        f" (732) from a store that takes {STORAGE_LATENCY_SECONDS * 1000:.0f} ms a request, as S3 does;"
        " its first call also computes and stores the days the synthetic lake does not cover.",
        "",
        "| endpoint | first call | after a commit | p50 | p95 | target (p95) | |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, (cold, after_commit, p50, p95) in figures.latency.items():
        target = OVERVIEW_TARGET_MS if "rollups" in name else ENDPOINT_TARGET_MS
        verdict = "meets the target" if p95 <= target else "**misses the target**"
        lines.append(
            f"| {name} | {cold:,.0f} ms | {after_commit:,.0f} ms | {p50:,.0f} ms | {p95:,.0f} ms"
            f" | < {target:,.0f} ms | {verdict} |"
        )
    lines.append("")
    return "\n".join(lines)


def _rollup_lines(figures: AnalyticsFigures) -> list[str]:
    engine = statistics.median(figures.rollup_engine_runs)
    python = statistics.median(figures.rollup_python_runs)
    runs = ", ".join(f"{t:.1f}" for t in figures.rollup_engine_runs)
    python_runs = ", ".join(f"{t:.1f}" for t in figures.rollup_python_runs)
    return [
        f"Recomputing all {figures.days} days again with the files cached (only the engine's and"
        f" Python's work; median of {len(figures.rollup_engine_runs)}, the two ways alternating):",
        "",
        f"| rollup computation, {figures.days} days | median | runs (s) |",
        "|---|---|---|",
        "| before issue 10: visitor sketches built in Python from every (day, visitor) pair, session"
        f" rows by hour, channel, device and country added up in Python | {python:.1f} s | {python_runs} |",
        "| now: sketches built by the engine, one row a day (`reviva.analytics.sketch_sql`); session"
        f" breakdowns by grouping sets, a few thousand rows | {engine:.1f} s | {runs} |",
        "",
        f"The rollup computation is {python / engine:.1f}x faster, with the same figures and registers"
        " (`tests/analytics/test_sketch_sql.py`).",
        "",
    ]


if __name__ == "__main__":
    print(render(run()))
