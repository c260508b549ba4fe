"""HyperLogLog sketches and the Holt forecast."""

from __future__ import annotations

from reviva.analytics import hll
from reviva.analytics.forecast import holt_forecast


def test_small_sets_are_counted_exactly_and_merge_as_unions() -> None:
    a = hll.sketch(f"a:{i}" for i in range(40))
    b = hll.sketch(f"a:{i}" for i in range(20, 70))
    assert hll.estimate(a) == 40
    assert hll.estimate(hll.merge([a, b])) == 70
    assert hll.decode(hll.encode(a)) == a
    assert hll.estimate(hll.merge([])) == 0


def test_large_sets_are_estimated_within_two_percent() -> None:
    registers = hll.sketch(f"visitor-{i}" for i in range(100_000))
    assert abs(hll.estimate(registers) - 100_000) / 100_000 < 0.02


def test_forecast_follows_a_linear_trend_with_widening_intervals() -> None:
    points = holt_forecast([10.0 + 2 * i for i in range(20)], horizon=3)
    assert [round(p.value, 1) for p in points] == [50.0, 52.0, 54.0]
    noisy = holt_forecast([10, 14, 9, 15, 11, 16, 12, 17.0], horizon=4)
    widths = [p.upper - p.lower for p in noisy]
    assert widths == sorted(widths) and widths[0] > 0
    assert holt_forecast([1.0, 2.0], horizon=3) == []
