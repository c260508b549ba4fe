"""The lifetime-value backtest: fit on a calibration window, predict the holdout that follows, score.

Candidates for the expected repeat purchases in the holdout, all fitted on the calibration window
only: `bgnbd` (BG/NBD alone), `learned` (gradient boosting correcting BG/NBD, `learned.py`) and
`blend` (their mean). The rule that picks one, fixed before any figure was seen and written in
docs/intelligence.md: among the candidates whose holdout total is within ±5 % of the actual, the
lowest per-customer MAE; if none is, the smallest absolute total error.

The naive baseline extrapolates each customer's calibration repeat rate (repeats / age * holdout
length) and ranks returners by it. Predicted value = predicted purchases * Gamma-Gamma's expected
amount per purchase; p_alive and churn risk come from BG/NBD.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from sklearn.metrics import roc_auc_score

from reviva.scoring import bgnbd, gamma_gamma
from reviva.scoring.churn import churn_risk, lapse_gap_weeks
from reviva.scoring.customer_summary import (
    DAYS_PER_WEEK,
    CustomerHistory,
    FloatArray,
    customers_born_by,
    purchase_gaps,
    purchases_between,
    spend_between,
    summarize,
)
from reviva.scoring.learned import fit_learned_model, ltv_features

TOTAL_TOLERANCE = 0.05
CANDIDATES = ("bgnbd", "learned", "blend")


class BacktestError(ValueError):
    """The windows or the data cannot make a backtest; the message says which."""


@dataclass(frozen=True)
class HoldoutFigures:
    """How one set of predicted holdout purchases compares with what happened."""

    name: str
    mae: float
    rmse: float
    total_predicted: float
    total_actual: float
    return_auc: float | None  # None when every customer returned, or none did

    @property
    def total_error(self) -> float:
        """Relative error of the total (predicted / actual - 1); inf when nobody bought in the holdout."""
        return self.total_predicted / self.total_actual - 1 if self.total_actual else float("inf")


@dataclass(frozen=True)
class ChurnFigures:
    """Churn risk against the holdout, for customers whose lapse point falls inside it."""

    lapse_gap_weeks: float
    customers_scored: int  # lapse point inside the holdout
    lapsed_share: float  # of those, the share that made no purchase before it
    mean_risk: float
    auc: float | None
    brier: float
    already_lapsed: int  # lapse point before the calibration end (risk 1)
    already_lapsed_returned_share: float  # of those, the share that bought in the holdout anyway


@dataclass(frozen=True)
class CustomerPredictions:
    """The CSV's columns, one entry per customer."""

    customer_ids: tuple[str, ...]
    predicted_purchases: FloatArray
    p_alive: FloatArray
    predicted_value: FloatArray
    churn_risk: FloatArray


@dataclass(frozen=True)
class BacktestResult:
    """Everything the backtest measured."""

    calibration_end: date
    holdout_end: date
    holdout_weeks: float
    customers: int
    bgnbd_params: bgnbd.BgNbdParameters
    gamma_gamma_params: gamma_gamma.GammaGammaParameters
    candidates: tuple[HoldoutFigures, ...]
    baseline: HoldoutFigures
    chosen: str
    candidate_purchases: dict[str, FloatArray]  # every candidate's predicted purchases, by name
    predictions: CustomerPredictions
    value_predicted: float
    value_actual: float
    value_baseline: float
    churn: ChurnFigures

    def figures(self, name: str) -> HoldoutFigures:
        """The figures of a candidate by name."""
        return next(f for f in self.candidates if f.name == name)


def _auc(labels: FloatArray, scores: FloatArray) -> float | None:
    if labels.min() == labels.max():
        return None
    return float(roc_auc_score(labels, scores))


def holdout_figures(name: str, predicted: FloatArray, actual: FloatArray) -> HoldoutFigures:
    """MAE, RMSE, totals and the AUC of the prediction as a score for "returns in the holdout"."""
    error = predicted - actual
    return HoldoutFigures(
        name=name,
        mae=float(np.mean(np.abs(error))),
        rmse=float(np.sqrt(np.mean(error**2))),
        total_predicted=float(predicted.sum()),
        total_actual=float(actual.sum()),
        return_auc=_auc((actual > 0).astype(float), predicted),
    )


def choose_candidate(candidates: list[HoldoutFigures]) -> str:
    """The stated rule: lowest MAE among totals within ±5 %, else the smallest total error."""
    # The epsilon keeps a total exactly 5 % off inside despite floating point.
    within = [f for f in candidates if abs(f.total_error) <= TOTAL_TOLERANCE + 1e-12]
    if within:
        return min(within, key=lambda f: f.mae).name
    return min(candidates, key=lambda f: abs(f.total_error)).name


def _churn_figures(
    risk: FloatArray,
    weeks_to_lapse: FloatArray,
    histories: list[CustomerHistory],
    start: date,
    gap: float,
    holdout_weeks: float,
) -> ChurnFigures:
    inside = (weeks_to_lapse > 0) & (weeks_to_lapse <= holdout_weeks)
    lapsed_labels = []
    for index in np.flatnonzero(inside):
        lapse_day = start.toordinal() + weeks_to_lapse[index] * DAYS_PER_WEEK
        bought = any(start < day and day.toordinal() <= lapse_day for day in histories[index].days)
        lapsed_labels.append(0.0 if bought else 1.0)
    labels = np.array(lapsed_labels)
    scored = risk[inside]
    already = weeks_to_lapse <= 0
    returned = purchases_between([h for h, a in zip(histories, already, strict=True) if a], start, date.max)
    return ChurnFigures(
        lapse_gap_weeks=gap,
        customers_scored=int(inside.sum()),
        lapsed_share=float(labels.mean()) if len(labels) else float("nan"),
        mean_risk=float(scored.mean()) if len(scored) else float("nan"),
        auc=_auc(labels, scored) if len(labels) else None,
        brier=float(np.mean((scored - labels) ** 2)) if len(labels) else float("nan"),
        already_lapsed=int(already.sum()),
        already_lapsed_returned_share=float((returned > 0).mean()) if len(returned) else float("nan"),
    )


def run_backtest(
    histories: list[CustomerHistory], calibration_end: date, holdout_end: date, seed: int = 0
) -> BacktestResult:
    """Fit every model on purchases up to `calibration_end`, predict (calibration_end, holdout_end]."""
    if holdout_end <= calibration_end:
        raise BacktestError("holdout-end must be after calibration-end")
    customers = customers_born_by(histories, calibration_end)
    if len(customers) < 2:
        raise BacktestError("fewer than two customers bought on or before calibration-end")
    summary = summarize(customers, calibration_end)
    if not np.any(summary.frequency > 0):
        raise BacktestError("no customer bought twice on or before calibration-end")
    horizon = (holdout_end - calibration_end).days / DAYS_PER_WEEK
    actual = purchases_between(customers, calibration_end, holdout_end)

    params = bgnbd.fit(summary.frequency, summary.recency, summary.age)
    spend_params = gamma_gamma.fit(summary.frequency, summary.monetary)
    features = ltv_features(customers, calibration_end, params, horizon)
    learned = fit_learned_model(customers, calibration_end, seed=seed).predict_purchases(features)
    predictions = {
        "bgnbd": features.expected_purchases,
        "learned": learned,
        "blend": (features.expected_purchases + learned) / 2,
    }
    candidates = [holdout_figures(name, predictions[name], actual) for name in CANDIDATES]
    chosen = choose_candidate(candidates)
    naive = np.where(summary.age > 0, summary.frequency / np.maximum(summary.age, 1e-9), 0.0) * horizon

    amount = gamma_gamma.expected_amount(spend_params, summary.frequency, summary.monetary)
    p_alive = bgnbd.probability_alive(params, summary.frequency, summary.recency, summary.age)
    gap = lapse_gap_weeks(purchase_gaps(customers, calibration_end))
    risk = churn_risk(params, summary, gap)
    observed_mean_amount = np.where(summary.frequency > 0, summary.monetary, summary.first_amount)
    return BacktestResult(
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        holdout_weeks=horizon,
        customers=len(customers),
        bgnbd_params=params,
        gamma_gamma_params=spend_params,
        candidates=tuple(candidates),
        baseline=holdout_figures("naive", naive, actual),
        chosen=chosen,
        candidate_purchases=predictions,
        predictions=CustomerPredictions(
            summary.customer_ids, predictions[chosen], p_alive, predictions[chosen] * amount, risk.risk
        ),
        value_predicted=float((predictions[chosen] * amount).sum()),
        value_actual=float(spend_between(customers, calibration_end, holdout_end).sum()),
        value_baseline=float((naive * observed_mean_amount).sum()),
        churn=_churn_figures(risk.risk, risk.weeks_to_lapse, customers, calibration_end, gap, horizon),
    )
