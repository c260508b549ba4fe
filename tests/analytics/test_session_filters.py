"""Filtered answers (the dashboard's filter chips): the overview against hand-computed answers on the
fixed dataset, and every endpoint against its unfiltered answer over a lake of the matching sessions."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest

from reviva.adapters.lake.history import FixedLakeHistory
from reviva.analytics.errors import InvalidParameter
from reviva.analytics.service import AnalyticsService
from reviva.analytics.session_filters import SessionFilters
from reviva.contracts.events import EnrichedEvent
from reviva_dev.fakes.analytics import MemoryObjectStore
from tests.analytics import dataset
from tests.analytics.dataset import D, events_to_arrow

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


# ------------------------------------------- every endpoint: filtered = unfiltered over the matching sessions

FULL_RANGE = {"from": D.isoformat(), "to": (D + timedelta(days=9)).isoformat()}
# Each endpoint with a request that reaches every session of the dataset (query string, or a body).
ENDPOINT_REQUESTS: dict[str, tuple[dict[str, str], Any]] = {
    "overview": (FULL_RANGE, None),
    "trends": ({**FULL_RANGE, "metric": "sessions"}, None),
    "retention": ({**FULL_RANGE, "cohort": "day", "periods": "10"}, None),
    "paths": (FULL_RANGE, None),
    "campaigns": (FULL_RANGE, None),
    "attribution": ({**FULL_RANGE, "model": "linear"}, None),
    "attribution_markov": ({**FULL_RANGE, "model": "markov"}, None),
    "funnels": (
        {},
        {
            **FULL_RANGE,
            "steps": [{"touchpoint": "landing_page"}, {"url": "/pricing"}, {"event": "Booking Submitted"}],
            "breakdown": "channel",
        },
    ),
}
FILTER_CASES = [
    {"channel": "paid_search"},
    {"channel": "direct"},
    {"channel": "organic_search"},
    {"page": "/pricing"},
    {"device": "mobile"},
    {"country": "PT"},
    {"channel": "paid_search", "country": "ES"},
]


def matching_sessions(events: list[EnrichedEvent], filters: dict[str, str]) -> set[str]:
    """The sessions the filters keep, worked out here from the events (not by the SQL under test):
    a session's channel, device and country are its first event's; `page` is any page it viewed."""
    by_session: dict[str, list[EnrichedEvent]] = defaultdict(list)
    for event in events:
        if event.session_id is not None:
            by_session[event.session_id].append(event)
    kept = set()
    for session, rows in by_session.items():
        first = min(rows, key=lambda e: e.event_time)
        values = {
            "channel": first.channel or "(none)",
            "device": first.device_type or "(none)",
            "country": first.country or "(none)",
        }
        pages = {e.page_path for e in rows if e.event_type in ("page", "screen")}
        if all(
            value in pages if name == "page" else values[name] == value for name, value in filters.items()
        ):
            kept.add(session)
    return kept


def service_over(events: list[EnrichedEvent]) -> AnalyticsService:
    from reviva.adapters.duckdb_executor import DuckDBExecutor, arrow_source
    from reviva.analytics.rollups import RollupService
    from reviva.analytics.spend import SpendStore
    from tests.analytics.conftest import NOW

    lake = DuckDBExecutor(*arrow_source(events_to_arrow(events)))
    store = MemoryObjectStore()
    return AnalyticsService(
        lake,
        RollupService(lake, store, FixedLakeHistory(lake.data_as_of()), clock=lambda: NOW),
        SpendStore(store),
        clock=lambda: NOW,
    )


def ask(service: AnalyticsService, endpoint: str, filters: dict[str, str]) -> dict[str, Any]:
    query, body = ENDPOINT_REQUESTS[endpoint]
    use_case = endpoint.removesuffix("_markov")
    if body is None:
        answer = service.answer(use_case, {**query, **filters})
    else:
        answer = service.answer(use_case, body={**body, **filters})
    assert answer.pop("filters") == filters
    answer.pop("freshness")  # where the figures came from differs (rollup / lake), not the figures
    return answer


@pytest.mark.parametrize("filters", FILTER_CASES, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()))
@pytest.mark.parametrize("endpoint", sorted(ENDPOINT_REQUESTS))
def test_a_filtered_answer_is_the_answer_over_only_the_matching_sessions(
    service: AnalyticsService, endpoint: str, filters: dict[str, str]
) -> None:
    everything = dataset.events()
    kept = matching_sessions(everything, filters)
    assert kept, "a filter case that keeps no session tests nothing"
    reduced = service_over([e for e in everything if e.session_id in kept])
    assert ask(service, endpoint, filters) == ask(reduced, endpoint, {})


def test_the_filter_cases_narrow_every_endpoint_somewhere(service: AnalyticsService) -> None:
    # Guards the test above against filters that change nothing: each endpoint's answer differs
    # from its unfiltered answer under at least one of the cases.
    for endpoint in ENDPOINT_REQUESTS:
        unfiltered = ask(service, endpoint, {})
        assert any(ask(service, endpoint, filters) != unfiltered for filters in FILTER_CASES), endpoint


@pytest.mark.parametrize("endpoint", sorted(ENDPOINT_REQUESTS))
def test_a_filtered_answer_of_any_endpoint_is_never_stored(
    executor, store: MemoryObjectStore, endpoint: str
) -> None:  # type: ignore[no-untyped-def]
    from reviva.analytics.rollups import RollupService
    from reviva.analytics.spend import SpendStore
    from tests.analytics.conftest import NOW

    service = AnalyticsService(
        executor,
        RollupService(executor, store, FixedLakeHistory(executor.data_as_of()), clock=lambda: NOW),
        SpendStore(store),
        clock=lambda: NOW,
    )
    ask(service, endpoint, {"channel": "paid_search"})
    assert not [key for key in store.objects if key.startswith("rollups/")]


@pytest.mark.parametrize("endpoint", sorted(ENDPOINT_REQUESTS))
@pytest.mark.parametrize("name", ["channel", "page", "device", "country"])
def test_every_endpoint_names_a_bad_filter(service: AnalyticsService, endpoint: str, name: str) -> None:
    query, body = ENDPOINT_REQUESTS[endpoint]
    use_case = endpoint.removesuffix("_markov")
    with pytest.raises(InvalidParameter) as raised:
        if body is None:
            service.answer(use_case, {**query, name: "x" * 257})
        else:
            service.answer(use_case, body={**body, name: ["not", "text"]})
    assert raised.value.parameter == name
