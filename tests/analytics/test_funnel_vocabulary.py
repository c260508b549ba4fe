"""GET /v1/funnels/vocabulary on DuckDB: the lake's event names, pages, path patterns and
touchpoints, counted by hand, and the journey rules' preset funnels."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reviva.adapters.duckdb_executor import DuckDBExecutor, arrow_source
from reviva.adapters.lake.history import FixedLakeHistory
from reviva.analytics.errors import InvalidParameter
from reviva.analytics.rollups import RollupService
from reviva.analytics.service import AnalyticsService
from reviva.analytics.spend import SpendStore
from reviva.enrich.journey_rules import parse_journey_rules
from reviva_dev.fakes.analytics import MemoryObjectStore
from tests.analytics import dataset
from tests.analytics.conftest import NOW
from tests.analytics.dataset import D, at, page, track

DAY0 = D.isoformat()
DAY1 = (D + timedelta(days=1)).isoformat()


def _terms(body: dict, kind: str) -> list[tuple[str, int, int]]:
    return [(t["value"], t["visitors"], t["events"]) for t in body[kind]]


def test_the_shared_dataset_over_two_days(service: AnalyticsService) -> None:
    body = service.answer("funnel_vocabulary", {"from": DAY0, "to": DAY1})
    # Track events: A and B each started and submitted a booking (the bot is left out).
    assert _terms(body, "events") == [("Booking Started", 2, 2), ("Booking Submitted", 2, 2)]
    # Pages: "/" by A, B, C; "/pricing" by A (once) and B (twice).
    assert _terms(body, "pages") == [("/", 3, 3), ("/pricing", 2, 3)]
    assert body["patterns"] == []  # no path has a second segment
    assert _terms(body, "touchpoints") == [
        ("landing_page", 3, 3),
        ("pricing_check", 2, 3),
        ("booking_start", 2, 2),
        ("booking_submitted", 2, 2),
    ]
    assert body["freshness"]["source"] == "lake"


def _service(events: list, rules: dict | None = None) -> AnalyticsService:
    executor = DuckDBExecutor(*arrow_source(dataset.events_to_arrow(events)))
    store = MemoryObjectStore()
    return AnalyticsService(
        executor,
        RollupService(executor, store, FixedLakeHistory(executor.data_as_of()), clock=lambda: NOW),
        SpendStore(store),
        clock=lambda: NOW,
        journey_rules=parse_journey_rules(rules) if rules else None,
    )


STORE_EVENTS = [
    page("P", at(0, 9), "/services/screens", "sP", "service_browse", "awareness"),
    page("P", at(0, 9, 1), "/services/batteries", "sP", "service_browse", "awareness"),
    page("Q", at(0, 9), "/services/screens", "sQ", "service_browse", "awareness"),
    page("Q", at(0, 9, 2), "/pricing/phones", "sQ", "pricing_check", "consideration"),
    page("R", at(0, 10), "/demo/book.html", "sR", "booking_page", "decision"),
    track("R", at(0, 10, 1), "Pricing Viewed", "sR", "pricing_check"),
    track("R", at(0, 10, 2), "100% Done_Now", "sR", "other"),
]


def test_patterns_need_two_paths_and_the_search_is_a_plain_substring() -> None:
    service = _service(STORE_EVENTS)
    body = service.answer("funnel_vocabulary", {"from": DAY0, "to": DAY0})
    # /services/* covers two paths; /pricing/* and /demo/* one each, so they are no pattern.
    assert _terms(body, "patterns") == [("/services/*", 2, 3)]
    assert _terms(body, "pages")[0] == ("/services/screens", 2, 2)
    searched = service.answer("funnel_vocabulary", {"from": DAY0, "to": DAY0, "q": "PRIC"})
    assert _terms(searched, "events") == [("Pricing Viewed", 1, 1)]
    assert _terms(searched, "pages") == [("/pricing/phones", 1, 1)]
    assert _terms(searched, "touchpoints") == [("pricing_check", 2, 2)]
    # % and _ are no wildcards: "0%" finds only the name holding it, "_" only names with "_".
    assert _terms(service.answer("funnel_vocabulary", {"from": DAY0, "to": DAY0, "q": "0% d"}), "events") == [
        ("100% Done_Now", 1, 1)
    ]
    assert [t["value"] for t in service.answer("funnel_vocabulary", {"q": "_", "from": DAY0})["pages"]] == []


def test_limit_keeps_the_values_with_most_visitors_of_each_kind() -> None:
    body = _service(STORE_EVENTS).answer("funnel_vocabulary", {"from": DAY0, "to": DAY0, "limit": "1"})
    assert [len(body[kind]) for kind in ("events", "pages", "patterns", "touchpoints")] == [1, 1, 1, 1]
    # service_browse and pricing_check both have 2 visitors; service_browse has more events (3 to 2).
    assert _terms(body, "touchpoints") == [("service_browse", 2, 3)]


def test_presets_come_from_the_journey_rules() -> None:
    default = _service(STORE_EVENTS).answer("funnel_vocabulary", {"from": DAY0, "to": DAY0})
    assert default["presets"][0] == {
        "id": "booking",
        "name": "Visit → booking",
        "steps": [
            {"step": {"type": "page"}, "label": "Visited"},
            {"step": {"touchpoint": "pricing_check"}, "label": "Saw prices"},
            {"step": {"touchpoint": "booking_start"}, "label": "Started booking"},
            {"step": {"touchpoint": "booking_submitted"}, "label": "Booked"},
        ],
    }
    rules = {
        "rules": [{"match": {"event": "Paid"}, "touchpoint": "paid", "stage": "decision", "conversion": True}]
    }
    own = _service(STORE_EVENTS, rules).answer("funnel_vocabulary", {"from": DAY0, "to": DAY0})
    assert [(p["id"], [s["step"] for s in p["steps"]]) for p in own["presets"]] == [
        ("paid", [{"type": "page"}, {"touchpoint": "paid"}])
    ]


def test_a_preset_runs_as_a_funnel_on_data_its_rules_labelled(service: AnalyticsService) -> None:
    preset = service.answer("funnel_vocabulary", {"from": DAY0, "to": DAY1})["presets"][0]
    body = service.answer(
        "funnels", body={"steps": [s["step"] for s in preset["steps"]], "from": DAY0, "to": DAY1}
    )
    # A and B: landing, pricing, booking started, submitted; C only landed.
    assert [s["visitors"] for s in body["steps"]] == [3, 2, 2, 2]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"q": "x" * 101}, "q"),
        ({"q": "a\nb"}, "q"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"from": "2026-13-01"}, "from"),
    ],
)
def test_bad_parameters_are_named(service: AnalyticsService, query: dict[str, str], parameter: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        service.answer("funnel_vocabulary", query)
    assert caught.value.parameter == parameter
