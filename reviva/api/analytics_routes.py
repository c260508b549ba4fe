"""Analytics routes of the query function: the dashboard's lake-backed views.

Every route of the topology that names a `use_case` is served here by that use case
(`reviva.analytics.usecases.<name>`, through `AnalyticsService.answer`): a GET passes its query
string, a POST its JSON body. Who may call them (marketing, and admin) is declared on the same
route and checked by `reviva.api.routing`. Typed errors (InvalidParameter → 400, QueryTimeout →
504) are mapped by the query handler.
"""

from __future__ import annotations

from typing import Any, Protocol

from reviva.analytics.errors import InvalidParameter
from reviva.analytics.params import parse_json_body
from reviva.analytics.service import AnalyticsService
from reviva.api.routing import Call, RouteHandler
from reviva.topology import ROUTES, RouteSpec


class AnalyticsAdapters(Protocol):
    """What the analytics routes need from the query function's adapters."""

    admin_token: str

    @property
    def analytics(self) -> AnalyticsService: ...


def _json_body(call: Call) -> Any:
    try:
        text = call.event.decoded_body
    except ValueError:  # not base64, or not UTF-8 once decoded
        raise InvalidParameter("body", "must be JSON") from None
    return parse_json_body(text)


def _use_case_handler(route: RouteSpec, use_case: str) -> RouteHandler:
    def handle(call: Call) -> dict[str, Any]:
        adapters: AnalyticsAdapters = call.adapters
        body = _json_body(call) if route.method == "POST" else None
        return adapters.analytics.answer(use_case, call.query, body)

    return handle


# Route (as the topology declares it) → handler; shapes and parameters: docs/api-analytics.md.
HANDLERS: dict[str, RouteHandler] = {
    f"{route.method} {route.path}": _use_case_handler(route, route.use_case)
    for route in ROUTES
    if route.use_case is not None
}
