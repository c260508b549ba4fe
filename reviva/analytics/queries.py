"""The lake queries, in the Athena (Trino) dialect, with bound parameters only.

Every query filters `event_time` on a half-open UTC range (Athena prunes the table's day(event_time)
partitions from it; the local reader prunes with the same bounds), excludes bots, and passes
`sqlcompat.lint`. Identifiers that vary by request (a breakdown column, a truncation unit) come from
the allow-lists below, never from the request text; every value from a request is a `?` parameter.
Times are compared as epoch seconds (`to_unixtime`), never with `date_diff` (see sqlcompat).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from reviva.analytics.executors import LakeQuery, Param

# Request value → lake column, for breakdowns. The SQL text only ever holds these column names.
BREAKDOWN_COLUMNS: dict[str, str] = {
    "channel": "channel",
    "device_type": "device_type",
    "country": "country",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "journey_stage": "journey_stage",
}

TRUNCATION_UNITS: dict[str, str] = {"hour": "hour", "day": "day", "week": "week", "month": "month"}

PAGE_TYPES_SQL = "event_type IN ('page', 'screen')"
_RANGE = "event_time >= ? AND event_time < ? AND NOT is_bot"


def _range(start: datetime, end: datetime) -> tuple[Param, Param]:
    return (start, end)


# ----------------------------------------------------------------------------------------- rollups

ROLLUP_EVENTS_SQL = f"""
SELECT date_trunc('hour', event_time) AS hour,
       count(DISTINCT visitor_key) AS visitors,
       count_if({PAGE_TYPES_SQL}) AS page_views,
       count_if(is_conversion) AS conversions,
       coalesce(sum(CASE WHEN is_conversion THEN revenue END), 0) AS revenue
FROM events
WHERE {_RANGE}
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
  WHERE {_RANGE} AND session_id IS NOT NULL
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
WHERE {_RANGE} AND {PAGE_TYPES_SQL}
GROUP BY 1, 2
"""

ROLLUP_VISITORS_SQL = f"""
SELECT date_trunc('day', event_time) AS day, visitor_key
FROM events
WHERE {_RANGE}
GROUP BY 1, 2
"""


def rollup_queries(start: datetime, end: datetime) -> dict[str, LakeQuery]:
    """The four queries a range of daily rollups is computed from ([start, end), whole UTC days)."""
    session_end = end + timedelta(days=1)
    return {
        "events": LakeQuery("rollup_events", ROLLUP_EVENTS_SQL, _range(start, end), start, end),
        "sessions": LakeQuery(
            "rollup_sessions",
            ROLLUP_SESSIONS_SQL,
            (start, session_end, start, end),
            start,
            session_end,
        ),
        "pages": LakeQuery("rollup_pages", ROLLUP_PAGES_SQL, _range(start, end), start, end),
        "visitors": LakeQuery("rollup_visitors", ROLLUP_VISITORS_SQL, _range(start, end), start, end),
    }


# ----------------------------------------------------------------------------------------- funnels


@dataclass(frozen=True)
class FunnelStep:
    """One funnel step: `kind` is "type", "url", "url_prefix" or "event"; `value` its operand."""

    kind: str
    value: str

    @property
    def label(self) -> str:
        if self.kind == "url_prefix":
            return f"url {self.value}*"
        if self.kind == "type":
            return self.value
        return f"{self.kind} {self.value}"


def _step_condition(step: FunnelStep) -> tuple[str, Param]:
    if step.kind == "type":
        return "event_type = ?", step.value
    if step.kind == "url":
        return f"{PAGE_TYPES_SQL} AND page_path = ?", step.value
    if step.kind == "url_prefix":
        return f"{PAGE_TYPES_SQL} AND starts_with(page_path, ?)", step.value
    if step.kind == "event":
        return "event_type = 'track' AND event_name = ?", step.value
    raise ValueError(f"unknown funnel step kind {step.kind!r}")


def funnel_query(
    steps: list[FunnelStep], start: datetime, end: datetime, window_hours: int, breakdown: str | None
) -> LakeQuery:
    """Visitors reaching each step in order, within `window_hours` of their first step-0 event.

    Step 0 must happen in [start, end); later steps may run up to the window past `end`. Rows:
    (step, breakdown, visitors, median_seconds), the median (exact) over all breakdowns.
    """
    window_seconds = window_hours * 3600
    scan_end = end + timedelta(hours=window_hours)
    breakdown_sql = BREAKDOWN_COLUMNS[breakdown] if breakdown else "CAST(NULL AS VARCHAR)"
    params: list[Param] = []
    flags = []
    for index, step in enumerate(steps):
        condition, value = _step_condition(step)
        flags.append(f"CASE WHEN {condition} THEN 1 ELSE 0 END AS s{index}")
        params.append(value)
    params += [start, scan_end]
    ctes = [
        "base AS (SELECT visitor_key, event_time, "
        f"{breakdown_sql} AS breakdown, {', '.join(flags)} FROM events WHERE {_RANGE})",
        "f0 AS (SELECT visitor_key, min(event_time) AS t0, min_by(breakdown, event_time) AS breakdown, "
        "min(event_time) AS t, CAST(NULL AS DOUBLE) AS secs FROM base WHERE s0 = 1 AND event_time < ? "
        "GROUP BY visitor_key)",
    ]
    params.append(end)
    for index in range(1, len(steps)):
        ctes.append(
            f"f{index} AS (SELECT p.visitor_key, p.t0, p.breakdown, min(b.event_time) AS t, "
            "to_unixtime(min(b.event_time)) - to_unixtime(p.t) AS secs "
            f"FROM f{index - 1} p JOIN base b ON b.visitor_key = p.visitor_key "
            f"WHERE b.s{index} = 1 AND b.event_time > p.t "
            "AND to_unixtime(b.event_time) <= to_unixtime(p.t0) + ? "
            "GROUP BY p.visitor_key, p.t0, p.breakdown, p.t)"
        )
        params.append(window_seconds)
    reached = " UNION ALL ".join(
        f"SELECT {index} AS step, breakdown, secs FROM f{index}" for index in range(len(steps))
    )
    ctes.append(f"reached AS ({reached})")
    ctes.append(
        "ranked AS (SELECT step, secs, row_number() OVER (PARTITION BY step ORDER BY secs) AS rn, "
        "count(*) OVER (PARTITION BY step) AS n FROM reached WHERE secs IS NOT NULL)"
    )
    ctes.append(
        "medians AS (SELECT step, avg(secs) AS median_seconds FROM ranked "
        "WHERE rn = floor((n + 1) / 2.0) OR rn = floor((n + 2) / 2.0) GROUP BY step)"
    )
    sql = (
        "WITH "
        + ",\n".join(ctes)
        + "\nSELECT r.step, r.breakdown, count(*) AS visitors, max(m.median_seconds) AS median_seconds "
        "FROM reached r LEFT JOIN medians m ON m.step = r.step GROUP BY r.step, r.breakdown"
    )
    return LakeQuery("funnel", sql, tuple(params), start, scan_end)


# --------------------------------------------------------------------------------------- retention


def retention_query(unit: str, start: datetime, end: datetime) -> LakeQuery:
    """(cohort, period, visitors): visitors first active in `cohort` who were active in `period`."""
    trunc = TRUNCATION_UNITS[unit]
    sql = f"""
WITH activity AS (
  SELECT visitor_key, date_trunc('{trunc}', event_time) AS period
  FROM events
  WHERE {_RANGE}
  GROUP BY 1, 2
),
firsts AS (SELECT visitor_key, min(period) AS cohort FROM activity GROUP BY visitor_key)
SELECT f.cohort, a.period, count(*) AS visitors
FROM firsts f JOIN activity a ON a.visitor_key = f.visitor_key
GROUP BY 1, 2
"""
    return LakeQuery("retention", sql, _range(start, end), start, end)


# ------------------------------------------------------------------------------------------- paths

PATH_SEPARATOR = " > "


def paths_query(start: datetime, end: datetime, from_step: str | None, depth: int) -> LakeQuery:
    """Session paths over journey touchpoints (consecutive repeats collapsed) and stage changes.

    Rows: (kind, pos, source, target, sessions) with kind "node" (pos, source), "link" (pos, source
    → target), "path" (source = the steps joined by PATH_SEPARATOR) and "stage" (source → target).
    """
    params: list[Param] = [start, end]
    start_filter = ""
    if from_step is not None:
        start_filter = "WHERE touchpoint = ?"
        params.append(from_step)
    params += [depth, start, end]
    sql = f"""
WITH steps AS (
  SELECT session_id, message_id, event_time, touchpoint,
         lag(touchpoint) OVER (PARTITION BY session_id ORDER BY event_time, message_id) AS prev
  FROM events
  WHERE {_RANGE} AND session_id IS NOT NULL AND touchpoint IS NOT NULL
),
dedup AS (SELECT session_id, message_id, event_time, touchpoint FROM steps
          WHERE prev IS NULL OR prev <> touchpoint),
starts AS (SELECT session_id, min(event_time) AS t FROM dedup {start_filter} GROUP BY session_id),
ordered AS (
  SELECT d.session_id, d.touchpoint,
         row_number() OVER (PARTITION BY d.session_id ORDER BY d.event_time, d.message_id) - 1 AS pos
  FROM dedup d JOIN starts s ON s.session_id = d.session_id
  WHERE d.event_time >= s.t
),
kept AS (SELECT session_id, touchpoint, pos FROM ordered WHERE pos < ?),
stages AS (
  SELECT journey_stage,
         lag(journey_stage) OVER (PARTITION BY visitor_key ORDER BY event_time, message_id) AS prev
  FROM events
  WHERE {_RANGE} AND journey_stage IS NOT NULL
)
SELECT 'node' AS kind, pos, touchpoint AS source, CAST(NULL AS VARCHAR) AS target, count(*) AS sessions
FROM kept GROUP BY pos, touchpoint
UNION ALL
SELECT 'link', a.pos, a.touchpoint, b.touchpoint, count(*)
FROM kept a JOIN kept b ON b.session_id = a.session_id AND b.pos = a.pos + 1
GROUP BY a.pos, a.touchpoint, b.touchpoint
UNION ALL
SELECT 'path', CAST(NULL AS BIGINT), path, CAST(NULL AS VARCHAR), count(*)
FROM (SELECT session_id, array_join(array_agg(touchpoint ORDER BY pos), '{PATH_SEPARATOR}') AS path
      FROM kept GROUP BY session_id) p
GROUP BY path
UNION ALL
SELECT 'stage', CAST(NULL AS BIGINT), prev, journey_stage, count(*)
FROM stages WHERE prev IS NOT NULL AND prev <> journey_stage
GROUP BY prev, journey_stage
"""
    # Parameters follow the text: steps' range, from_step, depth (kept), then stages' range.
    return LakeQuery("paths", sql, tuple(params), start, end)


# ------------------------------------------------------------------------------------- attribution

_SESSIONS_FOR_TOUCHES = f"""
sessions AS (
  SELECT visitor_key, session_id, min(event_time) AS started_at,
         min_by(channel, event_time) AS channel,
         min_by(utm_campaign, event_time) AS campaign,
         max(CASE WHEN is_conversion THEN 1 ELSE 0 END) AS converted
  FROM events
  WHERE {_RANGE} AND session_id IS NOT NULL
  GROUP BY visitor_key, session_id
)"""


def attribution_touches_query(start: datetime, end: datetime, lookback_days: int) -> LakeQuery:
    """One row per (conversion, touch): the visitor's sessions started in the lookback window up to
    the conversion. A conversion without such a session gets one row with NULL touch columns.

    Sessions are built only for visitors who converted in the range (a semi-join), so the lookback
    scan groups a small fraction of the events.
    """
    scan_start = start - timedelta(days=lookback_days)
    sql = f"""
WITH conversions AS (
  SELECT message_id, visitor_key, event_time, coalesce(revenue, 0) AS revenue
  FROM events
  WHERE {_RANGE} AND is_conversion
),
sessions AS (
  SELECT visitor_key, session_id, min(event_time) AS started_at,
         min_by(channel, event_time) AS channel,
         min_by(utm_campaign, event_time) AS campaign
  FROM events
  WHERE {_RANGE} AND session_id IS NOT NULL
    AND visitor_key IN (SELECT visitor_key FROM conversions)
  GROUP BY visitor_key, session_id
)
SELECT c.message_id AS conversion_id, c.event_time AS converted_at, c.revenue,
       s.session_id, s.channel, s.campaign, s.started_at
FROM conversions c LEFT JOIN sessions s
  ON s.visitor_key = c.visitor_key AND s.started_at <= c.event_time
 AND to_unixtime(s.started_at) >= to_unixtime(c.event_time) - ?
ORDER BY conversion_id, started_at, session_id
"""
    params: tuple[Param, ...] = (start, end, scan_start, end, lookback_days * 86400)
    return LakeQuery("attribution_touches", sql, params, scan_start, end)


# Touch states are "channel<US>campaign" (ASCII unit separator, which UTM values cannot usefully
# hold) and paths join states with the record separator.
STATE_SEPARATOR = "\x1f"
PATH_STATE_SEPARATOR = "\x1e"


def attribution_paths_query(start: datetime, end: datetime) -> LakeQuery:
    """Every visitor's touch path in the range with whether it converted, grouped by path."""
    sql = f"""
WITH {_SESSIONS_FOR_TOUCHES.strip()},
paths AS (
  SELECT visitor_key,
         array_join(array_agg(coalesce(channel, '(none)') || chr(31) || coalesce(campaign, '')
                              ORDER BY started_at, session_id), chr(30)) AS path,
         max(converted) AS converted
  FROM sessions
  GROUP BY visitor_key
)
SELECT path, count_if(converted = 1) AS conversions, count_if(converted = 0) AS non_conversions
FROM paths
GROUP BY path
"""
    return LakeQuery("attribution_paths", sql, _range(start, end), start, end)


# --------------------------------------------------------------------------------------- campaigns


def campaigns_query(start: datetime, end: datetime) -> LakeQuery:
    """Per campaign (of the session's first event) and day; plus per-campaign totals and sources.

    Rows carry `grain`: "day" (campaign, day), "total" (campaign) or "source" (campaign, source,
    medium), from one scan through GROUPING SETS.
    """
    sql = f"""
WITH sessions AS (
  SELECT session_id, visitor_key, min(event_time) AS started_at,
         min_by(utm_campaign, event_time) AS campaign,
         min_by(utm_source, event_time) AS source,
         min_by(utm_medium, event_time) AS medium,
         count_if(is_conversion) AS conversions,
         coalesce(sum(CASE WHEN is_conversion THEN revenue END), 0) AS revenue
  FROM events
  WHERE {_RANGE} AND session_id IS NOT NULL
  GROUP BY session_id, visitor_key
),
tagged AS (
  SELECT campaign, date_trunc('day', started_at) AS day, coalesce(source, '') AS source,
         coalesce(medium, '') AS medium, visitor_key, conversions, revenue
  FROM sessions WHERE campaign IS NOT NULL
)
SELECT campaign, day, source, medium,
       grouping(day) AS no_day, grouping(source) AS no_source,
       count(DISTINCT visitor_key) AS visitors, count(*) AS sessions,
       sum(conversions) AS conversions, sum(revenue) AS revenue
FROM tagged
GROUP BY GROUPING SETS ((campaign, day), (campaign), (campaign, source, medium))
"""
    return LakeQuery("campaigns", sql, _range(start, end), start, end)
