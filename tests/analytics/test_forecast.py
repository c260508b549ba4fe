"""The ETS forecast: exact on noiseless shapes, intervals from the model's own variance."""

from __future__ import annotations

import numpy as np
import pytest

from reviva.analytics.forecast import ets_forecast, variance_multipliers

WEEK = [120.0, 130.0, 125.0, 128.0, 110.0, 60.0, 55.0]


def test_a_straight_line_is_continued() -> None:
    forecast = ets_forecast([10.0 + 2 * i for i in range(20)], horizon=3, season_length=1)
    assert forecast is not None
    assert [round(p.value, 1) for p in forecast.points] == [50.0, 52.0, 54.0]
    assert forecast.model in ("ETS(A,A,N)", "ETS(A,Ad,N)")


def test_a_weekly_pattern_is_repeated_on_its_weekdays() -> None:
    # Ten weeks starting on a Wednesday-like offset: the forecast must continue the cycle in phase.
    history = [WEEK[(t + 3) % 7] for t in range(70)]
    forecast = ets_forecast(history, horizon=9)
    assert forecast is not None
    assert forecast.model.endswith(",A)") and forecast.season_length == 7
    expected = [WEEK[(70 + h + 3) % 7] for h in range(9)]
    assert [p.value for p in forecast.points] == pytest.approx(expected, abs=0.5)


def test_seasonal_forms_need_two_full_seasons() -> None:
    rng = np.random.default_rng(3)
    short = [float(v) for v in rng.poisson(50, 13)]
    forecast = ets_forecast(short, horizon=4)
    assert forecast is not None and forecast.season_length == 1 and forecast.model.endswith(",N)")


def test_intervals_widen_with_the_horizon_and_hold_the_point_forecast() -> None:
    rng = np.random.default_rng(7)
    history = [float(v) for v in rng.poisson([WEEK[t % 7] for t in range(56)])]
    forecast = ets_forecast(history, horizon=14)
    assert forecast is not None
    for point in forecast.points:
        assert 0 <= point.lower < point.value < point.upper
    widths = [p.upper - p.lower for p in forecast.points]
    assert widths == sorted(widths)


def test_counts_never_go_negative() -> None:
    falling = [float(max(0, 40 - 3 * t)) for t in range(16)]
    forecast = ets_forecast(falling, horizon=10, season_length=1)
    assert forecast is not None
    assert all(p.lower >= 0 and p.value >= 0 and p.upper >= 0 for p in forecast.points)


def test_too_little_history_or_a_constant_one() -> None:
    assert ets_forecast([1.0, 2.0], horizon=3) is None
    assert ets_forecast([5.0, 5.0, 5.0, 5.0], horizon=0) is None
    flat = ets_forecast([4.0] * 30, horizon=2)
    assert flat is not None and [(p.lower, p.value, p.upper) for p in flat.points] == [(4.0, 4.0, 4.0)] * 2


@pytest.mark.parametrize(
    ("alpha", "beta", "gamma", "phi", "season_length"),
    [
        (0.4, 0.0, 0.0, 1.0, 1),  # ETS(A,N,N)
        (0.5, 0.2, 0.0, 1.0, 1),  # ETS(A,A,N)
        (0.5, 0.2, 0.0, 0.9, 1),  # ETS(A,Ad,N)
        (0.3, 0.0, 0.4, 1.0, 7),  # ETS(A,N,A)
        (0.3, 0.1, 0.4, 1.0, 7),  # ETS(A,A,A)
        (0.3, 0.1, 0.4, 0.85, 7),  # ETS(A,Ad,A)
    ],
)
def test_variance_multipliers_match_a_simulation_of_the_state_equations(
    alpha: float, beta: float, gamma: float, phi: float, season_length: int
) -> None:
    """Run the model forward from fixed states with Gaussian errors; the spread of y[n+h] must match."""
    horizon, paths, sigma = 16, 200_000, 1.0
    rng = np.random.default_rng(11)
    level = np.full(paths, 100.0)
    slope = np.full(paths, 2.0)
    season = np.tile(np.linspace(-3, 3, season_length), (paths, 1))
    outcomes = []
    for h in range(horizon):
        error = rng.normal(0, sigma, paths)
        j = h % season_length
        damped = phi * slope
        outcomes.append(level + damped + season[:, j] + error)
        level = level + damped + alpha * error
        slope = damped + beta * error
        season[:, j] += gamma * error
    simulated = [float(np.var(y)) for y in outcomes]
    expected = variance_multipliers(alpha, beta, gamma, phi, season_length, horizon)
    assert simulated == pytest.approx([sigma**2 * m for m in expected], rel=0.02)
