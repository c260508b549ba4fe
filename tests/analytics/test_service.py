"""Every endpoint's answer on the fixed dataset (tests/analytics/dataset.py), computed by hand."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from reviva.analytics.errors import InvalidParameter
from reviva.analytics.service import AnalyticsService
from reviva.analytics.spend import SpendRow, SpendStore
from reviva_dev.fakes.analytics import MemoryObjectStore
from tests.analytics.dataset import D

DAY0 = D.isoformat()
DAY1 = (D + timedelta(days=1)).isoformat()
DAY8 = (D + timedelta(days=8)).isoformat()
TWO_DAYS = {"from": DAY0, "to": DAY1}
FUNNEL = [
    {"type": "page"},
    {"url": "/pricing*"},
    {"event": "Booking Started"},
    {"event": "Booking Submitted"},
]


def test_overview_kpis_and_breakdowns(service: AnalyticsService) -> None:
    body = service.answer("overview", TWO_DAYS)
    kpis = {name: kpi["value"] for name, kpi in body["kpis"].items()}
    # A, B, C; sessions sA1, sB1, sC1 (day 0) and sB2 (day 1); sC1 bounced; 600+120+0+3600 s.
    assert kpis == {
        "visitors": 3,
        "sessions": 4,
        "page_views": 6,
        "bounce_rate": 0.25,
        "avg_session_duration_seconds": 1080.0,
        "conversions": 2,
        "conversion_rate": 0.5,
        "revenue": 150.0,
    }
    assert body["previous"] == {"from": "2026-10-31", "to": "2026-11-01"}
    assert body["kpis"]["sessions"] == {"value": 4, "previous": 0, "change": None}
    assert body["channels"] == [
        {"key": "paid_search", "value": 2, "previous": 0},
        {"key": "direct", "value": 1, "previous": 0},
        {"key": "organic_search", "value": 1, "previous": 0},
    ]
    assert body["top_pages"] == [
        {"key": "/", "value": 3, "previous": 0},
        {"key": "/pricing", "value": 3, "previous": 0},
    ]
    assert body["devices"] == [
        {"key": "desktop", "value": 3, "previous": 0},
        {"key": "mobile", "value": 1, "previous": 0},
    ]
    assert body["countries"] == [
        {"key": "PT", "value": 3, "previous": 0},
        {"key": "ES", "value": 1, "previous": 0},
    ]
    assert [(s["bucket"], s["visitors"], s["sessions"], s["revenue"]) for s in body["series"]] == [
        ("2026-11-02T00:00:00Z", 3, 3, 100.0),
        ("2026-11-03T00:00:00Z", 1, 1, 50.0),
    ]
    assert body["visitors_estimated"] is True
    assert body["freshness"]["source"] == "rollup+lake"


def test_overview_is_served_from_stored_rollups_the_second_time(service: AnalyticsService) -> None:
    service.answer("overview", TWO_DAYS)
    again = service.answer("overview", TWO_DAYS)
    assert again["freshness"]["source"] == "rollup"
    assert again["kpis"]["visitors"]["value"] == 3


def test_overview_compares_with_the_previous_period_and_hourly_series(service: AnalyticsService) -> None:
    body = service.answer("overview", {"from": DAY1, "to": DAY1, "interval": "hour"})
    assert body["kpis"]["visitors"] == {"value": 1, "previous": 3, "change": -0.6667}
    assert body["kpis"]["page_views"] == {"value": 1, "previous": 5, "change": -0.8}
    assert len(body["series"]) == 24
    assert body["series"][9] == {
        "bucket": "2026-11-03T09:00:00Z",
        "partial": False,
        "visitors": 1,
        "sessions": 1,
        "page_views": 1,
        "conversions": 0,
        "revenue": 0.0,
    }
    assert body["series"][10]["conversions"] == 1
    assert body["visitors_estimated"] is False


def test_overview_weekly_buckets_merge_visitors(service: AnalyticsService) -> None:
    body = service.answer(
        "overview", {"from": DAY0, "to": (D + timedelta(days=13)).isoformat(), "interval": "week"}
    )
    # Week 1 (11-02..11-08): A, B, C. Week 2 (11-09..11-15): D (11-09) and A (11-10).
    assert [(s["bucket"], s["visitors"], s["sessions"]) for s in body["series"]] == [
        ("2026-11-02T00:00:00Z", 3, 4),
        ("2026-11-09T00:00:00Z", 2, 2),
    ]
    assert body["kpis"]["visitors"]["value"] == 4


def test_funnel_counts_drop_off_medians_and_breakdown(service: AnalyticsService) -> None:
    body = service.answer("funnels", body={"steps": FUNNEL, "breakdown": "channel", **TWO_DAYS})
    assert [(s["label"], s["count"], s["drop_off"]) for s in body["steps"]] == [
        ("page", 3, 0),
        ("url /pricing*", 2, 1),
        ("event Booking Started", 2, 0),
        ("event Booking Submitted", 2, 0),
    ]
    # A: 60 s, 240 s, 300 s. B: 120 s, 22 h 28 min (80,880 s), 1,800 s. Medians of two values.
    assert [s["median_seconds_from_previous"] for s in body["steps"]] == [None, 90.0, 40560.0, 1050.0]
    assert body["steps"][1]["drop_off_rate"] == 0.3333
    assert body["steps"][3]["conversion_from_start"] == 0.6667
    assert body["breakdowns"] == [
        {"key": "paid_search", "steps": [{"index": i, "count": c} for i, c in enumerate([2, 1, 1, 1])]},
        {"key": "organic_search", "steps": [{"index": i, "count": c} for i, c in enumerate([1, 1, 1, 1])]},
    ]


def test_funnel_window_excludes_late_steps(service: AnalyticsService) -> None:
    body = service.answer("funnels", body={"steps": FUNNEL, "window_hours": 1, **TWO_DAYS})
    # B's Booking Started comes 22.5 h after its first page: only A completes within an hour.
    assert [s["count"] for s in body["steps"]] == [3, 2, 1, 1]
    assert body["breakdowns"] == []


def test_retention_matrix(service: AnalyticsService) -> None:
    body = service.answer("retention", {"cohort": "week", "periods": "3", "from": DAY0, "to": DAY8})
    assert body["cohorts"] == [
        {"cohort": "2026-11-02", "size": 3, "retained": [3, 1], "rates": [1.0, 0.3333]},
        {"cohort": "2026-11-09", "size": 1, "retained": [1], "rates": [1.0]},
    ]
    daily = service.answer("retention", {"cohort": "day", "periods": "2", "from": DAY0, "to": DAY1})
    assert daily["cohorts"] == [
        {"cohort": "2026-11-02", "size": 3, "retained": [3, 1], "rates": [1.0, 0.3333]},
    ]


def test_paths_nodes_links_top_paths_and_stages(service: AnalyticsService) -> None:
    body = service.answer("paths", TWO_DAYS)
    assert {(n["id"], n["count"]) for n in body["nodes"]} == {
        ("0:landing_page", 3),
        ("0:pricing_check", 1),
        ("1:pricing_check", 2),
        ("1:booking_start", 1),
        ("2:booking_start", 1),
        ("2:booking_submitted", 1),
        ("3:booking_submitted", 1),
    }
    assert body["links"][0] == {"source": "0:landing_page", "target": "1:pricing_check", "value": 2}
    assert len(body["links"]) == 5
    assert {tuple(p["steps"]) for p in body["top_paths"]} == {
        ("landing_page",),
        ("landing_page", "pricing_check"),
        ("landing_page", "pricing_check", "booking_start", "booking_submitted"),
        ("pricing_check", "booking_start", "booking_submitted"),
    }
    assert body["stage_transitions"] == [
        {"from": "awareness", "to": "consideration", "count": 2},
        {"from": "consideration", "to": "decision", "count": 2},
    ]


def test_paths_from_a_step_and_limited_depth(service: AnalyticsService) -> None:
    body = service.answer("paths", {**TWO_DAYS, "from_step": "pricing_check", "depth": "2"})
    assert body["top_paths"] == [
        {"steps": ["pricing_check", "booking_start"], "sessions": 2},
        {"steps": ["pricing_check"], "sessions": 1},
    ]
    assert {n["id"] for n in body["nodes"]} == {"0:pricing_check", "1:booking_start"}


def _credit(body: dict) -> dict[tuple[str, str | None], tuple[float, float]]:
    return {(r["channel"], r["campaign"]): (r["conversions"], r["revenue"]) for r in body["rows"]}


def test_attribution_rule_based_models(service: AnalyticsService) -> None:
    # A converts (100) after one touch (organic); B converts (50) after paid/bf (day 0, 11:00)
    # and direct (day 1, 09:00), 23 h and 1 h before the conversion.
    organic, paid, direct = ("organic_search", None), ("paid_search", "bf"), ("direct", None)
    expected = {
        "first_touch": {organic: (1.0, 100.0), paid: (1.0, 50.0)},
        "last_touch": {organic: (1.0, 100.0), direct: (1.0, 50.0)},
        "linear": {organic: (1.0, 100.0), paid: (0.5, 25.0), direct: (0.5, 25.0)},
        "position_based": {organic: (1.0, 100.0), paid: (0.5, 25.0), direct: (0.5, 25.0)},
    }
    for model, credit in expected.items():
        assert _credit(service.answer("attribution", {"model": model, **TWO_DAYS})) == credit, model
    older, newer = 2 ** (-(23 / 24) / 7), 2 ** (-(1 / 24) / 7)
    share = older / (older + newer)
    decay = _credit(service.answer("attribution", {"model": "time_decay", **TWO_DAYS}))
    assert decay[paid][0] == round(share, 4) and decay[direct][0] == round(1 - share, 4)
    assert decay[paid][1] == round(50 * share, 2)


def test_attribution_markov_removal_effects(service: AnalyticsService) -> None:
    # Paths: A organic→conv, B paid→direct→conv, C paid→null. P(conv) = 2/3; removing any one
    # channel leaves 1/3, so every removal effect is 0.5 and each gets a third of 2 and of 150.
    body = service.answer("attribution", {"model": "markov", **TWO_DAYS})
    assert _credit(body) == {
        ("direct", None): (0.6667, 50.0),
        ("organic_search", None): (0.6667, 50.0),
        ("paid_search", "bf"): (0.6667, 50.0),
    }


@pytest.mark.parametrize(
    "model", ["first_touch", "last_touch", "linear", "time_decay", "position_based", "markov"]
)
def test_every_model_distributes_the_same_total(service: AnalyticsService, model: str) -> None:
    body = service.answer("attribution", {"model": model, **TWO_DAYS})
    assert body["totals"] == {"conversions": 2.0, "revenue": 150.0, "spend": None}
    assert math.isclose(sum(r["conversions"] for r in body["rows"]), 2.0, abs_tol=1e-3)
    assert math.isclose(sum(r["revenue"] for r in body["rows"]), 150.0, abs_tol=0.02)


def test_attribution_with_imported_spend(service: AnalyticsService, store: MemoryObjectStore) -> None:
    SpendStore(store).import_rows(
        [
            SpendRow(D, "paid_search", "bf", 30.0),
            SpendRow(D + timedelta(days=1), "paid_search", "bf", 20.0),
            SpendRow(D, "email", "nl", 10.0),
            SpendRow(D + timedelta(days=5), "paid_search", "bf", 999.0),  # outside the range
        ]
    )
    body = service.answer("attribution", {"model": "linear", **TWO_DAYS})
    paid = next(r for r in body["rows"] if r["channel"] == "paid_search")
    assert paid == {
        "channel": "paid_search",
        "campaign": "bf",
        "conversions": 0.5,
        "revenue": 25.0,
        "spend": 50.0,
        "cac": 100.0,
        "roas": 0.5,
        "roi": -0.5,
    }
    organic = next(r for r in body["rows"] if r["channel"] == "organic_search")
    assert organic["spend"] is None and organic["cac"] is None
    assert body["totals"]["spend"] == 60.0


def test_attribution_pagination(service: AnalyticsService) -> None:
    first = service.answer("attribution", {"model": "linear", "limit": "2", **TWO_DAYS})
    assert len(first["rows"]) == 2 and first["total"] == 3 and first["next_cursor"]
    second = service.answer(
        "attribution", {"model": "linear", "limit": "2", "cursor": first["next_cursor"], **TWO_DAYS}
    )
    assert len(second["rows"]) == 1 and second["next_cursor"] is None
    assert {r["channel"] for r in first["rows"] + second["rows"]} == {
        "organic_search",
        "paid_search",
        "direct",
    }


def test_campaigns(service: AnalyticsService, store: MemoryObjectStore) -> None:
    SpendStore(store).import_rows([SpendRow(D, "paid_search", "bf", 30.0)])
    body = service.answer("campaigns", {"from": DAY0, "to": DAY8})
    assert body["total"] == 2
    bf, nl = body["campaigns"]
    assert bf == {
        "campaign": "bf",
        "source": "google",
        "medium": "cpc",
        "visitors": 2,
        "sessions": 2,
        "conversions": 0,
        "revenue": 0.0,
        "conversion_rate": 0.0,
        "spend": 30.0,
        "trend": {"visitors": [2] + [0] * 8, "conversions": [0] * 9},
    }
    assert nl["campaign"] == "nl" and nl["visitors"] == 1 and nl["source"] is None
    assert nl["trend"]["visitors"][7] == 1
    assert len(body["days"]) == 9


def test_trends_history_and_forecast(service: AnalyticsService) -> None:
    body = service.answer("trends", {"metric": "sessions", "from": DAY0, "to": DAY8, "horizon": "3"})
    assert [h["value"] for h in body["history"]] == [3, 1, 0, 0, 0, 0, 0, 1, 1]
    assert [f["bucket"] for f in body["forecast"]] == ["2026-11-11", "2026-11-12", "2026-11-13"]
    for point in body["forecast"]:
        assert 0 <= point["lower"] <= point["value"] <= point["upper"]
    weekly = service.answer(
        "trends",
        {"metric": "visitors", "from": DAY0, "to": (D + timedelta(days=13)).isoformat(), "interval": "week"},
    )
    assert [h["value"] for h in weekly["history"]] == [3, 2]
    assert weekly["forecast"] == []  # fewer than 3 buckets


@pytest.mark.parametrize(
    ("method", "params", "parameter"),
    [
        ("overview", {"from": "2026-13-01"}, "from"),
        ("overview", {"from": "yesterday"}, "from"),
        ("overview", {"from": DAY1, "to": DAY0}, "from"),
        ("overview", {"from": "2024-01-01", "to": "2026-01-01"}, "from"),
        ("overview", {"interval": "minute"}, "interval"),
        ("overview", {"from": DAY0, "to": DAY8, "interval": "hour"}, "interval"),
        ("retention", {"cohort": "year"}, "cohort"),
        ("retention", {"periods": "0"}, "periods"),
        ("retention", {"periods": "x"}, "periods"),
        ("paths", {"from_step": "bad step!"}, "from_step"),
        ("paths", {"depth": "9"}, "depth"),
        ("attribution", {}, "model"),
        ("attribution", {"model": "shapley"}, "model"),
        ("attribution", {"model": "linear", "cursor": "###"}, "cursor"),
        ("attribution", {"model": "linear", "limit": "501"}, "limit"),
        ("campaigns", {"sort": "name"}, "sort"),
        ("trends", {}, "metric"),
        ("trends", {"metric": "visitors", "horizon": "61"}, "horizon"),
    ],
)
def test_malformed_parameters_name_the_parameter(
    service: AnalyticsService, method: str, params: dict[str, str], parameter: str
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        service.answer(method, params)
    assert raised.value.parameter == parameter


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ([], "body"),
        ({}, "steps"),
        ({"steps": [{"type": "page"}]}, "steps"),
        ({"steps": [{"type": "page"}, {"colour": "red"}]}, "steps[1]"),
        ({"steps": [{"type": "page"}, {"url": "/a*b"}]}, "steps[1]"),
        ({"steps": [{"type": "page", "url": "/"}, {"type": "page"}]}, "steps[0]"),
        ({"steps": [{"type": "fax"}, {"type": "page"}]}, "steps[0]"),
        ({"steps": FUNNEL, "window_hours": 0}, "window_hours"),
        ({"steps": FUNNEL, "window_hours": "many"}, "window_hours"),
        ({"steps": FUNNEL, "breakdown": "visitor_key"}, "breakdown"),
        ({"steps": FUNNEL, "from": 20261101}, "from"),
    ],
)
def test_malformed_funnel_bodies_name_the_parameter(
    service: AnalyticsService, body: object, parameter: str
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        service.answer("funnels", body=body)
    assert raised.value.parameter == parameter


GET_USE_CASES = {
    "overview": {},
    "retention": {"cohort": "month", "periods": "24"},
    "paths": {},
    "attribution": {"model": "markov"},
    "campaigns": {},
    "trends": {"metric": "visitors", "interval": "week", "horizon": "60"},
}


@pytest.mark.parametrize("use_case", sorted(GET_USE_CASES))
@pytest.mark.parametrize(
    "dates",
    [{"to": "0001-01-03"}, {"from": "9999-12-31", "to": "9999-12-31"}, {"from": "0001-01-01"}],
)
def test_days_near_the_calendars_ends_are_a_bad_parameter(
    service: AnalyticsService, use_case: str, dates: dict[str, str]
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        service.answer(use_case, {**GET_USE_CASES[use_case], **dates})
    assert raised.value.parameter in dates


@pytest.mark.parametrize("use_case", sorted(GET_USE_CASES))
@pytest.mark.parametrize("dates", [{"from": "2000-01-01", "to": "2000-01-07"}, {"to": "2027-11-13"}])
def test_the_days_at_the_bounds_are_answered(
    service: AnalyticsService, use_case: str, dates: dict[str, str]
) -> None:
    # The service's today is 2026-11-12: the last day a request may name is a year and a day later.
    answer = service.answer(use_case, {**GET_USE_CASES[use_case], **dates})
    assert answer["freshness"]


@pytest.mark.parametrize("breakdown", [["channel"], {"channel": True}, 7])
def test_a_funnel_breakdown_of_another_json_type_is_a_bad_parameter(
    service: AnalyticsService, breakdown: object
) -> None:
    with pytest.raises(InvalidParameter) as raised:
        service.answer("funnels", body={"steps": FUNNEL, "breakdown": breakdown})
    assert raised.value.parameter == "breakdown"
