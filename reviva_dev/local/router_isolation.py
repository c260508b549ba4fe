"""Powertools' event handler, safe for the local runtime's concurrent invocations.

Powertools' resolvers keep the event being handled on a class, not on the resolver: `resolve`
does `BaseRouter.current_event = ...` and every route reads it back (`app.current_event`). In Lambda
one process runs one invocation at a time, so that is safe. `reviva dev` runs invocations of a
function concurrently in one process (each environment with its own copy of the handler module,
but Powertools is imported once), so an ingest invocation could read the event of another one
arriving meanwhile: it answered its own client 200 and put the other request's messages on the
stream, twice, and its own never (seen under the load test as one request's events missing from a
profile, another's sent twice and dropped by enrich as duplicates).

Here the event and context a resolver handles live with the thread that handles them: set where
Powertools builds the proxy event and receives the context, read by every resolver and router of
that thread. A thread that never resolved an event sees what Powertools stored on the class, as
before. Installed by the local runtime's `FunctionInvoker`; process-wide, idempotent.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_MARK = "__reviva_per_thread__"
_invocation = threading.local()
_MISSING = object()
_INSTALL_LOCK = threading.Lock()


class _PerThread:
    """A data descriptor: the value this thread's invocation set, else the one on `BaseRouter`."""

    def __init__(self, name: str, base: type) -> None:
        self.name = name
        self.base = base

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        value = getattr(_invocation, self.name, _MISSING)
        if value is _MISSING:
            # `BaseRouter.<name>` as Powertools set it (a class attribute), or unset.
            found = self.base.__dict__.get(self.name, _MISSING)
            if found is _MISSING:
                raise AttributeError(self.name)
            return found
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        setattr(_invocation, self.name, value)


def _remember_proxy_event(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def to_proxy_event(self: Any, event: dict[str, Any]) -> Any:
        proxy_event = method(self, event)
        _invocation.current_event = proxy_event
        return proxy_event

    setattr(to_proxy_event, _MARK, method)
    return to_proxy_event


def _remember_context(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def resolve(self: Any, event: Any, context: Any) -> Any:
        _invocation.lambda_context = context
        return method(self, event, context)

    setattr(resolve, _MARK, method)
    return resolve


def isolate_powertools_routers() -> None:
    """Keep each thread's event and context apart in Powertools' resolvers and routers."""
    from aws_lambda_powertools.event_handler import api_gateway

    with _INSTALL_LOCK:
        resolver_class = api_gateway.ApiGatewayResolver
        if isinstance(resolver_class.__dict__.get("current_event"), _PerThread):
            return
        base = api_gateway.BaseRouter
        for name in ("current_event", "lambda_context"):
            setattr(resolver_class, name, _PerThread(name, base))
        # Every class that builds proxy events (subclasses refine the base's and call it).
        for candidate in vars(api_gateway).values():
            if (
                isinstance(candidate, type)
                and issubclass(candidate, resolver_class)
                and "_to_proxy_event" in candidate.__dict__
            ):
                candidate._to_proxy_event = _remember_proxy_event(candidate.__dict__["_to_proxy_event"])  # type: ignore[method-assign]
        resolver_class.resolve = _remember_context(resolver_class.resolve)  # type: ignore[method-assign]

        # Routers read the event from their resolver, or from `BaseRouter` when not included.
        router_class = api_gateway.Router
        current_event, lambda_context = _PerThread("current_event", base), _PerThread("lambda_context", base)

        def router_property(per_thread: _PerThread) -> property:
            name = per_thread.name

            def read(router: Any) -> Any:
                if router.api_resolver is not None:
                    return getattr(router.api_resolver, name)
                return per_thread.__get__(router, type(router))

            def write(router: Any, value: Any) -> None:
                if router.api_resolver is not None:
                    setattr(router.api_resolver, name, value)
                else:
                    per_thread.__set__(router, value)

            return property(read, write)

        router_class.current_event = router_property(current_event)  # type: ignore[method-assign,assignment]
        router_class.lambda_context = router_property(lambda_context)  # type: ignore[method-assign,assignment]
