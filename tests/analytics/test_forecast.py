"""The Holt forecast."""

from __future__ import annotations

from reviva.analytics.forecast import holt_forecast


def test_forecast_follows_a_linear_trend_with_widening_intervals() -> None:
    points = holt_forecast([10.0 + 2 * i for i in range(20)], horizon=3)
    assert [round(p.value, 1) for p in points] == [50.0, 52.0, 54.0]
    noisy = holt_forecast([10, 14, 9, 15, 11, 16, 12, 17.0], horizon=4)
    widths = [p.upper - p.lower for p in noisy]
    assert widths == sorted(widths) and widths[0] > 0
    assert holt_forecast([1.0, 2.0], horizon=3) == []
