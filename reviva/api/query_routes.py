"""Dashboard and operator routes of the query function: one handler per route of the topology.

Who may call each route is declared once, in `reviva.topology.ROUTES`; `reviva.api.routing` checks
it before a handler here runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from reviva.analytics.errors import InvalidParameter
from reviva.analytics.params import parse_int
from reviva.api.routing import Call, RouteHandler
from reviva.query.ports import CounterReader, RejectedReader, VisitorReader
from reviva.query.realtime import REALTIME_WINDOW_MINUTES, realtime_view
from reviva.query.visitor_view import build_visitor_view, start_keys

MAX_REJECTED_LIMIT = 1000


class QueryAdapters(Protocol):
    """What the routes read from; built once per container by the composition root."""

    admin_token: str
    visitors: VisitorReader
    counters: CounterReader
    rejected: RejectedReader

    def pseudonymize_user_id(self, user_id: str) -> str: ...


def _adapters(call: Call) -> QueryAdapters:
    adapters: QueryAdapters = call.adapters
    return adapters


def health(call: Call) -> dict[str, Any]:
    """Liveness and readiness: the stores answer."""
    _adapters(call).counters.read_window(datetime.now(UTC), minutes=1)
    return {"status": "ok", "time": datetime.now(UTC).isoformat()}


def get_visitor(call: Call) -> dict[str, Any]:
    """A visitor's merged profile, sessions and ordered journey (anonymous id or user id)."""
    visitor_id = call.path_parameters["visitor_id"]
    if not visitor_id or len(visitor_id) > 256:
        raise InvalidParameter("visitor_id", "must be 1 to 256 characters")
    adapters = _adapters(call)
    found = adapters.visitors.linked_keys(start_keys(visitor_id, adapters.pseudonymize_user_id))
    view = build_visitor_view(
        visitor_id, ((key, *adapters.visitors.read_visitor(key)) for key in found), linked=found.linked
    )
    if view is None:
        raise NotFoundError(f"no visitor {visitor_id!r}")
    view["data_as_of"] = datetime.now(UTC).isoformat()
    return view


def get_realtime(call: Call) -> dict[str, Any]:
    """Live counters of the last 30 minutes."""
    now = datetime.now(UTC)
    return realtime_view(_adapters(call).counters.read_window(now, minutes=REALTIME_WINDOW_MINUTES), now)


def get_rejected(call: Call) -> dict[str, Any]:
    """The most recent rejected messages (bad rows) with their reasons, newest first."""
    limit = parse_int(call.query, "limit", 50, 1, MAX_REJECTED_LIMIT)
    items = _adapters(call).rejected.list_recent(limit)
    return {"count": len(items), "rejected": items}


# Route (as the topology declares it) → handler.
HANDLERS: dict[str, RouteHandler] = {
    "GET /health": health,
    "GET /v1/visitors/{visitor_id}": get_visitor,
    "GET /v1/stats/realtime": get_realtime,
    "GET /v1/rejected": get_rejected,
}
