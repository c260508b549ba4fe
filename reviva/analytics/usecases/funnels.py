"""POST /v1/funnels: visitors per ordered step within a window, drop-off, median time, breakdown.

Vocabulary (docs/api-analytics.md, "Definitions"): a funnel counts *visitors*; a visitor *reached*
a step when they did it after the previous one and within the window; `funnel_completion_rate` is
the share of the visitors who entered (step 1) that reached the last step. It is not the overview's
`session_conversion_rate` (sessions with a conversion event / sessions).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import Field

from reviva.analytics.answers import Answer
from reviva.analytics.errors import InvalidParameter
from reviva.analytics.freshness import Freshness, lake_freshness
from reviva.analytics.params import parse_choice, parse_int, parse_range
from reviva.analytics.periods import lake_range
from reviva.analytics.ports import LakeQuery, Param, QueryExecutor
from reviva.analytics.ratios import ratio
from reviva.analytics.session_filters import SessionFilters, filtered
from reviva.analytics.sql_fragments import EVENT_RANGE_SQL, PAGE_TYPES_SQL
from reviva.analytics.usecase import AnalyticsAdapters, AnalyticsRequest

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
# Breakdowns that describe the session, so they are read from the session's first event: the
# acquisition channel, not the "internal" referrer of a later page. `journey_stage` describes the
# visitor at their step-1 event, so it stays the step-1 event's value.
SESSION_BREAKDOWNS = frozenset(BREAKDOWN_COLUMNS) - {"journey_stage"}
# How far before `from` the lake is read so a session that began the evening before still finds
# its first event (sessions end after 30 idle minutes; a day covers all but pathological ones).
SESSION_LOOKBACK = timedelta(days=1)
# Breakdown keys listed one by one; the rest are summed into one OTHER_KEY row.
BREAKDOWN_KEYS = 20
OTHER_KEY = "(other)"
STEP_KINDS = ("type", "url", "event", "touchpoint")
STEP_SHAPES = 'must be one of {"type": …}, {"url": …}, {"event": …}, {"touchpoint": …}'
_TOUCHPOINT = re.compile(r"[a-z][a-z0-9_]{0,99}")


@dataclass(frozen=True)
class FunnelStep:
    """One funnel step: `kind` is "type", "url", "url_prefix", "event" or "touchpoint"; `value` its value."""

    kind: str
    value: str

    @property
    def label(self) -> str:
        if self.kind == "url_prefix":
            return f"url {self.value}*"
        if self.kind == "type":
            return self.value
        return f"{self.kind} {self.value}"


# ------------------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class FunnelParams:
    """The JSON body: 2-10 `steps`, `window_hours` (default 72), a `breakdown`, `from`/`to` and
    the session filters `channel`, `page`, `device`, `country` (see session_filters)."""

    steps: list[FunnelStep]
    window_hours: int
    breakdown: str | None
    first: date
    last: date
    filters: SessionFilters = field(default_factory=SessionFilters)

    @classmethod
    def parse(cls, body: Any, today: date) -> FunnelParams:
        """Parse the request body; InvalidParameter names a bad parameter."""
        if not isinstance(body, dict):
            raise InvalidParameter("body", "must be a JSON object with steps")
        steps = parse_steps(body.get("steps"))
        window = parse_int(body, "window_hours", 72, 1, 2160)
        breakdown = body.get("breakdown")
        if breakdown is not None:
            breakdown = parse_choice(body, "breakdown", tuple(BREAKDOWN_COLUMNS), None)
        first, last = parse_range({k: body[k] for k in ("from", "to") if body.get(k) is not None}, today)
        return cls(steps, window, breakdown, first, last, SessionFilters.parse(body))


def parse_steps(raw: Any) -> list[FunnelStep]:
    """The `steps` of a funnel body; InvalidParameter names the bad one (`steps[i]`)."""
    if not isinstance(raw, list) or not 2 <= len(raw) <= 10:
        raise InvalidParameter("steps", "must be a list of 2 to 10 steps")
    steps = []
    for index, item in enumerate(raw):
        name = f"steps[{index}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise InvalidParameter(name, STEP_SHAPES)
        ((kind, value),) = item.items()
        if kind not in STEP_KINDS or not isinstance(value, str) or not 1 <= len(value) <= 200:
            raise InvalidParameter(name, STEP_SHAPES + " with a 1-200 character value")
        if kind == "type" and value not in ("page", "screen", "track", "identify"):
            raise InvalidParameter(name, "type must be page, screen, track or identify")
        if kind == "touchpoint" and not _TOUCHPOINT.fullmatch(value):
            raise InvalidParameter(name, "touchpoint must be a journey touchpoint name (a-z, 0-9, _)")
        if kind == "url":
            if "*" in value[:-1]:
                raise InvalidParameter(name, "url may contain * only at its end")
            if value.endswith("*"):
                steps.append(FunnelStep("url_prefix", value[:-1]))
                continue
        steps.append(FunnelStep(kind, value))
    return steps


# ---------------------------------------------------------------------------------------- answer


class FunnelStepAnswer(Answer):
    """One step. `count`, `conversion_from_start` and `drop_off` are the original names of
    `visitors`, `reached_rate_from_start` and `drop_off_visitors` (same values, kept for clients)."""

    index: int
    label: str
    visitors: int
    reached_rate_from_start: float
    drop_off_visitors: int
    drop_off_rate: float
    median_seconds_from_previous: float | None
    count: int
    conversion_from_start: float
    drop_off: int


class StepCount(Answer):
    index: int
    visitors: int
    count: int  # the original name of `visitors`


class FunnelBreakdown(Answer):
    key: str
    steps: list[StepCount]


class FunnelAnswer(Answer):
    first: date = Field(serialization_alias="from")
    last: date = Field(serialization_alias="to")
    window_hours: int
    breakdown: str | None
    entered_visitors: int
    completed_visitors: int
    funnel_completion_rate: float
    steps: list[FunnelStepAnswer]
    breakdowns: list[FunnelBreakdown]
    other_keys: int
    filters: dict[str, str]
    freshness: Freshness


def answer(request: AnalyticsRequest, adapters: AnalyticsAdapters) -> FunnelAnswer:
    """The use case's entry point (`reviva.analytics.usecase`): parse the request, then answer it."""
    return funnel(FunnelParams.parse(request.body, request.now.date()), adapters.executor, request.now)


def funnel(params: FunnelParams, executor: QueryExecutor, now: datetime) -> FunnelAnswer:
    """Count the visitors reaching each step, and per breakdown value (the top 20 by step 0, then
    one OTHER_KEY row summing the rest, so the rows always add up to the steps' counts)."""
    executor = filtered(executor, params.filters)
    steps = params.steps
    start, end = lake_range(params.first, params.last)
    rows = executor.run(funnel_query(steps, start, end, params.window_hours, params.breakdown))
    counts = [0] * len(steps)
    medians: list[float | None] = [None] * len(steps)
    by_key: dict[str, list[int]] = defaultdict(lambda: [0] * len(steps))
    for row in rows:
        position = int(row["step"])
        counts[position] += int(row["visitors"])
        if row["median_seconds"] is not None:
            medians[position] = round(float(row["median_seconds"]), 1)
        if params.breakdown:
            by_key[row["breakdown"] if row["breakdown"] is not None else "(none)"][position] += int(
                row["visitors"]
            )
    result_steps = []
    for index, step in enumerate(steps):
        previous = counts[index - 1] if index else counts[0]
        drop = previous - counts[index] if index else 0
        reached_rate = ratio(counts[index], counts[0]) if counts[0] else 0.0
        result_steps.append(
            FunnelStepAnswer(
                index=index,
                label=step.label,
                visitors=counts[index],
                reached_rate_from_start=reached_rate,
                drop_off_visitors=drop,
                drop_off_rate=ratio(drop, previous),
                median_seconds_from_previous=medians[index] if index else None,
                count=counts[index],
                conversion_from_start=reached_rate,
                drop_off=drop,
            )
        )
    ranked, other_keys = _top_keys(by_key, len(steps))
    return FunnelAnswer(
        first=params.first,
        last=params.last,
        window_hours=params.window_hours,
        breakdown=params.breakdown,
        entered_visitors=counts[0],
        completed_visitors=counts[-1],
        funnel_completion_rate=ratio(counts[-1], counts[0]) if counts[0] else 0.0,
        steps=result_steps,
        breakdowns=[
            FunnelBreakdown(
                key=key, steps=[StepCount(index=i, visitors=c, count=c) for i, c in enumerate(values)]
            )
            for key, values in ranked
        ],
        other_keys=other_keys,
        filters=params.filters.as_dict(),
        freshness=lake_freshness(executor, now, params.first, params.last),
    )


def _top_keys(by_key: dict[str, list[int]], step_count: int) -> tuple[list[tuple[str, list[int]]], int]:
    """The BREAKDOWN_KEYS largest keys by step-1 visitors, then OTHER_KEY summing the rest, and
    how many keys that row sums (0 when there is no such row)."""
    ranked = sorted(by_key.items(), key=lambda kv: (-kv[1][0], kv[0]))
    kept, rest = ranked[:BREAKDOWN_KEYS], ranked[BREAKDOWN_KEYS:]
    if not rest:
        return kept, 0
    other = [sum(values[index] for _, values in rest) for index in range(step_count)]
    return [*kept, (OTHER_KEY, other)], len(rest)


# ------------------------------------------------------------------------------------------- SQL


def _step_condition(step: FunnelStep) -> tuple[str, Param]:
    if step.kind == "type":
        return "event_type = ?", step.value
    if step.kind == "url":
        return f"{PAGE_TYPES_SQL} AND page_path = ?", step.value
    if step.kind == "url_prefix":
        return f"{PAGE_TYPES_SQL} AND starts_with(page_path, ?)", step.value
    if step.kind == "event":
        return "event_type = 'track' AND event_name = ?", step.value
    if step.kind == "touchpoint":
        return "touchpoint = ?", step.value
    raise ValueError(f"unknown funnel step kind {step.kind!r}")


def funnel_query(
    steps: list[FunnelStep], start: datetime, end: datetime, window_hours: int, breakdown: str | None
) -> LakeQuery:
    """Visitors reaching each step in order, within `window_hours` of their first step-0 event.

    Step 0 must happen in [start, end); later steps may run up to the window past `end`. A
    session breakdown (SESSION_BREAKDOWNS) is the value on the first event of the step-0 event's
    session, read from SESSION_LOOKBACK before `start`. Rows: (step, breakdown, visitors,
    median_seconds), the median (exact) over all breakdowns.
    """
    window_seconds = window_hours * 3600
    scan_end = end + timedelta(hours=window_hours)
    scan_start = start - SESSION_LOOKBACK if breakdown in SESSION_BREAKDOWNS else start
    breakdown_sql = _breakdown_sql(breakdown)
    params: list[Param] = []
    flags = []
    for index, step in enumerate(steps):
        condition, value = _step_condition(step)
        flags.append(f"CASE WHEN {condition} THEN 1 ELSE 0 END AS s{index}")
        params.append(value)
    params += [scan_start, scan_end]
    ctes = [
        "base AS (SELECT visitor_key, event_time, "
        f"{breakdown_sql} AS breakdown, {', '.join(flags)} FROM events WHERE {EVENT_RANGE_SQL})",
        "f0 AS (SELECT visitor_key, min(event_time) AS t0, min_by(breakdown, event_time) AS breakdown, "
        "min(event_time) AS t, CAST(NULL AS DOUBLE) AS secs FROM base "
        "WHERE s0 = 1 AND event_time >= ? AND event_time < ? GROUP BY visitor_key)",
    ]
    params += [start, end]
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
    return LakeQuery("funnel", sql, tuple(params), scan_start, scan_end)


def _breakdown_sql(breakdown: str | None) -> str:
    """The breakdown's value on each event: the session's first event's for a session breakdown."""
    if breakdown is None:
        return "CAST(NULL AS VARCHAR)"
    column = BREAKDOWN_COLUMNS[breakdown]
    if breakdown not in SESSION_BREAKDOWNS:
        return column
    # Events without a session (identify) keep their own value: NULL would make one huge partition.
    return (
        f"CASE WHEN session_id IS NULL THEN {column} ELSE first_value({column}) OVER "
        "(PARTITION BY session_id ORDER BY event_time, message_id) END"
    )
