"""POST /v1/funnels/saved: save a funnel built in the dashboard (or replace one by its `id`)."""

from __future__ import annotations

from typing import Any

from reviva.analytics.funnel_library import parse_definition, parse_funnel_id
from reviva.analytics.usecase import AnalyticsAdapters, AnalyticsRequest
from reviva.analytics.usecases.funnels import BREAKDOWN_COLUMNS, parse_steps
from reviva.analytics.usecases.saved_funnels import SavedFunnel, saved_funnel


def answer(request: AnalyticsRequest, adapters: AnalyticsAdapters) -> SavedFunnel:
    """Validate the body (`name`, `steps`, optional `labels`, `window_hours`, `breakdown`, `id`),
    store it, and answer the funnel as saved (with its id, for the dashboard's URL)."""
    body: Any = request.body
    definition = parse_definition(body, parse_steps, tuple(BREAKDOWN_COLUMNS))
    raw_id = body.get("id")
    funnel_id = parse_funnel_id(raw_id) if raw_id is not None else None
    return saved_funnel(adapters.funnels.save(definition, funnel_id))
