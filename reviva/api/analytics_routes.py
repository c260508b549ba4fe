"""Analytics routes of the query function: the dashboard's lake-backed views.

Each handler hands its parameters to `reviva.analytics.service.AnalyticsService` (one use case per
endpoint) and returns its JSON (docs/api-analytics.md). Who may call them (marketing, and admin) is
declared in `reviva.topology.ROUTES` and checked by `reviva.api.routing`. Typed errors
(InvalidParameter → 400, QueryTimeout → 504) are mapped by the query handler.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from reviva.analytics.errors import InvalidParameter
from reviva.analytics.service import AnalyticsService
from reviva.api.routing import Call, RouteHandler


class AnalyticsAdapters(Protocol):
    """What the analytics routes need from the query function's adapters."""

    admin_token: str

    @property
    def analytics(self) -> AnalyticsService: ...


def _service(call: Call) -> AnalyticsService:
    adapters: AnalyticsAdapters = call.adapters
    return adapters.analytics


def _json_body(call: Call) -> Any:
    try:
        return json.loads(call.event.decoded_body or "null")
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("body", "must be JSON") from None


# Route (as the topology declares it) → handler; shapes and parameters: docs/api-analytics.md.
HANDLERS: dict[str, RouteHandler] = {
    "GET /v1/stats/overview": lambda call: _service(call).overview(call.query),
    "POST /v1/funnels": lambda call: _service(call).funnel(_json_body(call)),
    "GET /v1/retention": lambda call: _service(call).retention(call.query),
    "GET /v1/paths": lambda call: _service(call).paths(call.query),
    "GET /v1/attribution": lambda call: _service(call).attribution(call.query),
    "GET /v1/campaigns": lambda call: _service(call).campaigns(call.query),
    "GET /v1/trends": lambda call: _service(call).trends(call.query),
}
