"""POST /v1/funnels: visitors per ordered step within a window, drop-off, median time, breakdown."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
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
STEP_SHAPES = 'must be one of {"type": …}, {"url": …}, {"event": …}'


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


# ------------------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class FunnelParams:
    """The JSON body: 2-10 `steps`, `window_hours` (default 72), a `breakdown`, `from`/`to`."""

    steps: list[FunnelStep]
    window_hours: int
    breakdown: str | None
    first: date
    last: date

    @classmethod
    def parse(cls, body: Any, today: date) -> FunnelParams:
        """Parse the request body; InvalidParameter names a bad parameter."""
        if not isinstance(body, dict):
            raise InvalidParameter("body", "must be a JSON object with steps")
        steps = _parse_steps(body.get("steps"))
        window = parse_int(body, "window_hours", 72, 1, 2160)
        breakdown = body.get("breakdown")
        if breakdown is not None:
            breakdown = parse_choice(body, "breakdown", tuple(BREAKDOWN_COLUMNS), None)
        first, last = parse_range({k: body[k] for k in ("from", "to") if body.get(k) is not None}, today)
        return cls(steps, window, breakdown, first, last)


def _parse_steps(raw: Any) -> list[FunnelStep]:
    if not isinstance(raw, list) or not 2 <= len(raw) <= 10:
        raise InvalidParameter("steps", "must be a list of 2 to 10 steps")
    steps = []
    for index, item in enumerate(raw):
        name = f"steps[{index}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise InvalidParameter(name, STEP_SHAPES)
        ((kind, value),) = item.items()
        if kind not in ("type", "url", "event") or not isinstance(value, str) or not 1 <= len(value) <= 200:
            raise InvalidParameter(name, STEP_SHAPES + " with a 1-200 character value")
        if kind == "type" and value not in ("page", "screen", "track", "identify"):
            raise InvalidParameter(name, "type must be page, screen, track or identify")
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
    index: int
    label: str
    count: int
    conversion_from_start: float
    drop_off: int
    drop_off_rate: float
    median_seconds_from_previous: float | None


class StepCount(Answer):
    index: int
    count: int


class FunnelBreakdown(Answer):
    key: str
    steps: list[StepCount]


class FunnelAnswer(Answer):
    first: date = Field(serialization_alias="from")
    last: date = Field(serialization_alias="to")
    window_hours: int
    breakdown: str | None
    steps: list[FunnelStepAnswer]
    breakdowns: list[FunnelBreakdown]
    freshness: Freshness


def answer(request: AnalyticsRequest, adapters: AnalyticsAdapters) -> FunnelAnswer:
    """The use case's entry point (`reviva.analytics.usecase`): parse the request, then answer it."""
    return funnel(FunnelParams.parse(request.body, request.now.date()), adapters.executor, request.now)


def funnel(params: FunnelParams, executor: QueryExecutor, now: datetime) -> FunnelAnswer:
    """Count the visitors reaching each step, and per breakdown value (the top 20 by step 0)."""
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
        result_steps.append(
            FunnelStepAnswer(
                index=index,
                label=step.label,
                count=counts[index],
                conversion_from_start=ratio(counts[index], counts[0]) if counts[0] else 0.0,
                drop_off=drop,
                drop_off_rate=ratio(drop, previous),
                median_seconds_from_previous=medians[index] if index else None,
            )
        )
    ranked = sorted(by_key.items(), key=lambda kv: (-kv[1][0], kv[0]))[:20]
    return FunnelAnswer(
        first=params.first,
        last=params.last,
        window_hours=params.window_hours,
        breakdown=params.breakdown,
        steps=result_steps,
        breakdowns=[
            FunnelBreakdown(key=key, steps=[StepCount(index=i, count=c) for i, c in enumerate(values)])
            for key, values in ranked
        ],
        freshness=lake_freshness(executor, now, params.first, params.last),
    )


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
        f"{breakdown_sql} AS breakdown, {', '.join(flags)} FROM events WHERE {EVENT_RANGE_SQL})",
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
