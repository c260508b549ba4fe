"""Dashboard and operator routes of the query function: one handler per route of the topology.

Who may call each route is declared once, in `reviva.topology.ROUTES`; `reviva.api.routing` checks
it before a handler here runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from reviva.analytics.errors import InvalidParameter
from reviva.analytics.params import parse_int, parse_json_body
from reviva.analytics.service import AnalyticsService
from reviva.api.routing import Call, RouteHandler
from reviva.query.people import PeopleParams, list_people, parse_search, search_people
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

    def pseudonymize_email(self, email: str) -> str: ...

    @property
    def analytics(self) -> AnalyticsService: ...


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


def list_visitors(call: Call) -> dict[str, Any]:
    """Visitors active in the days, most recent first, with their key figures (paginated)."""
    params = PeopleParams.parse(call.query, datetime.now(UTC).date())
    adapters = _adapters(call)
    return list_people(params, adapters.analytics.executor, adapters.visitors)


def search_visitors(call: Call) -> dict[str, Any]:
    """Visitors found by anonymous id, user id or e-mail address (JSON body `{"q": …}`).

    A POST, so the text searched for (an e-mail address) never sits in a URL, where access logs,
    browser history and proxies keep it.
    """
    adapters = _adapters(call)
    visitors = adapters.visitors
    try:
        body = parse_json_body(call.event.decoded_body)
    except ValueError as error:
        if isinstance(error, InvalidParameter):
            raise
        raise InvalidParameter("body", "must be JSON") from None
    if not isinstance(body, dict):
        raise InvalidParameter("body", 'must be a JSON object like {"q": "…"}')
    text = parse_search(body.get("q"))
    return search_people(text, visitors, adapters.pseudonymize_user_id, adapters.pseudonymize_email)


def get_realtime(call: Call) -> dict[str, Any]:
    """Live counters of the last 30 minutes and who is on the site (pages, sources, visitors)."""
    now = datetime.now(UTC)
    adapters = _adapters(call)
    window = adapters.counters.read_window(now, minutes=REALTIME_WINDOW_MINUTES)
    return realtime_view(window, now, adapters.visitors.load)


def get_rejected(call: Call) -> dict[str, Any]:
    """The most recent rejected messages (bad rows) with their reasons, newest first."""
    limit = parse_int(call.query, "limit", 50, 1, MAX_REJECTED_LIMIT)
    items = _adapters(call).rejected.list_recent(limit)
    return {"count": len(items), "rejected": items}


# Route (as the topology declares it) → handler.
HANDLERS: dict[str, RouteHandler] = {
    "GET /health": health,
    "GET /v1/visitors": list_visitors,
    "POST /v1/visitors/search": search_visitors,
    "GET /v1/visitors/{visitor_id}": get_visitor,
    "GET /v1/stats/realtime": get_realtime,
    "GET /v1/rejected": get_rejected,
}
