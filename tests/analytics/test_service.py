"""Every endpoint's answer on the fixed dataset (tests/analytics/dataset.py), computed by hand."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from reviva.adapters.duckdb_executor import DuckDBExecutor, arrow_source
from reviva.adapters.lake.history import FixedLakeHistory
from reviva.analytics.errors import InvalidParameter
from reviva.analytics.forecast import ets_forecast
from reviva.analytics.rollups import RollupService
from reviva.analytics.service import AnalyticsService
from reviva.analytics.spend import SpendRow, SpendStore
from reviva.contracts.events import EnrichedEvent
from reviva_dev.fakes.analytics import MemoryObjectStore
from tests.analytics import dataset
from tests.analytics.conftest import NOW
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


def _service_over(events: list[EnrichedEvent]) -> AnalyticsService:
    """A service over a lake holding only `events` (for cases the shared dataset lacks)."""
    executor = DuckDBExecutor(*arrow_source(dataset.events_to_arrow(events)))
    store = MemoryObjectStore()
    return AnalyticsService(
        executor,
        RollupService(executor, store, FixedLakeHistory(executor.data_as_of()), clock=lambda: NOW),
        SpendStore(store),
        clock=lambda: NOW,
    )


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
        "conversion_events": 2,
        "converted_sessions": 2,
        "session_conversion_rate": 0.5,
    }
    assert body["previous"] == {"from": "2026-10-31", "to": "2026-11-01"}
    assert body["kpis"]["sessions"] == {"value": 4, "compared": 4, "previous": 0, "change": None}
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


def test_overview_tells_conversion_events_from_converted_sessions() -> None:
    # One session books twice, another books nothing: 2 conversion events, 1 converted session of 2.
    events = [
        dataset.page("K", dataset.at(0, 9), "/", "sK", "landing_page", "awareness"),
        *(
            dataset.track(
                "K", dataset.at(0, 9, m), "Booking Submitted", "sK", "booking_submitted", is_conversion=True
            )
            for m in (1, 2)
        ),
        dataset.page("L", dataset.at(0, 10), "/", "sL", "landing_page", "awareness"),
    ]
    kpis = _service_over(events).answer("overview", {"from": DAY0, "to": DAY0})["kpis"]
    assert {
        name: kpis[name]["value"] for name in ("conversion_events", "converted_sessions", "sessions")
    } == {
        "conversion_events": 2,
        "converted_sessions": 1,
        "sessions": 2,
    }
    assert kpis["session_conversion_rate"]["value"] == kpis["conversion_rate"]["value"] == 0.5
    assert kpis["conversions"]["value"] == 2


def test_overview_is_served_from_stored_rollups_the_second_time(service: AnalyticsService) -> None:
    service.answer("overview", TWO_DAYS)
    again = service.answer("overview", TWO_DAYS)
    assert again["freshness"]["source"] == "rollup"
    assert again["kpis"]["visitors"]["value"] == 3


def test_overview_compares_with_the_previous_period_and_hourly_series(service: AnalyticsService) -> None:
    body = service.answer("overview", {"from": DAY1, "to": DAY1, "interval": "hour"})
    assert body["kpis"]["visitors"] == {"value": 1, "compared": 1, "previous": 3, "change": -0.6667}
    assert body["kpis"]["page_views"] == {"value": 1, "compared": 1, "previous": 5, "change": -0.8}
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
    assert _breakdown_counts(body) == [("paid_search", [2, 1, 1, 1]), ("organic_search", [1, 1, 1, 1])]
    assert body["other_keys"] == 0


def _breakdown_counts(body: dict) -> list[tuple[str, list[int]]]:
    """(key, visitors per step) of each breakdown row, checking the two names of each count agree."""
    for row in body["breakdowns"]:
        assert all(step["visitors"] == step["count"] for step in row["steps"])
    return [(row["key"], [step["visitors"] for step in row["steps"]]) for row in body["breakdowns"]]


def test_funnel_names_each_figure_for_what_it_counts(service: AnalyticsService) -> None:
    body = service.answer("funnels", body={"steps": FUNNEL, **TWO_DAYS})
    # 3 visitors entered (A, B, C); A and B booked.
    assert (body["entered_visitors"], body["completed_visitors"]) == (3, 2)
    assert body["funnel_completion_rate"] == 0.6667
    for step in body["steps"]:
        assert step["visitors"] == step["count"]
        assert step["reached_rate_from_start"] == step["conversion_from_start"]
        assert step["drop_off_visitors"] == step["drop_off"]


def test_funnel_breakdown_credits_the_sessions_acquisition_channel(service: AnalyticsService) -> None:
    # Step 1 is the /pricing page, whose own referrer is the site ("internal"): the visitors are
    # credited with the channel of their session's first event.
    steps = [{"url": "/pricing*"}, {"event": "Booking Started"}]
    body = service.answer("funnels", body={"steps": steps, "breakdown": "channel", **TWO_DAYS})
    assert _breakdown_counts(body) == [("organic_search", [1, 1]), ("paid_search", [1, 1])]
    # The visitor's stage is still the one on their step-1 event.
    body = service.answer("funnels", body={"steps": steps, "breakdown": "journey_stage", **TWO_DAYS})
    assert _breakdown_counts(body) == [("consideration", [2, 2])]


def test_funnel_breakdown_finds_a_session_that_began_the_day_before() -> None:
    evening = dataset.at(2, 23, 50)
    events = [
        dataset.page("E", evening, "/", "sE1", "landing_page", "awareness", channel="referral"),
        dataset.page(
            "E",
            evening + timedelta(minutes=15),
            "/pricing",
            "sE1",
            "pricing_check",
            "consideration",
            channel="internal",
        ),
        dataset.track("E", evening + timedelta(minutes=20), "Booking Started", "sE1", "booking_start"),
    ]
    service = _service_over(events)
    day3 = (D + timedelta(days=3)).isoformat()
    steps = [{"url": "/pricing"}, {"event": "Booking Started"}]
    body = service.answer("funnels", body={"steps": steps, "breakdown": "channel", "from": day3, "to": day3})
    assert _breakdown_counts(body) == [("referral", [1, 1])]


def test_funnel_breakdown_sums_the_keys_beyond_the_top_20_into_other() -> None:
    # 23 sources: source k has k + 1 visitors, each of whom books when k is even.
    events = []
    for k in range(23):
        for v in range(k + 1):
            visitor, session = f"s{k}v{v}", f"s{k}v{v}-1"
            source = {"utm_source": f"src{k:02d}"}
            events.append(
                dataset.page(
                    visitor, dataset.at(0, 9, v), "/", session, "landing_page", "awareness", **source
                )
            )
            if k % 2 == 0:
                events.append(
                    dataset.track(
                        visitor,
                        dataset.at(0, 10, v),
                        "Booking Submitted",
                        session,
                        "booking_submitted",
                        **source,
                    )
                )
    body = _service_over(events).answer(
        "funnels",
        body={
            "steps": [{"type": "page"}, {"event": "Booking Submitted"}],
            "breakdown": "utm_source",
            "from": DAY0,
            "to": DAY0,
        },
    )
    rows = _breakdown_counts(body)
    assert [key for key, _ in rows[:3]] == ["src22", "src21", "src20"]
    # src00..src02 (1, 2, 3 visitors; src00 and src02 booked) are summed into "(other)".
    assert rows[-1] == ("(other)", [6, 4])
    assert len(rows) == 21 and body["other_keys"] == 3
    totals = [sum(counts[i] for _, counts in rows) for i in range(2)]
    assert totals == [step["visitors"] for step in body["steps"]]


def test_funnel_steps_by_journey_touchpoint(service: AnalyticsService) -> None:
    steps = [{"touchpoint": "landing_page"}, {"touchpoint": "booking_submitted"}]
    body = service.answer("funnels", body={"steps": steps, **TWO_DAYS})
    assert [(s["label"], s["visitors"]) for s in body["steps"]] == [
        ("touchpoint landing_page", 3),
        ("touchpoint booking_submitted", 2),
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
    # channel leaves 1/3, so every removal effect is 0.5 and each gets a third of 2 conversions.
    # Revenue: a conversion after organic is worth 100, after direct 50, so the expected revenue
    # is 1/3·100 + 2/3·1/2·50 = 50; removing organic leaves 50/3 (effect 2/3), removing paid or
    # direct leaves 100/3 (effect 1/3): organic gets 2/4 of 150, paid and direct 1/4 each.
    body = service.answer("attribution", {"model": "markov", **TWO_DAYS})
    assert _credit(body) == {
        ("direct", None): (0.6667, 37.5),
        ("organic_search", None): (0.6667, 75.0),
        ("paid_search", "bf"): (0.6667, 37.5),
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
    assert organic["spend"] is None and organic["cac"] is None and organic["roas"] is None
    # Money spent on a touch no conversion credits still shows: nothing back, no CAC to speak of.
    email = next(r for r in body["rows"] if r["channel"] == "email")
    assert email == {
        "channel": "email",
        "campaign": "nl",
        "conversions": 0.0,
        "revenue": 0.0,
        "spend": 10.0,
        "cac": None,
        "roas": 0.0,
        "roi": -1.0,
    }
    assert body["rows"][-1] == email and body["total"] == 4
    assert body["totals"]["spend"] == 60.0


def test_attribution_without_imported_spend_has_no_spend_figures(service: AnalyticsService) -> None:
    body = service.answer("attribution", {"model": "markov", **TWO_DAYS})
    assert body["totals"]["spend"] is None
    for row in body["rows"]:
        assert (row["spend"], row["cac"], row["roas"], row["roi"]) == (None, None, None, None)


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
        "conversion_events": 0,
        "conversion_events_per_session": 0.0,
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
    assert weekly["model"] is None


def test_trends_fits_complete_buckets_and_forecasts_through_the_partial_ones(
    service: AnalyticsService,
) -> None:
    # The clock says 2026-11-12 12:00: today is partial, so ten of the eleven days are fitted.
    body = service.answer("trends", {"metric": "sessions", "from": DAY0, "to": "2026-11-12", "horizon": "3"})
    assert len(body["history"]) == 11 and body["fitted_buckets"] == 10
    assert [f["bucket"] for f in body["forecast"]] == ["2026-11-13", "2026-11-14", "2026-11-15"]
    fitted = ets_forecast([h["value"] for h in body["history"][:10]], horizon=4, season_length=7)
    assert fitted is not None
    assert [f["value"] for f in body["forecast"]] == [round(p.value, 2) for p in fitted.points[1:]]
    assert body["method"] == "ets" and body["model"] == fitted.model
    # Weeks from 2026-10-19 to 2026-11-10: three full weeks and a two-day tail that is not fitted.
    weekly = service.answer(
        "trends", {"metric": "visitors", "from": "2026-10-19", "to": DAY8, "interval": "week", "horizon": "2"}
    )
    assert len(weekly["history"]) == 4 and weekly["fitted_buckets"] == 3
    assert [f["bucket"] for f in weekly["forecast"]] == ["2026-11-16", "2026-11-23"]
    assert weekly["model"].endswith(",N)")  # weekly buckets get no season


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
