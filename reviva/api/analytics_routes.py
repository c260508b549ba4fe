"""Analytics routes of the query function (Powertools router): the dashboard's lake-backed views.

Each route checks the caller's role (marketing or admin), hands its parameters to
`reviva.analytics.service.AnalyticsService` and returns its JSON (docs/api-analytics.md). Typed
errors (InvalidParameter → 400, QueryTimeout → 504) are mapped by the query handler.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from reviva.analytics.errors import InvalidParameter
from reviva.analytics.service import AnalyticsService
from reviva.api.auth import require_role


class AnalyticsAdapters(Protocol):
    """What the analytics routes need from the query function's adapters."""

    admin_token: str

    @property
    def analytics(self) -> AnalyticsService: ...


router = APIGatewayHttpRouter()


def _service() -> AnalyticsService:
    adapters: AnalyticsAdapters = router.context["adapters"]
    event = router.current_event
    require_role(
        event.headers or {}, event.raw_event.get("requestContext", {}), adapters.admin_token, ("marketing",)
    )
    return adapters.analytics


def _query() -> dict[str, str]:
    return dict(router.current_event.query_string_parameters or {})


@router.get("/v1/stats/overview")
def overview() -> dict[str, Any]:
    """KPIs with the previous period, series and breakdowns (rollup-served)."""
    return _service().overview(_query())


@router.post("/v1/funnels")
def funnels() -> dict[str, Any]:
    """Ordered funnel with drop-off, median times and a breakdown."""
    service = _service()
    try:
        body = json.loads(router.current_event.decoded_body or "null")
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("body", "must be JSON") from None
    return service.funnel(body)


@router.get("/v1/retention")
def retention() -> dict[str, Any]:
    """The cohort retention matrix."""
    return _service().retention(_query())


@router.get("/v1/paths")
def paths() -> dict[str, Any]:
    """Journey paths as Sankey nodes and links, top paths and stage transitions."""
    return _service().paths(_query())


@router.get("/v1/attribution")
def attribution() -> dict[str, Any]:
    """Conversions and revenue credited per channel and campaign by a model, with spend ratios."""
    return _service().attribution(_query())


@router.get("/v1/campaigns")
def campaigns() -> dict[str, Any]:
    """Per UTM campaign figures and daily trend."""
    return _service().campaigns(_query())


@router.get("/v1/trends")
def trends() -> dict[str, Any]:
    """A metric's history and forecast."""
    return _service().trends(_query())
