"""GET /v1/attribution: conversions and revenue credited per channel and campaign by one model.

The models themselves are in `reviva.analytics.attribution`; this use case reads the touches (or,
for the Markov model, every visitor's path) from the lake and adds imported spend ratios.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pydantic import Field

from reviva.analytics.answers import Answer, Number
from reviva.analytics.attribution import MODELS, Conversion, TouchKey, markov, rule_based
from reviva.analytics.freshness import Freshness, lake_freshness
from reviva.analytics.params import page, parse_choice, parse_int, parse_page, parse_range
from reviva.analytics.periods import lake_range
from reviva.analytics.ports import LakeQuery, Param, QueryExecutor
from reviva.analytics.spend import SpendStore
from reviva.analytics.sql_fragments import EVENT_RANGE_SQL, event_range
from reviva.analytics.usecase import AnalyticsAdapters, AnalyticsRequest


@dataclass(frozen=True)
class AttributionParams:
    """The `model` (required), `from`/`to`, `lookback_days` (default 30), and a page of rows."""

    model: str
    first: date
    last: date
    lookback_days: int
    offset: int
    limit: int

    @classmethod
    def parse(cls, query: Mapping[str, str], today: date) -> AttributionParams:
        """Parse the query string; InvalidParameter names a bad parameter."""
        model = parse_choice(query, "model", MODELS, None)
        first, last = parse_range(query, today)
        lookback = parse_int(query, "lookback_days", 30, 1, 90)
        offset, limit = parse_page(query)
        return cls(model, first, last, lookback, offset, limit)


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
    start, end = lake_range(params.first, params.last)
    conversions = _conversions(executor, start, end, params.lookback_days)
    total_conversions = float(len(conversions))
    total_revenue = sum(c.revenue for c in conversions)
    if params.model == "markov":
        credit = markov(_paths(executor, start, end), total_conversions, total_revenue)
    else:
        credit = rule_based(params.model, conversions)
    spend = spend_store.totals(params.first, params.last)
    rows: list[AttributionRow] = []
    for (channel, campaign), (credited, revenue) in credit.items():
        if credited <= 0:
            continue  # first/last touch leave the other touches without credit: no row
        row_spend = None if spend is None else spend.get((channel, campaign or ""))
        rows.append(
            AttributionRow(
                channel=channel,
                campaign=campaign,
                conversions=round(credited, 4),
                revenue=round(revenue, 2),
                spend=row_spend,
                cac=round(row_spend / credited, 2) if row_spend is not None and credited else None,
                roas=round(revenue / row_spend, 4) if row_spend else None,
                roi=round((revenue - row_spend) / row_spend, 4) if row_spend else None,
            )
        )
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
        freshness=lake_freshness(executor, now),
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


def _paths(executor: QueryExecutor, start: datetime, end: datetime) -> list[tuple[list[TouchKey], int, int]]:
    paths = []
    for row in executor.run(attribution_paths_query(start, end)):
        states: list[TouchKey] = []
        for state in str(row["path"]).split(PATH_STATE_SEPARATOR):
            channel, _, campaign = state.partition(STATE_SEPARATOR)
            states.append((channel, campaign or None))
        paths.append((states, int(row["conversions"]), int(row["non_conversions"])))
    return paths


# ------------------------------------------------------------------------------------------- SQL


_SESSIONS_FOR_TOUCHES = f"""
sessions AS (
  SELECT visitor_key, session_id, min(event_time) AS started_at,
         min_by(channel, event_time) AS channel,
         min_by(utm_campaign, event_time) AS campaign,
         max(CASE WHEN is_conversion THEN 1 ELSE 0 END) AS converted
  FROM events
  WHERE {EVENT_RANGE_SQL} AND session_id IS NOT NULL
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
    return LakeQuery("attribution_paths", sql, event_range(start, end), start, end)
