"""What every analytics use case is: a request and the adapters in, a typed answer out.

Each module of `reviva.analytics.usecases` defines `answer(request, adapters)`; the topology names
the module that serves a route (`RouteSpec.use_case`) and the query function's router calls it
through `AnalyticsService.answer`. So an endpoint is one use-case module plus one route line.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from reviva.analytics.answers import Answer
from reviva.analytics.funnel_library import FunnelLibrary
from reviva.analytics.ports import QueryExecutor
from reviva.analytics.rollups import RollupService
from reviva.analytics.spend import SpendStore
from reviva.enrich.journey_rules import JourneyRules

USE_CASE_PACKAGE = "reviva.analytics.usecases"


@dataclass(frozen=True)
class AnalyticsRequest:
    """One call: the query string, the parsed JSON body (POST) and when it is answered."""

    now: datetime
    query: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass(frozen=True)
class AnalyticsAdapters:
    """What use cases read from: the lake, the daily rollups, the imported spend, the saved funnels
    and the site's journey rules (the funnel presets)."""

    executor: QueryExecutor
    rollups: RollupService
    spend: SpendStore
    funnels: FunnelLibrary
    journey_rules: JourneyRules


class UseCase(Protocol):
    """A use case module's `answer` function."""

    def __call__(self, request: AnalyticsRequest, adapters: AnalyticsAdapters) -> Answer: ...


class UnknownUseCase(LookupError):
    """No module of `reviva.analytics.usecases` has that name (a topology typo)."""


@cache
def load_use_case(name: str) -> UseCase:
    """The `answer` function of `reviva.analytics.usecases.<name>`."""
    if not name.isidentifier():
        raise UnknownUseCase(f"{name!r} is not a use case name")
    try:
        module = importlib.import_module(f"{USE_CASE_PACKAGE}.{name}")
    except ModuleNotFoundError as error:
        raise UnknownUseCase(f"no analytics use case {name!r}") from error
    answer: UseCase | None = getattr(module, "answer", None)
    if answer is None:
        raise UnknownUseCase(f"{USE_CASE_PACKAGE}.{name} defines no answer(request, adapters)")
    return answer
