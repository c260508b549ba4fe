"""GET /v1/stats/overview: KPIs, series and breakdowns of a range and the period before it (rollups)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal, cast

from pydantic import Field

from reviva.analytics.answers import Answer, Number
from reviva.analytics.daily_totals import Totals, sum_days
from reviva.analytics.errors import InvalidParameter
from reviva.analytics.freshness import Freshness, is_partial, iso_utc, rollup_freshness
from reviva.analytics.params import parse_choice, parse_range
from reviva.analytics.periods import day_start, days_in
from reviva.analytics.ratios import change, ratio
from reviva.analytics.rollups import RollupService
from reviva.analytics.session_filters import FilteredDays, FilteredExecutor, SessionFilters
from reviva.analytics.usecase import AnalyticsAdapters, AnalyticsRequest

TOP = 10
Interval = Literal["hour", "day", "week"]


@dataclass(frozen=True)
class OverviewParams:
    """`from`/`to` (default the last 7 days), the series' `interval` (hour needs ≤ 7 days) and the
    filters `channel`, `page`, `device`, `country` (sessions with that value; see session_filters)."""

    first: date
    last: date
    interval: Interval
    filters: SessionFilters = field(default_factory=SessionFilters)

    @classmethod
    def parse(cls, query: Mapping[str, str], today: date) -> OverviewParams:
        """Parse the query string; InvalidParameter names a bad parameter."""
        first, last = parse_range(query, today)
        interval = cast(Interval, parse_choice(query, "interval", ("hour", "day", "week"), "day"))
        if interval == "hour" and (last - first).days + 1 > 7:
            raise InvalidParameter("interval", "hour needs a range of at most 7 days")
        return cls(first, last, interval, SessionFilters.parse(query))


class Period(Answer):
    first: date = Field(serialization_alias="from")
    last: date = Field(serialization_alias="to")


class Kpi(Answer):
    # The whole range, open days included (what the range holds so far).
    value: Number
    # `compared` against `previous` gives `change`: both over the compared days only (Comparison).
    compared: Number
    previous: Number
    change: float | None


class Comparison(Answer):
    """Which days the KPI changes compare: the range's complete days against the same days one
    period earlier. A day not over yet (today) would set a part-day against full days, so it is
    left out (`excluded_open_days`); with no complete day at all, `current` and `previous` are None
    and every change is None."""

    current: Period | None
    previous: Period | None
    excluded_open_days: int


class SeriesPoint(Answer):
    bucket: str | None
    # The bucket reaches a day (or hour) not over yet: its figures will still grow.
    partial: bool
    visitors: int
    sessions: int
    page_views: int
    conversions: int
    revenue: Number


class Ranked(Answer):
    key: str
    value: int
    previous: int


class OverviewAnswer(Answer):
    first: date = Field(serialization_alias="from")
    last: date = Field(serialization_alias="to")
    interval: Interval
    previous: Period
    comparison: Comparison
    kpis: dict[str, Kpi]
    series: list[SeriesPoint]
    top_pages: list[Ranked]
    channels: list[Ranked]
    devices: list[Ranked]
    countries: list[Ranked]
    visitors_estimated: bool
    filters: dict[str, str]
    freshness: Freshness


def answer(request: AnalyticsRequest, adapters: AnalyticsAdapters) -> OverviewAnswer:
    """The use case's entry point (`reviva.analytics.usecase`): parse the request, then answer it."""
    params = OverviewParams.parse(request.query, request.now.date())
    if params.filters:
        # A filtered view is computed from the lake each time (never stored as a rollup).
        lake = FilteredExecutor(adapters.executor, params.filters)
        return overview(params, FilteredDays(lake), request.now)
    return overview(params, adapters.rollups, request.now)


def overview(params: OverviewParams, rollups: RollupService | FilteredDays, now: datetime) -> OverviewAnswer:
    """The range's KPIs against the period of the same length before it, its series and top lists."""
    first, last = params.first, params.last
    span = (last - first).days + 1
    previous_last = first - timedelta(days=1)
    previous_first = previous_last - timedelta(days=span - 1)
    read = rollups.days(previous_first, last)
    current = [read.days[d] for d in days_in(first, last)]
    previous = [read.days[d] for d in days_in(previous_first, previous_last)]
    # Open days are always the range's last ones: compare the complete prefix, day for day.
    complete = sum(1 for d in days_in(first, last) if not is_partial(d, now))
    return OverviewAnswer(
        first=first,
        last=last,
        interval=params.interval,
        previous=Period(first=previous_first, last=previous_last),
        comparison=Comparison(
            current=Period(first=first, last=first + timedelta(days=complete - 1)) if complete else None,
            previous=Period(first=previous_first, last=previous_first + timedelta(days=complete - 1))
            if complete
            else None,
            excluded_open_days=span - complete,
        ),
        kpis=_kpis(
            sum_days(current), sum_days(current[:complete]), sum_days(previous[:complete]), complete > 0
        ),
        series=_series(current, first, params.interval, now),
        top_pages=_top("pages", current, previous),
        channels=_top("channels", current, previous),
        devices=_top("devices", current, previous),
        countries=_top("countries", current, previous),
        visitors_estimated=span > 1,
        filters=params.filters.as_dict(),
        freshness=rollup_freshness(read, first, last, now),
    )


def _kpis(current: Totals, compared: Totals, previous: Totals, comparable: bool) -> dict[str, Kpi]:
    """Each figure over the whole range, and its change over the compared days (None without any)."""

    def derived(t: Totals) -> dict[str, Number]:
        return {
            "visitors": t.visitors,
            "sessions": t.sessions,
            "page_views": t.page_views,
            "bounce_rate": ratio(t.bounced, t.sessions),
            "avg_session_duration_seconds": round(t.duration / t.sessions, 1) if t.sessions else 0.0,
            "conversions": t.conversions,
            "conversion_rate": ratio(t.converted, t.sessions),
            "revenue": round(t.revenue, 2),
            # The same figures under names that say what they count (docs/api-analytics.md,
            # "Definitions"); `conversions` and `conversion_rate` stay for existing clients.
            "conversion_events": t.conversions,
            "converted_sessions": t.converted,
            "session_conversion_rate": ratio(t.converted, t.sessions),
        }

    now, same_days, before = derived(current), derived(compared), derived(previous)
    return {
        name: Kpi(
            value=now[name],
            compared=same_days[name],
            previous=before[name],
            change=change(same_days[name], before[name]) if comparable else None,
        )
        for name in now
    }


def _series(
    rollups: list[dict[str, Any]], first: date, interval: Interval, now: datetime
) -> list[SeriesPoint]:
    series = []
    if interval == "hour":
        for offset, rollup in enumerate(rollups):
            for hour_index, hour in enumerate(rollup["hours"]):
                bucket = day_start(first + timedelta(days=offset)) + timedelta(hours=hour_index)
                series.append(
                    SeriesPoint(
                        bucket=iso_utc(bucket),
                        partial=bucket + timedelta(hours=1) > now,
                        visitors=hour["visitors"],
                        sessions=hour["sessions"],
                        page_views=hour["page_views"],
                        conversions=hour["conversions"],
                        revenue=round(hour["revenue"], 2),
                    )
                )
        return series
    size = 1 if interval == "day" else 7
    for offset in range(0, len(rollups), size):
        chunk = rollups[offset : offset + size]
        totals = sum_days(chunk)
        series.append(
            SeriesPoint(
                bucket=iso_utc(day_start(first + timedelta(days=offset))),
                partial=is_partial(first + timedelta(days=offset + len(chunk) - 1), now),
                visitors=totals.visitors,
                sessions=totals.sessions,
                page_views=totals.page_views,
                conversions=totals.conversions,
                revenue=round(totals.revenue, 2),
            )
        )
    return series


def _top(
    name: str, current: list[dict[str, Any]], previous: list[dict[str, Any]], limit: int = TOP
) -> list[Ranked]:
    def add(rollups: list[dict[str, Any]]) -> dict[str, int]:
        sums: dict[str, int] = defaultdict(int)
        for rollup in rollups:
            for key, value in rollup[name].items():
                sums[key] += value
        return sums

    now, before = add(current), add(previous)
    ranked = sorted(now.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [Ranked(key=key, value=value, previous=before.get(key, 0)) for key, value in ranked]
