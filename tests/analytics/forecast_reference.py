"""Our trend forecast against statsforecast's AutoETS on generated daily series.

Daily counts like a site's visitors: 120 days of history, 14 held out. Five kinds in equal shares,
each drawn from a seeded generator (numpy's PCG64), counts Poisson around the kind's mean path:

- seasonal: a weekly profile (weekend dip or lift, plus day-to-day variation), level 20-2,000;
- trend: the same with a straight-line growth or decline of -40 % to +100 % over the 134 days;
- level shift: the same with a step of x0.5-x2 somewhere in days 30-105;
- flat: no weekly profile, level 5-2,000;
- low counts: mean 0.3-6 a day, with a weaker weekly profile.

Pooled MASE: every held-out absolute error divided by its series' in-sample seasonal-naive MAE
(lag 7), averaged over all points of all series (with equal horizons, M4's mean MASE). Coverage:
the share of held-out values inside our 95 % band. Width ratio: per series, our mean band width over
AutoETS's; the median over series.

Run `python -m tests.analytics.forecast_reference [SERIES]` for the table (1,200 by default).
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass

import numpy as np

from reviva.analytics.forecast import ets_forecast

HISTORY_DAYS = 120
HORIZON = 14
SEASON = 7
KINDS = ("seasonal", "trend", "level shift", "flat", "low counts")


@dataclass(frozen=True)
class Series:
    kind: str
    values: list[float]

    @property
    def history(self) -> list[float]:
        return self.values[:HISTORY_DAYS]

    @property
    def held_out(self) -> list[float]:
        return self.values[HISTORY_DAYS:]


def generate(count: int, seed: int = 20261206) -> list[Series]:
    """`count` series, the kinds in turn, reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    days = np.arange(HISTORY_DAYS + HORIZON)
    weekday = days % SEASON
    series = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        weekly = _weekly_profile(rng, strength=0.4 if kind == "low counts" else 1.0)
        if kind == "flat":
            weekly = np.ones(SEASON)
        if kind == "low counts":
            level = rng.uniform(0.3, 6.0)
        elif kind == "flat":
            level = float(np.exp(rng.uniform(np.log(5), np.log(2000))))
        else:
            level = float(np.exp(rng.uniform(np.log(20), np.log(2000))))
        path = level * weekly[weekday]
        if kind == "trend":
            path = path * (1 + rng.uniform(-0.4, 1.0) * days / days[-1])
        if kind == "level shift":
            path = np.where(days >= rng.integers(30, 106), path * rng.choice([0.5, 0.7, 1.5, 2.0]), path)
        series.append(Series(kind, [float(v) for v in rng.poisson(path)]))
    return series


def _weekly_profile(rng: np.random.Generator, strength: float) -> np.ndarray:
    """Multipliers per weekday averaging 1: a weekend dip (or lift) and some day-to-day variation."""
    weekend = rng.uniform(-0.6, 0.3) * strength
    profile = 1 + rng.normal(0, 0.1 * strength, SEASON)
    profile[5:] += weekend
    profile = np.clip(profile, 0.2, None)
    return profile / profile.mean()


@dataclass(frozen=True)
class Score:
    """One series' held-out 14 days: scaled absolute errors, hits of the 95 % bands, band widths."""

    kind: str
    errors_ours: list[float]
    errors_autoets: list[float]
    errors_seasonal_naive: list[float]
    covered_ours: list[bool]
    covered_autoets: list[bool]
    width_ours: float  # mean over the horizon
    width_autoets: float
    seconds_ours: float
    seconds_autoets: float


@dataclass(frozen=True)
class Comparison:
    """Pooled over a set of scores (all series, or one kind)."""

    series: int
    mase_ours: float
    mase_autoets: float
    mase_seasonal_naive: float
    coverage_ours: float
    coverage_autoets: float
    width_ratios: tuple[float, float, float]  # ours / AutoETS per series: 10th, 50th, 90th percentile
    ms_per_series_ours: float
    ms_per_series_autoets: float

    @classmethod
    def of(cls, scores: list[Score]) -> Comparison:
        """Pool the scores."""

        def pooled(values: list[list[float]] | list[list[bool]]) -> float:
            return float(np.mean([v for one in values for v in one]))

        ratios = [s.width_ours / s.width_autoets for s in scores if s.width_autoets > 0]
        low, median, high = np.percentile(ratios, [10, 50, 90])
        return cls(
            series=len(scores),
            mase_ours=pooled([s.errors_ours for s in scores]),
            mase_autoets=pooled([s.errors_autoets for s in scores]),
            mase_seasonal_naive=pooled([s.errors_seasonal_naive for s in scores]),
            coverage_ours=pooled([s.covered_ours for s in scores]),
            coverage_autoets=pooled([s.covered_autoets for s in scores]),
            width_ratios=(float(low), float(median), float(high)),
            ms_per_series_ours=1000 * statistics.fmean(s.seconds_ours for s in scores),
            ms_per_series_autoets=1000 * statistics.fmean(s.seconds_autoets for s in scores),
        )


def score(series: list[Series]) -> list[Score]:
    """Fit ours and AutoETS(season_length=7) on every history and score the held-out days."""
    from statsforecast.models import AutoETS  # heavy: imported only when a comparison runs

    scores = []
    for one in series:
        history, actual = one.history, np.array(one.held_out)
        seasonal_differences = np.array(history[SEASON:]) - np.array(history[:-SEASON])
        scale = float(np.mean(np.abs(seasonal_differences)))
        assert scale > 0, "a generated series repeats itself exactly every week"
        started = time.perf_counter()
        ours = ets_forecast(history, HORIZON, SEASON)
        seconds_ours = time.perf_counter() - started
        assert ours is not None
        started = time.perf_counter()
        reference = AutoETS(season_length=SEASON).forecast(y=np.array(history), h=HORIZON, level=[95])
        seconds_autoets = time.perf_counter() - started
        mean, lower, upper = (
            np.array([getattr(p, f) for p in ours.points]) for f in ("value", "lower", "upper")
        )
        naive = np.array([history[HISTORY_DAYS - SEASON + h % SEASON] for h in range(HORIZON)])
        scores.append(
            Score(
                kind=one.kind,
                errors_ours=list(np.abs(actual - mean) / scale),
                errors_autoets=list(np.abs(actual - reference["mean"]) / scale),
                errors_seasonal_naive=list(np.abs(actual - naive) / scale),
                covered_ours=list((lower <= actual) & (actual <= upper)),
                covered_autoets=list((reference["lo-95"] <= actual) & (actual <= reference["hi-95"])),
                width_ours=float(np.mean(upper - lower)),
                width_autoets=float(np.mean(reference["hi-95"] - reference["lo-95"])),
                seconds_ours=seconds_ours,
                seconds_autoets=seconds_autoets,
            )
        )
    return scores


def report(scores: list[Score]) -> str:
    """A Markdown table: all series, then each kind."""
    lines = [
        "| series | n | MASE ours | MASE AutoETS | MASE seasonal naive | 95 % coverage ours | AutoETS "
        "| width ours/AutoETS (p10, median, p90) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    groups = [("all", scores)] + [(kind, [s for s in scores if s.kind == kind]) for kind in KINDS]
    for name, group in groups:
        if not group:
            continue
        c = Comparison.of(group)
        low, median, high = c.width_ratios
        lines.append(
            f"| {name} | {c.series} | {c.mase_ours:.3f} | {c.mase_autoets:.3f} | {c.mase_seasonal_naive:.3f} "
            f"| {c.coverage_ours:.3f} | {c.coverage_autoets:.3f} | {low:.2f}, {median:.2f}, {high:.2f} |"
        )
    every = Comparison.of(scores)
    lines.append(
        f"\nFit time per series: ours {every.ms_per_series_ours:.0f} ms, "
        f"AutoETS {every.ms_per_series_autoets:.0f} ms."
    )
    return "\n".join(lines)


def main() -> None:
    """Print the comparison over `SERIES` series (the first argument, 1,200 by default)."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1200
    print(f"{count} series, {HISTORY_DAYS} days of history, {HORIZON} held out\n")
    print(report(score(generate(count))))


if __name__ == "__main__":
    main()
