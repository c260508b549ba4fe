"""Dashboard and operator routes of the query function (Powertools router)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from reviva.api.auth import Role, require_role
from reviva.enrich.ports import StoredVisitor
from reviva.enrich.visitor_state import SessionState
from reviva.query.realtime import REALTIME_WINDOW_MINUTES, realtime_view
from reviva.query.visitor_view import build_visitor_view, start_keys

MAX_REJECTED_LIMIT = 1000


class VisitorReader(Protocol):
    def read_visitor(self, visitor_key: str) -> tuple[StoredVisitor | None, list[SessionState]]: ...
    def linked_keys(self, start_keys: list[str]) -> list[str]: ...


class CounterReader(Protocol):
    def read_window(self, now: datetime, minutes: int = ...) -> list[Any]: ...


class RejectedReader(Protocol):
    def list_recent(self, limit: int) -> list[dict[str, Any]]: ...


class QueryAdapters(Protocol):
    """What the routes read from; built once per container by the composition root."""

    admin_token: str
    visitors: VisitorReader
    counters: CounterReader
    rejected: RejectedReader

    def pseudonymize_user_id(self, user_id: str) -> str: ...


router = APIGatewayHttpRouter()


def _adapters() -> QueryAdapters:
    adapters: QueryAdapters = router.context["adapters"]
    return adapters


def _authorize(*roles: Role) -> None:
    event = router.current_event
    require_role(
        event.headers or {}, event.raw_event.get("requestContext", {}), _adapters().admin_token, roles
    )


@router.get("/health")
def health() -> dict[str, Any]:
    """Liveness and readiness: the stores answer."""
    adapters = _adapters()
    adapters.counters.read_window(datetime.now(UTC), minutes=1)
    return {"status": "ok", "time": datetime.now(UTC).isoformat()}


@router.get("/v1/visitors/<visitor_id>")
def get_visitor(visitor_id: str) -> dict[str, Any]:
    """A visitor's merged profile, sessions and ordered journey (anonymous id or user id)."""
    _authorize("marketing", "compliance")
    if not visitor_id or len(visitor_id) > 256:
        raise BadRequestError("visitor_id must be 1 to 256 characters")
    adapters = _adapters()
    keys = adapters.visitors.linked_keys(start_keys(visitor_id, adapters.pseudonymize_user_id))
    view = build_visitor_view(visitor_id, ((key, *adapters.visitors.read_visitor(key)) for key in keys))
    if view is None:
        raise NotFoundError(f"no visitor {visitor_id!r}")
    view["data_as_of"] = datetime.now(UTC).isoformat()
    return view


@router.get("/v1/stats/realtime")
def get_realtime() -> dict[str, Any]:
    """Live counters of the last 30 minutes."""
    _authorize("marketing")
    now = datetime.now(UTC)
    return realtime_view(_adapters().counters.read_window(now, minutes=REALTIME_WINDOW_MINUTES), now)


@router.get("/v1/rejected")
def get_rejected() -> dict[str, Any]:
    """The most recent rejected messages (bad rows) with their reasons, newest first."""
    _authorize("compliance")
    raw_limit = router.current_event.get_query_string_value("limit", "50") or "50"
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_REJECTED_LIMIT:
        raise BadRequestError(f"limit must be an integer from 1 to {MAX_REJECTED_LIMIT}")
    items = _adapters().rejected.list_recent(int(raw_limit))
    return {"count": len(items), "rejected": items}
