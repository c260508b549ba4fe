"""Forecasts for /v1/trends: Holt's linear exponential smoothing with a prediction interval."""

from __future__ import annotations

import math
from dataclasses import dataclass

_GRID = [i / 10 for i in range(1, 10)]
Z_95 = 1.96


@dataclass(frozen=True)
class ForecastPoint:
    value: float
    lower: float
    upper: float


def _holt(series: list[float], alpha: float, beta: float) -> tuple[float, float, float]:
    """Fit one parameter pair; return (level, trend, sum of squared one-step errors)."""
    level, trend = series[0], series[1] - series[0]
    sse = 0.0
    for value in series[1:]:
        predicted = level + trend
        sse += (value - predicted) ** 2
        previous_level = level
        level = alpha * value + (1 - alpha) * (level + trend)
        trend = beta * (level - previous_level) + (1 - beta) * trend
    return level, trend, sse


def holt_forecast(series: list[float], horizon: int) -> list[ForecastPoint]:
    """`horizon` points ahead of `series` (oldest first), with ~95 % intervals; [] below 3 points.

    alpha and beta are chosen on a 0.1 grid by the smallest one-step squared error; the interval is
    ±1.96 times the one-step residual standard deviation times √h, clipped at 0 (counts are never negative).
    """
    if len(series) < 3 or horizon < 1:
        return []
    best = min(((a, b) for a in _GRID for b in _GRID), key=lambda ab: _holt(series, *ab)[2])
    level, trend, sse = _holt(series, *best)
    sigma = math.sqrt(sse / max(1, len(series) - 3))
    points = []
    for step in range(1, horizon + 1):
        value = max(0.0, level + step * trend)
        spread = Z_95 * sigma * math.sqrt(step)
        points.append(ForecastPoint(value, max(0.0, value - spread), value + spread))
    return points
