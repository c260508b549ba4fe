"""GET /v1/retention: the cohort retention matrix (visitors by first-active period, then per period)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal, cast

from pydantic import Field

from reviva.analytics.answers import Answer
from reviva.analytics.errors import InvalidParameter
from reviva.analytics.freshness import Freshness, lake_freshness
from reviva.analytics.params import parse_choice, parse_day, parse_int
from reviva.analytics.periods import lake_range
from reviva.analytics.ports import LakeQuery, QueryExecutor
from reviva.analytics.ratios import ratio
from reviva.analytics.session_filters import SessionFilters, filtered
from reviva.analytics.sql_fragments import EVENT_RANGE_SQL, event_range
from reviva.analytics.usecase import AnalyticsAdapters, AnalyticsRequest

CohortUnit = Literal["day", "week", "month"]
# Request value → date_trunc unit. The SQL text only ever holds these.
TRUNCATION_UNITS: dict[str, str] = {"day": "day", "week": "week", "month": "month"}
MAX_SPAN_DAYS = 2 * 366


@dataclass(frozen=True)
class RetentionParams:
    """The `cohort` unit, how many `periods`, and `from` (aligned to its period start) to `to`,
    and the session filters (see session_filters)."""

    unit: CohortUnit
    periods: int
    first: date
    last: date
    filters: SessionFilters = field(default_factory=SessionFilters)

    @classmethod
    def parse(cls, query: Mapping[str, str], today: date) -> RetentionParams:
        """Parse the query string; InvalidParameter names a bad parameter."""
        unit = cast(CohortUnit, parse_choice(query, "cohort", ("day", "week", "month"), "week"))
        periods = parse_int(query, "periods", 8, 1, 52)
        last = parse_day("to", query.get("to"), today, today=today)
        default_first = add_periods(period_start(last, unit), unit, -(periods - 1))
        first = parse_day("from", query.get("from"), default_first, today=today)
        if first > last:
            raise InvalidParameter("from", "must not be after to")
        first = period_start(first, unit)
        if (last - first).days + 1 > MAX_SPAN_DAYS:
            raise InvalidParameter("from", f"the range may span at most {MAX_SPAN_DAYS} days")
        return cls(unit, periods, first, last, SessionFilters.parse(query))


class Cohort(Answer):
    cohort: date
    size: int
    retained: list[int]
    rates: list[float]


class RetentionAnswer(Answer):
    cohort: CohortUnit
    periods: int
    first: date = Field(serialization_alias="from")
    last: date = Field(serialization_alias="to")
    cohorts: list[Cohort]
    filters: dict[str, str]
    freshness: Freshness


def answer(request: AnalyticsRequest, adapters: AnalyticsAdapters) -> RetentionAnswer:
    """The use case's entry point (`reviva.analytics.usecase`): parse the request, then answer it."""
    return retention(RetentionParams.parse(request.query, request.now.date()), adapters.executor, request.now)


def retention(params: RetentionParams, executor: QueryExecutor, now: datetime) -> RetentionAnswer:
    """Each cohort's size and the visitors it kept in each period that has started by `to`."""
    executor = filtered(executor, params.filters)
    unit, periods, last = params.unit, params.periods, params.last
    rows = executor.run(retention_query(unit, *lake_range(params.first, last)))
    matrix: dict[date, dict[int, int]] = defaultdict(dict)
    for row in rows:
        cohort = row["cohort"].astimezone(UTC).date()
        period = row["period"].astimezone(UTC).date()
        index = period_index(cohort, period, unit)
        if index < periods:
            matrix[cohort][index] = int(row["visitors"])
    cohorts = []
    for cohort in sorted(matrix):
        started = [k for k in range(periods) if add_periods(cohort, unit, k) <= last]
        size = matrix[cohort].get(0, 0)
        retained = [matrix[cohort].get(k, 0) for k in started]
        cohorts.append(
            Cohort(cohort=cohort, size=size, retained=retained, rates=[ratio(r, size) for r in retained])
        )
    return RetentionAnswer(
        cohort=unit,
        periods=periods,
        first=params.first,
        last=last,
        cohorts=cohorts,
        filters=params.filters.as_dict(),
        freshness=lake_freshness(executor, now, params.first, params.last),
    )


# ------------------------------------------------------------------------------------ cohort periods


def period_start(day: date, unit: CohortUnit) -> date:
    """The first day of the day's period (weeks start on Monday)."""
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def add_periods(day: date, unit: CohortUnit, count: int) -> date:
    """The start of the period `count` periods after the one starting on `day`."""
    if unit == "day":
        return day + timedelta(days=count)
    if unit == "week":
        return day + timedelta(weeks=count)
    months = day.year * 12 + day.month - 1 + count
    return date(months // 12, months % 12 + 1, 1)


def period_index(cohort: date, period: date, unit: CohortUnit) -> int:
    """How many periods `period` comes after `cohort` (0: the cohort's own)."""
    if unit == "day":
        return (period - cohort).days
    if unit == "week":
        return (period - cohort).days // 7
    return (period.year * 12 + period.month) - (cohort.year * 12 + cohort.month)


# ------------------------------------------------------------------------------------------- SQL


def retention_query(unit: str, start: datetime, end: datetime) -> LakeQuery:
    """(cohort, period, visitors): visitors first active in `cohort` who were active in `period`."""
    trunc = TRUNCATION_UNITS[unit]
    sql = f"""
WITH activity AS (
  SELECT visitor_key, date_trunc('{trunc}', event_time) AS period
  FROM events
  WHERE {EVENT_RANGE_SQL}
  GROUP BY 1, 2
),
firsts AS (SELECT visitor_key, min(period) AS cohort FROM activity GROUP BY visitor_key)
SELECT f.cohort, a.period, count(*) AS visitors
FROM firsts f JOIN activity a ON a.visitor_key = f.visitor_key
GROUP BY 1, 2
"""
    return LakeQuery("retention", sql, event_range(start, end), start, end)
