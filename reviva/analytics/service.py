"""The analytics endpoints for the query function's routes: a use case's name and the request in, JSON out.

`AnalyticsService` holds the adapters (a lake executor, the rollups, the spend store, a clock) and
makes no AWS call of its own. Each endpoint's logic is its use case in `reviva.analytics.usecases`
(parameter model, SQL, typed answer); `answer` runs the one the topology names for a route and
returns its JSON (shapes: docs/api-analytics.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from reviva.analytics.funnel_library import FunnelLibrary
from reviva.analytics.ports import QueryExecutor
from reviva.analytics.rollups import RollupService
from reviva.analytics.spend import SpendStore
from reviva.analytics.usecase import AnalyticsAdapters, AnalyticsRequest, load_use_case
from reviva.enrich.journey_rules import JourneyRules, load_journey_rules


class AnalyticsService:
    """Every analytics endpoint, over injected adapters."""

    def __init__(
        self,
        executor: QueryExecutor,
        rollups: RollupService,
        spend: SpendStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        funnels: FunnelLibrary | None = None,
        journey_rules: JourneyRules | None = None,
    ) -> None:
        """`funnels` defaults to a library in the spend's ObjectStore (the one analytics store) and
        `journey_rules` to the packaged rules."""
        self.executor = executor
        self.rollups = rollups
        self.spend = spend
        self.funnels = funnels or FunnelLibrary(spend.object_store, clock)
        self._adapters = AnalyticsAdapters(
            executor, rollups, spend, self.funnels, journey_rules or load_journey_rules()
        )
        self._clock = clock

    def answer(
        self, use_case: str, query: Mapping[str, str] | None = None, body: Any = None
    ) -> dict[str, Any]:
        """Run the use case `reviva.analytics.usecases.<use_case>` on a query string or a JSON body."""
        request = AnalyticsRequest(now=self._clock(), query=query or {}, body=body)
        return load_use_case(use_case)(request, self._adapters).to_json()
