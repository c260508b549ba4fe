"""Forecasts for /v1/trends: exponential smoothing (ETS) with additive errors, the form chosen by AICc.

The candidates are the additive-error ETS models of Hyndman et al., "Forecasting with Exponential
Smoothing" (2008): no trend, an additive or a damped trend, each with no season, an additive one or
a multiplicative one (a week of days for daily buckets; multiplicative only for positive data, where
a busy day's swing grows with the level, as web traffic's does). Each is fitted by maximum
likelihood: the smoothing parameters by Nelder-Mead inside the usual admissible region, the initial
states from a classical decomposition (where R's `ets` and statsforecast's `AutoETS` start their
search; kept fixed here, which keeps the fit fast). The 95 % interval comes from the chosen form:
its exact forecast variance where the book gives one (no or additive season), else from simulating
the form's own state equations with its fitted error variance (multiplicative season).

Pure Python on purpose: the query function's layers leave no room for numpy or scipy
(docs/deploy.md); a year of daily buckets takes a few hundred milliseconds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

Trend = Literal["N", "A", "Ad"]
Season = Literal["N", "A", "M"]

# The admissible region R's `ets` (bounds="both") and statsforecast use.
_SMOOTHING_LOW, _SMOOTHING_HIGH = 1e-4, 0.9999
_PHI_LOW, _PHI_HIGH = 0.8, 0.98
# Paths simulated for a multiplicative season's interval, from a fixed seed so that the same history
# always gets the same answer; 2,000 paths put each 2.5 % tail within about 0.35 % of its share.
# Long horizons (a range reaching far past today is forecast through) get fewer paths, at least
# 500, so that one answer never simulates more than about 250,000 steps (~0.3 s of CPU).
_SIMULATED_PATHS = 2000
_SIMULATED_PATHS_AT_LEAST = 500
_SIMULATED_STEPS = 250_000
_SIMULATION_SEED = 20261206


@dataclass(frozen=True)
class ForecastPoint:
    """One bucket ahead: the point forecast and its prediction interval (never below 0)."""

    value: float
    lower: float
    upper: float


@dataclass(frozen=True)
class Forecast:
    """The chosen model's name, e.g. "ETS(A,Ad,M)", its season length (1: none) and the points."""

    model: str
    season_length: int
    points: list[ForecastPoint]


@dataclass(frozen=True)
class _Form:
    trend: Trend
    season: Season

    @property
    def name(self) -> str:
        return f"ETS(A,{self.trend},{self.season})"

    @property
    def free_smoothing(self) -> int:
        """alpha, then beta (trended), gamma (seasonal), phi (damped)."""
        return 1 + (self.trend != "N") + (self.season != "N") + (self.trend == "Ad")

    def parameter_count(self, season_length: int) -> int:
        """Everything estimated: smoothing parameters, initial states and the error variance."""
        states = 1 + (self.trend != "N") + (season_length - 1 if self.season != "N" else 0)
        return self.free_smoothing + states + 1


_FORMS = [_Form(trend, season) for season in ("N", "A", "M") for trend in ("N", "A", "Ad")]


@dataclass(frozen=True)
class _Smoothing:
    alpha: float
    beta: float
    gamma: float
    phi: float


@dataclass(frozen=True)
class _States:
    level: float
    slope: float
    season: list[float]  # season[i] belongs to the buckets t with t % m == i (t counted from 0)


@dataclass(frozen=True)
class _Fit:
    form: _Form
    smoothing: _Smoothing
    initial: _States
    sse: float
    aicc: float


def ets_forecast(
    series: Sequence[float], horizon: int, season_length: int = 7, confidence: float = 0.95
) -> Forecast | None:
    """`horizon` points after `series` (oldest first) from the AICc-best additive-error ETS form.

    Seasonal forms are tried only with at least two full seasons of history and `season_length` > 1,
    multiplicative ones only when every value is positive. None below 3 points. Values and bounds
    are clipped at 0 (counts, revenue).
    """
    if len(series) < 3 or horizon < 1:
        return None
    values = [float(v) for v in series]
    m = season_length if season_length > 1 and len(values) >= 2 * season_length else 1
    if max(values) == min(values):
        flat = ForecastPoint(max(0.0, values[0]), max(0.0, values[0]), max(0.0, values[0]))
        return Forecast("ETS(A,N,N)", 1, [flat] * horizon)
    positive = min(values) > 0
    candidates = [
        form for form in _FORMS if (form.season == "N" or m > 1) and (form.season != "M" or positive)
    ]
    fits = [_fit(values, form, m) for form in candidates]
    admissible = [fit for fit in fits if math.isfinite(fit.aicc)]
    best = min(admissible, key=lambda fit: fit.aicc) if admissible else fits[0]
    return Forecast(
        best.form.name, m if best.form.season != "N" else 1, _predict(best, values, horizon, confidence)
    )


def _fit(values: list[float], form: _Form, m: int) -> _Fit:
    """Maximum likelihood for one form: with Gaussian errors that is the smallest one-step SSE."""
    initial = _initial_states(values, form, m if form.season != "N" else 1)

    def sse_of(unit: list[float]) -> float:
        return _run(values, form, _smoothing(unit, form), initial)[0]

    # Where R's `ets` starts: a small alpha, beta and gamma a tenth of their room, phi near 1.
    start = [0.3] + [0.1] * (form.trend != "N") + [0.1] * (form.season != "N") + [0.9] * (form.trend == "Ad")
    unit = _nelder_mead(sse_of, start)
    n, sse = len(values), sse_of(unit)
    k = form.parameter_count(len(initial.season))
    aicc = math.inf
    if n - k - 1 > 0 and math.isfinite(sse):
        aicc = n * math.log(max(sse, 1e-300) / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)
    return _Fit(form, _smoothing(unit, form), initial, sse, aicc)


def _smoothing(unit: Sequence[float], form: _Form) -> _Smoothing:
    """Map a point of the unit cube onto the admissible region (R's "both" bounds).

    beta <= alpha, gamma <= 1 - alpha, phi in [0.8, 0.98]; the order of `unit` is alpha, then beta
    (if trended), gamma (if seasonal), phi (if damped).
    """
    it = iter(unit)
    alpha = _SMOOTHING_LOW + (_SMOOTHING_HIGH - _SMOOTHING_LOW) * next(it)
    beta = _SMOOTHING_LOW + (alpha - _SMOOTHING_LOW) * next(it) if form.trend != "N" else 0.0
    gamma = _SMOOTHING_LOW + (1 - alpha - _SMOOTHING_LOW) * next(it) if form.season != "N" else 0.0
    phi = _PHI_LOW + (_PHI_HIGH - _PHI_LOW) * next(it) if form.trend == "Ad" else 1.0
    return _Smoothing(alpha, beta, gamma, phi)


def _initial_states(values: list[float], form: _Form, m: int) -> _States:
    """Level, slope and season at time 0, as R's `ets` starts them.

    The season from a classical decomposition (differences from, or ratios to, a centred moving
    average over the whole history); level and slope from a straight line through the first
    max(10, 2m) deseasonalised values (their mean when there is no trend).
    """
    if form.season == "N":
        season, adjusted = [0.0], values
    elif form.season == "A":
        season = _classical_season(values, m, multiplicative=False)
        adjusted = [v - season[t % m] for t, v in enumerate(values)]
    else:
        season = _classical_season(values, m, multiplicative=True)
        adjusted = [v / season[t % m] for t, v in enumerate(values)]
    head = adjusted[: min(max(10, 2 * m), len(adjusted))]
    if form.trend == "N":
        return _States(sum(head) / len(head), 0.0, season)
    xs = range(1, len(head) + 1)
    x_mean, y_mean = sum(xs) / len(head), sum(head) / len(head)
    spread = sum((x - x_mean) ** 2 for x in xs)
    slope = sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, head, strict=True)) / spread
    # The line's value at x = 0 is the level before the first observation.
    return _States(y_mean - slope * x_mean, slope, season)


def _classical_season(values: list[float], m: int, multiplicative: bool) -> list[float]:
    """Per position in the season, the mean difference from (or ratio to) the centred moving average.

    Normalised as the decomposition does: differences sum to 0, ratios average 1.
    """
    half = m // 2
    effects: list[list[float]] = [[] for _ in range(m)]
    for t in range(half, len(values) - half):
        window = values[t - half : t + half + 1]
        trend = sum(window) / m if m % 2 else (sum(window[1:-1]) + (window[0] + window[-1]) / 2) / m
        effects[t % m].append(values[t] / trend if multiplicative else values[t] - trend)
    means = [sum(e) / len(e) if e else float(multiplicative) for e in effects]
    centre = sum(means) / m
    return [mean / centre for mean in means] if multiplicative else [mean - centre for mean in means]


def _run(values: list[float], form: _Form, p: _Smoothing, initial: _States) -> tuple[float, _States]:
    """Run the form's state equations over the history: the sum of squared one-step errors, final states.

    The SSE is infinite when a multiplicative form's level or season leaves the positive numbers.
    """
    alpha, beta, gamma, phi = p.alpha, p.beta, p.gamma, p.phi
    level, slope, s = initial.level, initial.slope, list(initial.season)
    m = len(s)
    sse = 0.0
    if form.season != "M":
        for t, y in enumerate(values):
            j = t % m
            damped = phi * slope
            error = y - (level + damped + s[j])
            sse += error * error
            level += damped + alpha * error
            slope = damped + beta * error
            s[j] += gamma * error
        return sse, _States(level, slope, s)
    for t, y in enumerate(values):
        j = t % m
        damped = phi * slope
        base = level + damped
        factor = s[j]
        if base <= 0 or factor <= 0:
            return math.inf, _States(level, slope, s)
        error = y - base * factor
        sse += error * error
        level = base + alpha * error / factor
        slope = damped + beta * error / factor
        s[j] = factor + gamma * error / base
    return sse, _States(level, slope, s)


def _predict(fit: _Fit, values: list[float], horizon: int, confidence: float) -> list[ForecastPoint]:
    """Point forecasts from the final states; intervals from the form's forecast distribution."""
    p, form = fit.smoothing, fit.form
    _, final = _run(values, form, p, fit.initial)
    m, n = len(final.season), len(values)
    estimated = form.parameter_count(m) - 1  # all but the variance itself, as R's `ets` counts
    sigma2 = fit.sse / (n - estimated) if n > estimated else fit.sse / n
    means = []
    damped_sum = 0.0  # phi + phi^2 + ... + phi^h
    for step in range(1, horizon + 1):
        damped_sum += p.phi**step
        trend = final.level + damped_sum * final.slope
        factor = final.season[(n + step - 1) % m]
        means.append(trend * factor if form.season == "M" else trend + factor)
    if form.season == "M":
        bounds = _simulated_bounds(p, final, n, horizon, math.sqrt(sigma2), confidence)
    else:
        z = NormalDist().inv_cdf((1 + confidence) / 2)
        multipliers = variance_multipliers(p.alpha, p.beta, p.gamma, p.phi, m, horizon)
        bounds = [
            (mean - z * math.sqrt(sigma2 * k), mean + z * math.sqrt(sigma2 * k))
            for mean, k in zip(means, multipliers, strict=True)
        ]
    return [
        ForecastPoint(max(0.0, mean), max(0.0, low), max(0.0, high))
        for mean, (low, high) in zip(means, bounds, strict=True)
    ]


def variance_multipliers(
    alpha: float, beta: float, gamma: float, phi: float, season_length: int, horizon: int
) -> list[float]:
    """Var(y[n+h]) / sigma^2 for h = 1..horizon in an additive-error, additive-season ETS model.

    1 + sum over j < h of c_j^2, with c_j = alpha + beta * phi_j + gamma * [j is a multiple of m]
    and phi_j = phi + ... + phi^j (Hyndman et al. 2008, table 6.1, class 1). No trend: beta = 0; no
    damping: phi = 1; no season: gamma = 0.
    """
    multipliers = [1.0]
    damped_sum = 0.0
    for j in range(1, horizon):
        damped_sum += phi**j
        c = alpha + beta * damped_sum + (gamma if j % season_length == 0 else 0.0)
        multipliers.append(multipliers[-1] + c * c)
    return multipliers


def _simulated_bounds(
    p: _Smoothing, final: _States, n: int, horizon: int, sigma: float, confidence: float
) -> list[tuple[float, float]]:
    """Per step, the central `confidence` share of paths simulated from an ETS(A,*,M) model.

    A path whose level or season leaves the positive numbers stays at 0 from there on (traffic
    cannot fall below nothing; such paths are rare at the fitted parameters).
    """
    paths = max(_SIMULATED_PATHS_AT_LEAST, min(_SIMULATED_PATHS, _SIMULATED_STEPS // horizon))
    rng = random.Random(_SIMULATION_SEED)
    gauss = rng.gauss
    m = len(final.season)
    columns: list[list[float]] = [[] for _ in range(horizon)]
    for _ in range(paths):
        level, slope, season = final.level, final.slope, list(final.season)
        for h in range(horizon):
            j = (n + h) % m
            damped = p.phi * slope
            base = level + damped
            factor = season[j]
            if base <= 0 or factor <= 0:
                for rest in columns[h:]:
                    rest.append(0.0)
                break
            error = gauss(0.0, sigma)
            columns[h].append(base * factor + error)
            level = base + p.alpha * error / factor
            slope = damped + p.beta * error / factor
            season[j] = factor + p.gamma * error / base
    tail = (1 - confidence) / 2
    low_index = int(tail * paths)
    high_index = min(paths - 1, math.ceil((1 - tail) * paths) - 1)
    bounds = []
    for column in columns:
        column.sort()
        bounds.append((column[low_index], column[high_index]))
    return bounds


def _nelder_mead(
    f: Callable[[list[float]], float],
    start: list[float],
    step: float = 0.1,
    tolerance: float = 1e-8,
    max_evaluations: int = 500,
) -> list[float]:
    """Minimise `f` over the unit cube (every point is clipped into it) from `start`.

    Stops when the simplex's values agree to `tolerance` (relative) or after `max_evaluations`.
    """

    def clip(point: list[float]) -> list[float]:
        return [min(1.0, max(0.0, x)) for x in point]

    size = len(start)
    simplex = [clip(start)]
    for i in range(size):
        vertex = list(start)
        vertex[i] += step if vertex[i] + step <= 1 else -step
        simplex.append(clip(vertex))
    scores = [f(v) for v in simplex]
    evaluations = len(simplex)
    while evaluations < max_evaluations:
        order = sorted(range(size + 1), key=scores.__getitem__)
        simplex, scores = [simplex[i] for i in order], [scores[i] for i in order]
        if scores[-1] - scores[0] <= tolerance * (abs(scores[0]) + tolerance):
            break
        centroid = [sum(v[i] for v in simplex[:-1]) / size for i in range(size)]
        worst = simplex[-1]
        reflected = clip([c + (c - w) for c, w in zip(centroid, worst, strict=True)])
        reflected_score = f(reflected)
        evaluations += 1
        if reflected_score < scores[0]:
            expanded = clip([c + 2 * (c - w) for c, w in zip(centroid, worst, strict=True)])
            expanded_score = f(expanded)
            evaluations += 1
            if expanded_score < reflected_score:
                simplex[-1], scores[-1] = expanded, expanded_score
            else:
                simplex[-1], scores[-1] = reflected, reflected_score
        elif reflected_score < scores[-2]:
            simplex[-1], scores[-1] = reflected, reflected_score
        else:
            toward = reflected if reflected_score < scores[-1] else worst
            contracted = [c + 0.5 * (t - c) for c, t in zip(centroid, toward, strict=True)]
            contracted_score = f(contracted)
            evaluations += 1
            if contracted_score < min(reflected_score, scores[-1]):
                simplex[-1], scores[-1] = contracted, contracted_score
            else:
                best = simplex[0]
                simplex = [best] + [
                    [b + 0.5 * (x - b) for b, x in zip(best, v, strict=True)] for v in simplex[1:]
                ]
                scores = [scores[0]] + [f(v) for v in simplex[1:]]
                evaluations += size
    return simplex[min(range(size + 1), key=scores.__getitem__)]
