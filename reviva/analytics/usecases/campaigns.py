"""GET /v1/campaigns: per UTM campaign, visitors, sessions, conversions, revenue, spend and a daily trend."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal, cast

from pydantic import Field

from reviva.analytics.answers import Answer
from reviva.analytics.freshness import Freshness, lake_freshness
from reviva.analytics.params import page, parse_choice, parse_page, parse_range
from reviva.analytics.periods import days_in, lake_range
from reviva.analytics.ports import LakeQuery, QueryExecutor
from reviva.analytics.ratios import ratio
from reviva.analytics.session_filters import SessionFilters, filtered
from reviva.analytics.spend import SpendStore
from reviva.analytics.sql_fragments import EVENT_RANGE_SQL, event_range
from reviva.analytics.usecase import AnalyticsAdapters, AnalyticsRequest

SortKey = Literal["visitors", "sessions", "conversions", "revenue"]
SORT_KEYS: tuple[SortKey, ...] = ("visitors", "sessions", "conversions", "revenue")


@dataclass(frozen=True)
class CampaignsParams:
    """`from`/`to` (default 7 days), the `sort` figure (default visitors) a page of campaigns
    and the session filters (see session_filters)."""

    first: date
    last: date
    sort: SortKey
    offset: int
    limit: int
    filters: SessionFilters = field(default_factory=SessionFilters)

    @classmethod
    def parse(cls, query: Mapping[str, str], today: date) -> CampaignsParams:
        """Parse the query string; InvalidParameter names a bad parameter."""
        first, last = parse_range(query, today)
        sort = cast(
            SortKey,
            parse_choice(query, "sort", ("visitors", "sessions", "conversions", "revenue"), "visitors"),
        )
        offset, limit = parse_page(query)
        return cls(first, last, sort, offset, limit, SessionFilters.parse(query))


class CampaignTrend(Answer):
    visitors: list[int]
    conversions: list[int]


class Campaign(Answer):
    campaign: str
    source: str | None
    medium: str | None
    visitors: int
    sessions: int
    conversions: int
    revenue: float
    conversion_rate: float
    conversion_events: int  # = conversions, named for what it counts
    conversion_events_per_session: float  # = conversion_rate
    spend: float | None
    trend: CampaignTrend


class CampaignsAnswer(Answer):
    first: date = Field(serialization_alias="from")
    last: date = Field(serialization_alias="to")
    days: list[date]
    campaigns: list[Campaign]
    total: int
    next_cursor: str | None
    filters: dict[str, str]
    freshness: Freshness


@dataclass
class _Tally:
    """One campaign's figures while the rows are read."""

    name: str
    days: int
    source: str | None = None
    medium: str | None = None
    visitors: int = 0
    sessions: int = 0
    conversions: int = 0
    revenue: float = 0.0
    spend: float | None = None
    trend_visitors: list[int] = field(default_factory=list)
    trend_conversions: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.trend_visitors = [0] * self.days
        self.trend_conversions = [0] * self.days

    def answer(self) -> Campaign:
        return Campaign(
            campaign=self.name,
            source=self.source,
            medium=self.medium,
            visitors=self.visitors,
            sessions=self.sessions,
            conversions=self.conversions,
            revenue=self.revenue,
            conversion_rate=ratio(self.conversions, self.sessions),
            conversion_events=self.conversions,
            conversion_events_per_session=ratio(self.conversions, self.sessions),
            spend=self.spend,
            trend=CampaignTrend(visitors=self.trend_visitors, conversions=self.trend_conversions),
        )


def answer(request: AnalyticsRequest, adapters: AnalyticsAdapters) -> CampaignsAnswer:
    """The use case's entry point (`reviva.analytics.usecase`): parse the request, then answer it."""
    return campaigns(
        CampaignsParams.parse(request.query, request.now.date()),
        adapters.executor,
        adapters.spend,
        request.now,
    )


def campaigns(
    params: CampaignsParams, executor: QueryExecutor, spend_store: SpendStore, now: datetime
) -> CampaignsAnswer:
    """Every campaign's totals, its main source and medium, its imported spend and daily trend."""
    executor = filtered(executor, params.filters)
    days = days_in(params.first, params.last)
    index = {d: i for i, d in enumerate(days)}
    rows = executor.run(campaigns_query(*lake_range(params.first, params.last)))
    tallies: dict[str, _Tally] = {}
    sources: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for row in rows:
        tally = tallies.setdefault(row["campaign"], _Tally(row["campaign"], len(days)))
        if not row["no_day"]:
            slot = index[row["day"].astimezone(UTC).date()]
            tally.trend_visitors[slot] = int(row["visitors"])
            tally.trend_conversions[slot] = int(row["conversions"])
        elif not row["no_source"]:
            sources[row["campaign"]].append((int(row["sessions"]), row["source"], row["medium"]))
        else:
            tally.visitors = int(row["visitors"])
            tally.sessions = int(row["sessions"])
            tally.conversions = int(row["conversions"])
            tally.revenue = round(float(row["revenue"] or 0), 2)
    for name, options in sources.items():
        # The campaign's source and medium are those of most of its sessions.
        _, source, medium = sorted(options, key=lambda o: (-o[0], o[1], o[2]))[0]
        tallies[name].source = source or None
        tallies[name].medium = medium or None
    spend = spend_store.totals(params.first, params.last)
    channel = params.filters.as_dict().get("channel")
    if spend is not None:
        for (spend_channel, campaign), amount in spend.items():
            # A channel filter keeps that channel's spend only (spend is imported per channel).
            if campaign in tallies and channel in (None, spend_channel):
                tallies[campaign].spend = round((tallies[campaign].spend or 0.0) + amount, 2)
    ordered = sorted(
        (tally.answer() for tally in tallies.values()), key=lambda c: (-getattr(c, params.sort), c.campaign)
    )
    chunk, next_cursor = page(ordered, params.offset, params.limit)
    return CampaignsAnswer(
        first=params.first,
        last=params.last,
        days=days,
        campaigns=chunk,
        total=len(ordered),
        next_cursor=next_cursor,
        filters=params.filters.as_dict(),
        freshness=lake_freshness(executor, now, params.first, params.last),
    )


# ------------------------------------------------------------------------------------------- SQL


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
  WHERE {EVENT_RANGE_SQL} AND session_id IS NOT NULL
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
    return LakeQuery("campaigns", sql, event_range(start, end), start, end)
