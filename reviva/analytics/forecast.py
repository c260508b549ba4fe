"""Forecasts for /v1/trends: exponential smoothing (ETS) with additive errors, the form chosen by AICc.

The candidate forms are the additive-error ETS models of Hyndman et al., "Forecasting with
Exponential Smoothing" (2008): no trend, additive trend or damped trend, each without or with an
additive season (a week of days for daily buckets). Each is fitted by maximum likelihood: the
smoothing parameters by Nelder-Mead inside the usual admissible region, the initial states by a
classical decomposition as R's `ets` and statsforecast's `AutoETS` start theirs. The interval comes
from the chosen form's own forecast variance (the book's class-1 formulas), so its coverage follows
the model rather than a √h rule of thumb.

Pure Python on purpose: the query function's layers leave no room for numpy/scipy (docs/deploy.md),
and a year of daily buckets fits in well under a second.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

Z_95 = 1.959963984540054  # the standard normal's 97.5 % quantile
Trend = Literal["N", "A", "Ad"]

# The admissible region R's `ets` (bounds="both") and statsforecast use.
_SMOOTHING_LOW, _SMOOTHING_HIGH = 1e-4, 0.9999
_PHI_LOW, _PHI_HIGH = 0.8, 0.98


@dataclass(frozen=True)
class ForecastPoint:
    """One bucket ahead: the point forecast and its prediction interval (never below 0)."""

    value: float
    lower: float
    upper: float


@dataclass(frozen=True)
class Forecast:
    """The chosen model's name, e.g. "ETS(A,Ad,A)", its season length (1: none) and the points."""

    model: str
    season_length: int
    points: list[ForecastPoint]


@dataclass(frozen=True)
class _Form:
    trend: Trend
    seasonal: bool

    @property
    def name(self) -> str:
        return f"ETS(A,{self.trend},{'A' if self.seasonal else 'N'})"

    def parameter_count(self, season_length: int) -> int:
        """Everything estimated: smoothing parameters, initial states and the error variance."""
        smoothing = 1 + (self.trend != "N") + (self.trend == "Ad") + self.seasonal
        states = 1 + (self.trend != "N") + (season_length - 1 if self.seasonal else 0)
        return smoothing + states + 1


_FORMS = [_Form(trend, seasonal) for seasonal in (False, True) for trend in ("N", "A", "Ad")]


@dataclass(frozen=True)
class _Smoothing:
    alpha: float
    beta: float
    gamma: float
    phi: float


@dataclass(frozen=True)
class _Fit:
    form: _Form
    smoothing: _Smoothing
    level: float
    slope: float
    season: list[float]  # season[i] belongs to the days t with t % m == i (t counted from 0)
    sse: float
    aicc: float


def ets_forecast(
    series: Sequence[float], horizon: int, season_length: int = 7, confidence: float = 0.95
) -> Forecast | None:
    """`horizon` points after `series` (oldest first) from the AICc-best additive-error ETS form.

    Seasonal forms are tried only with at least two full seasons of history and `season_length` > 1.
    Returns None below 3 points. Values and lower bounds are clipped at 0 (counts, revenue).
    """
    if len(series) < 3 or horizon < 1:
        return None
    values = [float(v) for v in series]
    m = season_length if season_length > 1 and len(values) >= 2 * season_length else 1
    if max(values) == min(values):
        flat = ForecastPoint(max(0.0, values[0]), max(0.0, values[0]), max(0.0, values[0]))
        return Forecast("ETS(A,N,N)", 1, [flat] * horizon)
    fits = [_fit(values, form, m) for form in _FORMS if m > 1 or not form.seasonal]
    admissible = [fit for fit in fits if math.isfinite(fit.aicc)]
    best = min(admissible, key=lambda fit: fit.aicc) if admissible else fits[0]
    return Forecast(
        best.form.name, m if best.form.seasonal else 1, _predict(best, values, horizon, confidence)
    )


def _fit(values: list[float], form: _Form, m: int) -> _Fit:
    """Maximum likelihood for one form: with Gaussian errors that is the smallest one-step SSE."""
    season_length = m if form.seasonal else 1
    level, slope, season = _initial_states(values, form, season_length)

    def sse_of(unit: list[float]) -> float:
        return _run(values, _smoothing(unit, form), level, slope, season)[0]

    # Where R's `ets` starts: a small alpha, beta and gamma a tenth of their room, phi near 1.
    start = [0.3] + [0.1] * (form.trend != "N") + [0.1] * form.seasonal + [0.9] * (form.trend == "Ad")
    unit = _nelder_mead(sse_of, start)
    smoothing = _smoothing(unit, form)
    n = len(values)
    sse = sse_of(unit)
    k = form.parameter_count(season_length)
    aicc = math.inf
    if n - k - 1 > 0:
        aicc = n * math.log(max(sse, 1e-300) / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)
    return _Fit(form, smoothing, level, slope, season, sse, aicc)


def _free_parameters(form: _Form) -> int:
    return 1 + (form.trend != "N") + form.seasonal + (form.trend == "Ad")


def _smoothing(unit: Sequence[float], form: _Form) -> _Smoothing:
    """Map a point of the unit cube onto the admissible region (R's "both" bounds).

    beta <= alpha, gamma <= 1 - alpha, phi in [0.8, 0.98]; the order of `unit` is alpha, then beta
    (if trended), gamma (if seasonal), phi (if damped).
    """
    it = iter(unit)
    alpha = _SMOOTHING_LOW + (_SMOOTHING_HIGH - _SMOOTHING_LOW) * next(it)
    beta = _SMOOTHING_LOW + (alpha - _SMOOTHING_LOW) * next(it) if form.trend != "N" else 0.0
    gamma = _SMOOTHING_LOW + (1 - alpha - _SMOOTHING_LOW) * next(it) if form.seasonal else 0.0
    phi = _PHI_LOW + (_PHI_HIGH - _PHI_LOW) * next(it) if form.trend == "Ad" else 1.0
    return _Smoothing(alpha, beta, gamma, phi)


def _initial_states(values: list[float], form: _Form, m: int) -> tuple[float, float, list[float]]:
    """Level, slope and season at time 0, as R's `ets` starts them.

    The season from a classical additive decomposition (a centred moving average over the whole
    history); level and slope from a straight line through the first max(10, 2m) deseasonalised
    values (its mean when there is no trend).
    """
    season = _classical_season(values, m) if m > 1 else [0.0]
    adjusted = [v - season[t % m] for t, v in enumerate(values)]
    head = adjusted[: min(max(10, 2 * m), len(adjusted))]
    if form.trend == "N":
        return sum(head) / len(head), 0.0, season
    xs = range(1, len(head) + 1)
    x_mean, y_mean = sum(xs) / len(head), sum(head) / len(head)
    spread = sum((x - x_mean) ** 2 for x in xs)
    slope = sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, head, strict=True)) / spread
    # The line's value at x = 0 is the level before the first observation.
    return y_mean - slope * x_mean, slope, season


def _classical_season(values: list[float], m: int) -> list[float]:
    """Mean deviation from the centred moving average per position in the season, summing to 0."""
    half = m // 2
    deviations: list[list[float]] = [[] for _ in range(m)]
    for t in range(half, len(values) - half):
        if m % 2:
            trend = sum(values[t - half : t + half + 1]) / m
        else:
            window = values[t - half : t + half + 1]
            trend = (sum(window[1:-1]) + (window[0] + window[-1]) / 2) / m
        deviations[t % m].append(values[t] - trend)
    means = [sum(d) / len(d) if d else 0.0 for d in deviations]
    centre = sum(means) / m
    return [mean - centre for mean in means]


def _run(
    values: list[float], p: _Smoothing, level: float, slope: float, season: list[float]
) -> tuple[float, float, float, list[float]]:
    """Run the state equations over the history: (sum of squared one-step errors, final states)."""
    alpha, beta, gamma, phi = p.alpha, p.beta, p.gamma, p.phi
    s = list(season)
    m = len(s)
    sse = 0.0
    for t, y in enumerate(values):
        j = t % m
        damped = phi * slope
        error = y - (level + damped + s[j])
        sse += error * error
        level += damped + alpha * error
        slope = damped + beta * error
        s[j] += gamma * error
    return sse, level, slope, s


def _predict(fit: _Fit, values: list[float], horizon: int, confidence: float) -> list[ForecastPoint]:
    """Point forecasts from the final states; intervals from the form's forecast variance."""
    p = fit.smoothing
    _, level, slope, season = _run(values, p, fit.level, fit.slope, fit.season)
    m, n = len(season), len(values)
    estimated = fit.form.parameter_count(m) - 1  # all but the variance itself, as R's `ets` counts
    sigma2 = fit.sse / (n - estimated) if n > estimated else fit.sse / n
    z = NormalDist().inv_cdf((1 + confidence) / 2)
    multipliers = variance_multipliers(p.alpha, p.beta, p.gamma, p.phi, m, horizon)
    points = []
    damped_sum = 0.0  # phi + phi^2 + ... + phi^h
    for step, multiplier in enumerate(multipliers, start=1):
        damped_sum += p.phi**step
        value = level + damped_sum * slope + season[(n + step - 1) % m]
        spread = z * math.sqrt(sigma2 * multiplier)
        points.append(ForecastPoint(max(0.0, value), max(0.0, value - spread), max(0.0, value + spread)))
    return points


def variance_multipliers(
    alpha: float, beta: float, gamma: float, phi: float, season_length: int, horizon: int
) -> list[float]:
    """Var(y[n+h]) / sigma^2 for h = 1..horizon in an additive-error ETS model (class 1).

    1 + sum over j < h of c_j^2, with c_j = alpha + beta * phi_j + gamma * [j is a multiple of m]
    and phi_j = phi + ... + phi^j (Hyndman et al. 2008, table 6.1). No trend: beta = 0; no damping:
    phi = 1; no season: gamma = 0.
    """
    multipliers = [1.0]
    damped_sum = 0.0
    for j in range(1, horizon):
        damped_sum += phi**j
        c = alpha + beta * damped_sum + (gamma if j % season_length == 0 else 0.0)
        multipliers.append(multipliers[-1] + c * c)
    return multipliers


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
