"""A function's HTTP routes, registered from the topology, each behind the roles it declares there.

`reviva.topology.ROUTES` is the one declaration of a route's method, path, function and roles; CDK
builds API Gateway's routes and authorizer from it, and `topology_router` builds the function's
Powertools router from it: every route the topology gives the function needs a handler, every
handler needs a route, and a "signed_in" route checks the caller's roles before its handler runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from reviva.analytics.params import check_text_parameters
from reviva.api.auth import require_role
from reviva.topology import ROUTES, FunctionName, RouteSpec


@dataclass(frozen=True)
class Call:
    """One request as a route handler sees it: the event, the function's adapters, the path's values."""

    event: APIGatewayProxyEventV2
    adapters: Any  # each handler module narrows it to the Protocol of what it reads
    path_parameters: Mapping[str, str]

    @property
    def query(self) -> dict[str, str]:
        """The query string's parameters."""
        return dict(self.event.query_string_parameters or {})


RouteHandler = Callable[[Call], dict[str, Any]]


def route_key(route: RouteSpec) -> str:
    """`"METHOD /path"` in the topology's (API Gateway's) path syntax: a handler table's key."""
    return f"{route.method} {route.path}"


def routes_of(function: FunctionName) -> list[RouteSpec]:
    """The routes the topology sends to `function`."""
    return [route for route in ROUTES if route.function == function]


def authorize(route: RouteSpec, call: Call) -> None:
    """Raise AuthenticationRequired (401) or NotPermitted (403) unless the caller may use the route."""
    if route.auth != "signed_in":
        return
    event = call.event
    require_role(
        event.headers or {}, event.raw_event.get("requestContext", {}), call.adapters.admin_token, route.roles
    )


def topology_router(function: FunctionName, handlers: Mapping[str, RouteHandler]) -> APIGatewayHttpRouter:
    """A router serving exactly the topology's routes of `function`, keyed by `route_key`."""
    declared = {route_key(route): route for route in routes_of(function)}
    unserved = sorted(declared.keys() - handlers.keys())
    undeclared = sorted(handlers.keys() - declared.keys())
    if unserved or undeclared:
        raise ValueError(
            f"the {function} function's handlers and the topology disagree: "
            f"no handler for {unserved}, not in the topology: {undeclared}"
        )
    router = APIGatewayHttpRouter()
    for key, route in declared.items():
        router.route(_powertools_rule(route.path), route.method)(_endpoint(router, route, handlers[key]))
    return router


def _powertools_rule(path: str) -> str:
    if "+}" in path:
        raise ValueError(f"{path}: greedy path parameters are not served by a Powertools router")
    return re.sub(r"\{([A-Za-z0-9_]+)\}", r"<\1>", path)


def _endpoint(
    router: APIGatewayHttpRouter, route: RouteSpec, handler: RouteHandler
) -> Callable[..., dict[str, Any]]:
    def endpoint(**path_parameters: str) -> dict[str, Any]:
        call = Call(router.current_event, router.context["adapters"], path_parameters)
        authorize(route, call)
        # Every handler may rely on its parameters being Unicode text (a 400 naming one that is not).
        check_text_parameters(call.event.query_string_parameters or {})
        check_text_parameters(path_parameters, unnamed="path")
        return handler(call)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint
