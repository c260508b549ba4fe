"""Filtered overviews (the dashboard's filter chips) against hand-computed answers on the fixed dataset."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reviva.adapters.lake.history import FixedLakeHistory
from reviva.analytics.errors import InvalidParameter
from reviva.analytics.service import AnalyticsService
from reviva.analytics.session_filters import SessionFilters
from reviva_dev.fakes.analytics import MemoryObjectStore
from tests.analytics.dataset import D

RANGE = {"from": D.isoformat(), "to": (D + timedelta(days=1)).isoformat()}


def kpis(service: AnalyticsService, **filters: str) -> dict[str, float]:
    answer = service.answer("overview", {**RANGE, **filters})
    assert answer["filters"] == filters
    return {name: kpi["value"] for name, kpi in answer["kpis"].items()}


@pytest.mark.parametrize(
    ("filters", "visitors", "sessions", "page_views", "conversions", "revenue"),
    [
        ({}, 3, 4, 6, 2, 150.0),
        # sB1 (/ and /pricing) and sC1 (/, a bounce): the paid_search sessions.
        ({"channel": "paid_search"}, 2, 2, 3, 0, 0.0),
        # The sessions that viewed /pricing: sA1, sB1 and sB2, with both bookings.
        ({"page": "/pricing"}, 2, 3, 5, 2, 150.0),
        ({"device": "mobile"}, 1, 1, 1, 0, 0.0),
        ({"country": "ES"}, 1, 1, 1, 0, 0.0),
        # Every session but sC1 (ES) is from PT.
        ({"country": "PT"}, 2, 3, 5, 2, 150.0),
        ({"channel": "paid_search", "device": "mobile"}, 1, 1, 1, 0, 0.0),
        ({"channel": "no-such-channel"}, 0, 0, 0, 0, 0.0),
    ],
)
def test_filters_keep_whole_sessions(
    service: AnalyticsService,
    filters: dict[str, str],
    visitors: int,
    sessions: int,
    page_views: int,
    conversions: int,
    revenue: float,
) -> None:
    got = kpis(service, **filters)
    assert (got["visitors"], got["sessions"], got["page_views"], got["conversions"], got["revenue"]) == (
        visitors,
        sessions,
        page_views,
        conversions,
        revenue,
    )


def test_a_filtered_overview_breaks_down_only_its_sessions(service: AnalyticsService) -> None:
    answer = service.answer("overview", {**RANGE, "channel": "paid_search"})
    assert [(c["key"], c["value"]) for c in answer["channels"]] == [("paid_search", 2)]
    assert {d["key"]: d["value"] for d in answer["devices"]} == {"mobile": 1, "desktop": 1}
    assert answer["freshness"]["source"] == "rollup+lake"


def test_a_filtered_overview_is_never_stored_as_a_rollup(executor, store: MemoryObjectStore) -> None:  # type: ignore[no-untyped-def]
    from reviva.analytics.rollups import RollupService
    from reviva.analytics.spend import SpendStore
    from tests.analytics.conftest import NOW

    service = AnalyticsService(
        executor,
        RollupService(executor, store, FixedLakeHistory(executor.data_as_of()), clock=lambda: NOW),
        SpendStore(store),
        clock=lambda: NOW,
    )
    service.answer("overview", {**RANGE, "page": "/pricing"})
    assert not [key for key in store.objects if key.startswith("rollups/")]


@pytest.mark.parametrize("name", ["channel", "page", "device", "country"])
@pytest.mark.parametrize("value", ["x" * 257, "\ud800"])
def test_bad_filter_values_name_the_parameter(name: str, value: str) -> None:
    with pytest.raises(InvalidParameter) as raised:
        SessionFilters.parse({name: value})
    assert raised.value.parameter == name
