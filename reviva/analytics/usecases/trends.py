"""GET /v1/trends: a metric's history from the rollups and an ETS forecast with a 95 % prediction interval."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal, cast

from pydantic import Field

from reviva.analytics.answers import Answer
from reviva.analytics.daily_totals import sum_days
from reviva.analytics.forecast import ets_forecast
from reviva.analytics.freshness import Freshness, is_partial, rollup_freshness
from reviva.analytics.params import parse_choice, parse_int, parse_range
from reviva.analytics.periods import days_in
from reviva.analytics.rollups import RollupService
from reviva.analytics.session_filters import FilteredDays, FilteredExecutor, SessionFilters
from reviva.analytics.usecase import AnalyticsAdapters, AnalyticsRequest

METRICS = ("visitors", "sessions", "page_views", "conversions", "revenue")
Metric = Literal["visitors", "sessions", "page_views", "conversions", "revenue"]
Interval = Literal["day", "week"]
# Daily traffic repeats weekly; weekly buckets get no season (a year would need 2+ years of history).
SEASON_LENGTH: dict[Interval, int] = {"day": 7, "week": 1}


@dataclass(frozen=True)
class TrendsParams:
    """The `metric` (required), `from`/`to` (default 28 days), `interval`, forecast `horizon`
    and the session filters (see session_filters)."""

    metric: Metric
    first: date
    last: date
    interval: Interval
    horizon: int
    filters: SessionFilters = field(default_factory=SessionFilters)

    @classmethod
    def parse(cls, query: Mapping[str, str], today: date) -> TrendsParams:
        """Parse the query string; InvalidParameter names a bad parameter."""
        metric = cast(Metric, parse_choice(query, "metric", METRICS, None))
        first, last = parse_range(query, today, default_days=28)
        interval = cast(Interval, parse_choice(query, "interval", ("day", "week"), "day"))
        horizon = parse_int(query, "horizon", 14 if interval == "day" else 4, 1, 60)
        return cls(metric, first, last, interval, horizon, SessionFilters.parse(query))


class HistoryPoint(Answer):
    bucket: date
    value: float
    # The bucket reaches a day not over yet (UTC): its value will still grow.
    partial: bool


class ForecastPoint(Answer):
    bucket: date
    value: float
    lower: float
    upper: float


class TrendsAnswer(Answer):
    metric: Metric
    interval: Interval
    first: date = Field(serialization_alias="from")
    last: date = Field(serialization_alias="to")
    history: list[HistoryPoint]
    forecast: list[ForecastPoint]
    method: Literal["ets"] = "ets"
    # The ETS form AICc chose, e.g. "ETS(A,Ad,A)" (error, trend, season); None without a forecast.
    model: str | None
    # Buckets the model was fitted on: the history's complete buckets (not a partial today or week).
    fitted_buckets: int
    filters: dict[str, str]
    confidence: float = 0.95
    freshness: Freshness


def answer(request: AnalyticsRequest, adapters: AnalyticsAdapters) -> TrendsAnswer:
    """The use case's entry point (`reviva.analytics.usecase`): parse the request, then answer it."""
    params = TrendsParams.parse(request.query, request.now.date())
    if params.filters:
        # A filtered history is computed from the lake each time (never stored as a rollup).
        return trends(params, FilteredDays(FilteredExecutor(adapters.executor, params.filters)), request.now)
    return trends(params, adapters.rollups, request.now)


def trends(params: TrendsParams, rollups: RollupService | FilteredDays, now: datetime) -> TrendsAnswer:
    """The metric per day or week of the range, then `horizon` forecast buckets after it."""
    first, last = params.first, params.last
    read = rollups.days(first, last)
    daily = [read.days[d] for d in days_in(first, last)]
    size = 1 if params.interval == "day" else 7
    history: list[HistoryPoint] = []
    for offset in range(0, len(daily), size):
        chunk = daily[offset : offset + size]
        totals = sum_days(chunk)
        value = float(getattr(totals, params.metric))
        bucket = first + timedelta(days=offset)
        history.append(
            HistoryPoint(
                bucket=bucket,
                value=round(value, 2),
                partial=is_partial(bucket + timedelta(days=len(chunk) - 1), now),
            )
        )
    # A bucket still filling up (today, or a last week cut short by `to`) would pull the level down:
    # the model sees only complete buckets and forecasts through the partial ones.
    complete = sum(
        1
        for offset in range(0, len(daily), size)
        if offset + size <= len(daily) and first + timedelta(days=offset + size - 1) < now.date()
    )
    skipped = len(history) - complete
    predicted = ets_forecast(
        [h.value for h in history[:complete]], params.horizon + skipped, SEASON_LENGTH[params.interval]
    )
    next_bucket = first + timedelta(days=len(history) * size)
    forecast = [
        ForecastPoint(
            bucket=next_bucket + timedelta(days=i * size),
            value=round(point.value, 2),
            lower=round(point.lower, 2),
            upper=round(point.upper, 2),
        )
        for i, point in enumerate(predicted.points[skipped:] if predicted else [])
    ]
    return TrendsAnswer(
        metric=params.metric,
        interval=params.interval,
        first=first,
        last=last,
        history=history,
        forecast=forecast,
        model=predicted.model if predicted else None,
        fitted_buckets=complete,
        filters=params.filters.as_dict(),
        freshness=rollup_freshness(read, first, last, now),
    )
