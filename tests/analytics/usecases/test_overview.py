"""The overview's KPI comparison leaves out a day that is not over yet (today), day for day."""

from __future__ import annotations

from datetime import datetime

import pytest

from reviva.adapters.duckdb_executor import DuckDBExecutor, arrow_source
from reviva.adapters.lake.history import FixedLakeHistory
from reviva.analytics.rollups import RollupService
from reviva.analytics.service import AnalyticsService
from reviva.analytics.spend import SpendStore
from reviva_dev.fakes.analytics import MemoryObjectStore
from tests.analytics.dataset import at, events_to_arrow, page

# "Today" is day 10 of the dataset's calendar, at noon.
NOW = at(10, 12)
DAY = {offset: at(offset, 0).date().isoformat() for offset in range(5, 11)}


def _service(now: datetime) -> AnalyticsService:
    # Sessions: two on day 7, three on day 9 (yesterday), two so far today (day 10).
    starts = [(7, 9), (7, 15), (9, 8), (9, 10), (9, 20), (10, 9), (10, 11)]
    events = [
        page(f"v{i}", at(day, hour), "/", f"s{i}", "landing_page", "awareness")
        for i, (day, hour) in enumerate(starts)
    ]
    lake = DuckDBExecutor(*arrow_source(events_to_arrow(events)))
    store = MemoryObjectStore()
    return AnalyticsService(
        lake,
        RollupService(lake, store, FixedLakeHistory(lake.data_as_of()), clock=lambda: now),
        SpendStore(store),
        clock=lambda: now,
    )


def test_an_open_day_is_shown_but_left_out_of_the_comparison() -> None:
    answer = _service(NOW).answer("overview", {"from": DAY[9], "to": DAY[10]})
    sessions = answer["kpis"]["sessions"]
    # 3 yesterday + 2 so far today; compared: yesterday (3) against day 7 (2), not 5 against 2.
    assert (sessions["value"], sessions["compared"], sessions["previous"]) == (5, 3, 2)
    assert sessions["change"] == pytest.approx(0.5)
    assert answer["comparison"] == {
        "current": {"from": DAY[9], "to": DAY[9]},
        "previous": {"from": DAY[7], "to": DAY[7]},
        "excluded_open_days": 1,
    }


def test_a_range_of_only_today_has_no_change_to_show() -> None:
    answer = _service(NOW).answer("overview", {"from": DAY[10], "to": DAY[10]})
    assert answer["comparison"] == {"current": None, "previous": None, "excluded_open_days": 1}
    assert answer["kpis"]["sessions"]["value"] == 2
    assert all(kpi["change"] is None for kpi in answer["kpis"].values())


def test_a_range_of_complete_days_compares_all_of_it() -> None:
    answer = _service(NOW).answer("overview", {"from": DAY[8], "to": DAY[9]})
    sessions = answer["kpis"]["sessions"]
    assert (sessions["value"], sessions["compared"], sessions["previous"]) == (3, 3, 2)
    assert answer["comparison"]["excluded_open_days"] == 0
    assert answer["comparison"]["previous"] == {"from": DAY[6], "to": DAY[7]}
