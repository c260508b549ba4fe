"""The query function serves exactly the topology's routes, each with the roles the topology declares."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reviva.api import analytics_routes, query_routes
from reviva.api.routing import route_key, routes_of, topology_router
from reviva.topology import ROLES, Role, RouteSpec
from reviva_dev.fakes.lambda_context import lambda_context

QUERY_ROUTES = routes_of("query")


class Reached(BaseException):
    """The route's handler ran: it touched the function's adapters.

    Not an Exception, so the query function's catch-all handler (a logged 500) lets it through.
    """


class AdaptersStub:
    """The query function's adapters, where anything but the admin token means the handler ran."""

    admin_token = "test-admin-token"

    def __getattr__(self, name: str) -> Any:
        raise Reached(name)


def _event(route: RouteSpec, groups: tuple[Role, ...] | None) -> dict[str, Any]:
    path = route.path.replace("{visitor_id}", "someone")
    context: dict[str, Any] = {
        "http": {"method": route.method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
        "requestId": "r",
        "routeKey": "$default",
        "stage": "$default",
    }
    if groups is not None:
        context["authorizer"] = {"jwt": {"claims": {"cognito:groups": "[" + " ".join(groups) + "]"}}}
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "localhost"},
        "requestContext": context,
        "body": "{}" if route.method == "POST" else None,
        "isBase64Encoded": False,
    }


def _answer(route: RouteSpec, groups: tuple[Role, ...] | None) -> int | str:
    """The status the caller gets, or "reached" when the route's handler ran."""
    from functions.query.handler import app

    app.append_context(adapters=AdaptersStub())
    try:
        response = app.resolve(_event(route, groups), lambda_context("query"))
    except Reached:
        return "reached"
    finally:
        app.clear_context()
    status: int = response["statusCode"]
    assert status != 404, json.loads(response["body"])
    return status


@pytest.mark.parametrize("route", QUERY_ROUTES, ids=route_key)
def test_each_route_admits_exactly_the_roles_the_topology_declares(route: RouteSpec) -> None:
    if route.auth != "signed_in":
        assert _answer(route, None) == "reached"
        return
    assert _answer(route, None) == 401
    for role in ROLES:
        allowed = role == "admin" or role in route.roles
        assert _answer(route, (role,)) == ("reached" if allowed else 403), role


def test_the_query_function_serves_no_route_the_topology_does_not_declare() -> None:
    from functions.query.handler import app

    declared = {route_key(route) for route in QUERY_ROUTES}
    assert {**query_routes.HANDLERS, **analytics_routes.HANDLERS}.keys() == declared
    # Powertools keeps "METHOD/rule" per registered route: the resolver holds only the topology's.
    served = {key.replace("/", " /", 1).replace("<", "{").replace(">", "}") for key in app._route_keys}
    assert served == declared


def test_a_handler_table_that_disagrees_with_the_topology_is_refused() -> None:
    with pytest.raises(ValueError, match="no handler for"):
        topology_router("query", query_routes.HANDLERS)
    with pytest.raises(ValueError, match="not in the topology"):
        topology_router(
            "query", {**query_routes.HANDLERS, **analytics_routes.HANDLERS, "GET /v1/x": lambda c: {}}
        )


def test_only_signed_in_routes_take_roles() -> None:
    with pytest.raises(ValueError, match="only a signed_in route takes roles"):
        RouteSpec("GET", "/v1/x", "query", "public", ("marketing",))
