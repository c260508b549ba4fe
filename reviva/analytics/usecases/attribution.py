"""GET /v1/attribution: conversions and revenue credited per channel and campaign by one model.

The models themselves are in `reviva.analytics.attribution`; this use case reads each conversion's
touches (and, for the Markov model, the journeys that ended without a conversion) from the lake and
adds imported spend ratios.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from pydantic import Field

from reviva.analytics.answers import Answer, Number
from reviva.analytics.attribution import (
    MODELS,
    NO_TOUCH,
    Conversion,
    PathCount,
    TouchKey,
    markov,
    rule_based,
)
from reviva.analytics.freshness import Freshness, lake_freshness
from reviva.analytics.params import page, parse_choice, parse_int, parse_page, parse_range
from reviva.analytics.periods import lake_range
from reviva.analytics.ports import LakeQuery, Param, QueryExecutor
from reviva.analytics.session_filters import SessionFilters, filtered
from reviva.analytics.spend import SpendStore
from reviva.analytics.sql_fragments import EVENT_RANGE_SQL, event_range
from reviva.analytics.usecase import AnalyticsAdapters, AnalyticsRequest


@dataclass(frozen=True)
class AttributionParams:
    """The `model` (required), `from`/`to`, `lookback_days` (default 30), a page of rows and the
    session filters (see session_filters)."""

    model: str
    first: date
    last: date
    lookback_days: int
    offset: int
    limit: int
    filters: SessionFilters = field(default_factory=SessionFilters)

    @classmethod
    def parse(cls, query: Mapping[str, str], today: date) -> AttributionParams:
        """Parse the query string; InvalidParameter names a bad parameter."""
        model = parse_choice(query, "model", MODELS, None)
        first, last = parse_range(query, today)
        lookback = parse_int(query, "lookback_days", 30, 1, 90)
        offset, limit = parse_page(query)
        return cls(model, first, last, lookback, offset, limit, SessionFilters.parse(query))


class AttributionRow(Answer):
    channel: str
    campaign: str | None
    conversions: float
    revenue: float
    spend: float | None
    cac: float | None
    roas: float | None
    roi: float | None


class AttributionTotals(Answer):
    conversions: float
    revenue: Number
    spend: Number | None


class AttributionAnswer(Answer):
    model: str
    first: date = Field(serialization_alias="from")
    last: date = Field(serialization_alias="to")
    lookback_days: int
    totals: AttributionTotals
    rows: list[AttributionRow]
    total: int
    next_cursor: str | None
    filters: dict[str, str]
    freshness: Freshness


def answer(request: AnalyticsRequest, adapters: AnalyticsAdapters) -> AttributionAnswer:
    """The use case's entry point (`reviva.analytics.usecase`): parse the request, then answer it."""
    return attribution(
        AttributionParams.parse(request.query, request.now.date()),
        adapters.executor,
        adapters.spend,
        request.now,
    )


def attribution(
    params: AttributionParams, executor: QueryExecutor, spend_store: SpendStore, now: datetime
) -> AttributionAnswer:
    """Credit per (channel, campaign) under the model, with CAC, ROAS and ROI where spend is known."""
    executor = filtered(executor, params.filters)
    start, end = lake_range(params.first, params.last)
    conversions = _conversions(executor, start, end, params.lookback_days)
    total_conversions = float(len(conversions))
    total_revenue = sum(c.revenue for c in conversions)
    if params.model == "markov":
        credit = markov(
            converting_paths(conversions) + _non_converting_paths(executor, start, end, params.lookback_days)
        )
    else:
        credit = rule_based(params.model, conversions)
    spend = spend_store.totals(params.first, params.last)
    channel = params.filters.as_dict().get("channel")
    if spend is not None and channel is not None:
        # Spend is imported per channel: a channel filter keeps that channel's spend only.
        spend = {key: value for key, value in spend.items() if key[0] == channel}
    rows = [
        _row(channel, campaign, credited, revenue, spend)
        for (channel, campaign), (credited, revenue) in credit.items()
        # first/last touch (and Markov, for a touch that never leads to a conversion) leave some
        # touches without credit: no row, unless money was spent on them (below)
        if credited > 0
    ]
    if spend is not None:
        credited_keys = {(row.channel, row.campaign or "") for row in rows}
        for channel, campaign in spend.keys() - credited_keys:
            rows.append(_row(channel, campaign or None, 0.0, 0.0, spend))
    rows.sort(key=lambda r: (-r.conversions, r.channel, r.campaign or ""))
    chunk, next_cursor = page(rows, params.offset, params.limit)
    return AttributionAnswer(
        model=params.model,
        first=params.first,
        last=params.last,
        lookback_days=params.lookback_days,
        totals=AttributionTotals(
            conversions=round(total_conversions, 4),
            revenue=round(total_revenue, 2),
            spend=None if spend is None else round(sum(spend.values()), 2),
        ),
        rows=chunk,
        total=len(rows),
        next_cursor=next_cursor,
        filters=params.filters.as_dict(),
        freshness=lake_freshness(executor, now),
    )


def _row(
    channel: str,
    campaign: str | None,
    credited: float,
    revenue: float,
    spend: dict[tuple[str, str], float] | None,
) -> AttributionRow:
    """One row, with the spend ratios when spend was imported for its channel and campaign.

    CAC is spend per attributed conversion, ROAS attributed revenue per unit of spend, ROI the
    net return per unit of spend; each is None (not 0) when its divisor is 0 or no spend is known.
    """
    row_spend = None if spend is None else spend.get((channel, campaign or ""))
    return AttributionRow(
        channel=channel,
        campaign=campaign,
        conversions=round(credited, 4),
        revenue=round(revenue, 2),
        spend=None if row_spend is None else round(row_spend, 2),
        cac=round(row_spend / credited, 2) if row_spend is not None and credited > 0 else None,
        roas=round(revenue / row_spend, 4) if row_spend else None,
        roi=round((revenue - row_spend) / row_spend, 4) if row_spend else None,
    )


def _conversions(executor: QueryExecutor, start: datetime, end: datetime, lookback: int) -> list[Conversion]:
    conversions: dict[str, Conversion] = {}
    for row in executor.run(attribution_touches_query(start, end, lookback)):
        conversion = conversions.setdefault(
            row["conversion_id"],
            Conversion(row["conversion_id"], row["converted_at"], float(row["revenue"] or 0)),
        )
        if row["session_id"] is not None:
            key: TouchKey = (row["channel"] or "(none)", row["campaign"])
            conversion.touches.append((key, row["started_at"]))
    return list(conversions.values())


def converting_paths(conversions: list[Conversion]) -> list[PathCount]:
    """The Markov paths of the conversions: each conversion's touches, the ones the rule-based
    models share it over, oldest first (a conversion without a touch in the lookback window starts
    from "(none)", where the rule-based models credit it too). Equal paths are counted together."""
    counted: dict[tuple[TouchKey, ...], list[float]] = {}
    for conversion in conversions:
        touches = tuple(key for key, _ in conversion.touches) or (NO_TOUCH,)
        entry = counted.setdefault(touches, [0, 0.0])
        entry[0] += 1
        entry[1] += conversion.revenue
    return [PathCount(touches, int(count), 0, revenue) for touches, (count, revenue) in counted.items()]


def _non_converting_paths(
    executor: QueryExecutor, start: datetime, end: datetime, lookback: int
) -> list[PathCount]:
    paths = []
    for row in executor.run(attribution_non_converting_paths_query(start, end, lookback)):
        states: list[TouchKey] = []
        for state in str(row["path"]).split(PATH_STATE_SEPARATOR):
            channel, _, campaign = state.partition(STATE_SEPARATOR)
            states.append((channel, campaign or None))
        paths.append(PathCount(tuple(states), 0, int(row["journeys"])))
    return paths


# ------------------------------------------------------------------------------------------- SQL


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
  WHERE {EVENT_RANGE_SQL} AND is_conversion
),
sessions AS (
  SELECT visitor_key, session_id, min(event_time) AS started_at,
         min_by(channel, event_time) AS channel,
         min_by(utm_campaign, event_time) AS campaign
  FROM events
  WHERE {EVENT_RANGE_SQL} AND session_id IS NOT NULL
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


def attribution_non_converting_paths_query(start: datetime, end: datetime, lookback_days: int) -> LakeQuery:
    """Journeys in the range that ended without a conversion, grouped by touch path.

    A visitor's journey is their sessions started in the range after their last conversion in it
    (all their sessions if they did not convert), cut like a conversion's touches to the sessions
    started within `lookback_days` before its last session. Sessions before a conversion belong
    to that conversion's path (`attribution_touches_query`), never to these.
    """
    sql = f"""
WITH sessions AS (
  SELECT visitor_key, session_id, min(event_time) AS started_at,
         min_by(channel, event_time) AS channel,
         min_by(utm_campaign, event_time) AS campaign
  FROM events
  WHERE {EVENT_RANGE_SQL} AND session_id IS NOT NULL
  GROUP BY visitor_key, session_id
),
last_conversions AS (
  SELECT visitor_key, max(event_time) AS converted_at
  FROM events
  WHERE {EVENT_RANGE_SQL} AND is_conversion
  GROUP BY visitor_key
),
unconverted AS (
  SELECT s.visitor_key, s.session_id, s.started_at, s.channel, s.campaign,
         max(s.started_at) OVER (PARTITION BY s.visitor_key) AS last_started_at
  FROM sessions s LEFT JOIN last_conversions c ON c.visitor_key = s.visitor_key
  WHERE c.converted_at IS NULL OR s.started_at > c.converted_at
),
paths AS (
  SELECT visitor_key,
         array_join(array_agg(coalesce(channel, '(none)') || chr(31) || coalesce(campaign, '')
                              ORDER BY started_at, session_id), chr(30)) AS path
  FROM unconverted
  WHERE to_unixtime(started_at) >= to_unixtime(last_started_at) - ?
  GROUP BY visitor_key
)
SELECT path, count(*) AS journeys
FROM paths
GROUP BY path
"""
    params: tuple[Param, ...] = (*event_range(start, end), *event_range(start, end), lookback_days * 86400)
    return LakeQuery("attribution_non_converting_paths", sql, params, start, end)
