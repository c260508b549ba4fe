"""GET /v1/funnels/saved: the saved funnels (most recently saved first), or one by `id`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reviva.analytics.answers import Answer
from reviva.analytics.funnel_library import parse_funnel_id
from reviva.analytics.usecase import AnalyticsAdapters, AnalyticsRequest


@dataclass(frozen=True)
class SavedFunnelsParams:
    """`id` (optional): one saved funnel instead of the list."""

    funnel_id: str | None

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> SavedFunnelsParams:
        """Parse the query string; InvalidParameter names a bad parameter."""
        raw = query.get("id")
        return cls(parse_funnel_id(raw) if raw else None)


class SavedFunnel(Answer):
    """A saved funnel: a `POST /v1/funnels` body (`steps`, `window_hours`, `breakdown`) with a name."""

    id: str
    name: str
    steps: list[dict[str, str]]
    labels: list[str]
    window_hours: int
    breakdown: str | None
    created_at: str
    updated_at: str


class SavedFunnelsAnswer(Answer):
    funnels: list[SavedFunnel]
    generated_at: str


def saved_funnel(stored: dict[str, Any]) -> SavedFunnel:
    """The answer's form of a stored funnel."""
    return SavedFunnel.model_validate(stored)


def answer(request: AnalyticsRequest, adapters: AnalyticsAdapters) -> SavedFunnelsAnswer:
    """The use case's entry point (`reviva.analytics.usecase`): the list, or the one funnel `id`."""
    params = SavedFunnelsParams.parse(request.query)
    if params.funnel_id is not None:
        stored = [adapters.funnels.get(params.funnel_id)]
    else:
        stored = adapters.funnels.all()
    return SavedFunnelsAnswer(
        funnels=[saved_funnel(item) for item in stored],
        generated_at=request.now.isoformat().replace("+00:00", "Z"),
    )
