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


def test_a_weekly_swing_that_grows_with_the_level_gets_a_multiplicative_season() -> None:
    rng = np.random.default_rng(5)
    means = [(200 + 4 * t) * WEEK[t % 7] / 100 for t in range(84)]
    history = [float(v) for v in rng.poisson(means)]
    forecast = ets_forecast(history, horizon=14)
    assert forecast is not None
    assert forecast.model.endswith(",M)"), forecast.model
    # The simulated band widens from the first week ahead to the second, as the level's doubt grows.
    widths = [p.upper - p.lower for p in forecast.points]
    assert sum(widths[7:]) > 1.1 * sum(widths[:7])
    for h, point in enumerate(forecast.points):
        assert point.lower < point.value < point.upper
        assert point.value == pytest.approx((200 + 4 * (84 + h)) * WEEK[(84 + h) % 7] / 100, rel=0.1)


def test_the_same_history_gets_the_same_answer() -> None:
    rng = np.random.default_rng(9)
    history = [float(v) for v in rng.poisson([3 * w for w in WEEK] * 8)]
    assert ets_forecast(history, horizon=14) == ets_forecast(history, horizon=14)


def test_simulated_bounds_agree_with_the_exact_variance_where_both_apply() -> None:
    """With every season factor 1 and gamma 0, ETS(A,Ad,M) is ETS(A,Ad,N): the simulated band must match."""
    from statistics import NormalDist

    from reviva.analytics.forecast import _simulated_bounds, _Smoothing, _States

    smoothing = _Smoothing(alpha=0.3, beta=0.05, gamma=0.0, phi=0.9)
    final = _States(level=500.0, slope=3.0, season=[1.0] * 7)
    bounds = _simulated_bounds(smoothing, final, n=100, horizon=14, sigma=20.0, confidence=0.95)
    z = NormalDist().inv_cdf(0.975)
    exact = variance_multipliers(0.3, 0.05, 0.0, 0.9, 7, 14)
    for (low, high), multiplier in zip(bounds, exact, strict=True):
        assert high - low == pytest.approx(2 * z * 20.0 * multiplier**0.5, rel=0.06)
