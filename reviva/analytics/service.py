"""The analytics endpoints grouped for the query function's routes: parameters in, JSON out.

`AnalyticsService` holds the adapters (a lake executor, the rollups, the spend store, a clock) and
makes no AWS call of its own. Each endpoint's logic is its use case in `reviva.analytics.usecases`;
a method here only parses the request with the use case's parameter model, runs it, and returns its
typed answer's JSON (shapes: docs/api-analytics.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from reviva.analytics.ports import QueryExecutor
from reviva.analytics.rollups import RollupService
from reviva.analytics.spend import SpendStore
from reviva.analytics.usecases import attribution, campaigns, funnels, overview, paths, retention, trends


class AnalyticsService:
    """Every analytics endpoint, over injected adapters."""

    def __init__(
        self,
        executor: QueryExecutor,
        rollups: RollupService,
        spend: SpendStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.executor = executor
        self.rollups = rollups
        self.spend = spend
        self._clock = clock

    def overview(self, query: Mapping[str, str]) -> dict[str, Any]:
        """GET /v1/stats/overview (rollup-served)."""
        now = self._clock()
        params = overview.OverviewParams.parse(query, now.date())
        return overview.overview(params, self.rollups, now).to_json()

    def trends(self, query: Mapping[str, str]) -> dict[str, Any]:
        """GET /v1/trends (rollup-served)."""
        now = self._clock()
        params = trends.TrendsParams.parse(query, now.date())
        return trends.trends(params, self.rollups, now).to_json()

    def funnel(self, body: Any) -> dict[str, Any]:
        """POST /v1/funnels (the parsed JSON body)."""
        now = self._clock()
        params = funnels.FunnelParams.parse(body, now.date())
        return funnels.funnel(params, self.executor, now).to_json()

    def retention(self, query: Mapping[str, str]) -> dict[str, Any]:
        """GET /v1/retention."""
        now = self._clock()
        params = retention.RetentionParams.parse(query, now.date())
        return retention.retention(params, self.executor, now).to_json()

    def paths(self, query: Mapping[str, str]) -> dict[str, Any]:
        """GET /v1/paths."""
        now = self._clock()
        params = paths.PathsParams.parse(query, now.date())
        return paths.paths(params, self.executor, now).to_json()

    def attribution(self, query: Mapping[str, str]) -> dict[str, Any]:
        """GET /v1/attribution."""
        now = self._clock()
        params = attribution.AttributionParams.parse(query, now.date())
        return attribution.attribution(params, self.executor, self.spend, now).to_json()

    def campaigns(self, query: Mapping[str, str]) -> dict[str, Any]:
        """GET /v1/campaigns."""
        now = self._clock()
        params = campaigns.CampaignsParams.parse(query, now.date())
        return campaigns.campaigns(params, self.executor, self.spend, now).to_json()
