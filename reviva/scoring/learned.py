"""The learned lifetime-value model: gradient boosting on each customer's RFM features that corrects
BG/NBD's expected purchases, trained with time splits inside the calibration window only.

Why a correction and not a direct count: inside the calibration window the model can only see
horizons shorter than the one it must predict (a 39-week calibration cannot hold a 39-week target
after customers are born). BG/NBD carries the horizon; the boosted trees learn, per customer, by
how much its expectation was off over the inner horizons (Poisson loss on actual / expected,
weighted by expected: the same fit as a Poisson model with log(expected) as its offset).

Inner cutoffs: a third, a half and two thirds of the calibration window before its end; at each,
BG/NBD is refitted on the history up to the cutoff, the features are taken as of the cutoff, and
the target is the purchases from the cutoff to the calibration end. Nothing after the calibration
end is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from reviva.scoring import bgnbd
from reviva.scoring.customer_summary import (
    DAYS_PER_WEEK,
    CustomerHistory,
    FloatArray,
    customers_born_by,
    purchases_between,
    summarize,
)

FEATURE_NAMES = (
    "repeat_purchases",
    "weeks_first_to_last",
    "weeks_since_first",
    "weeks_since_last",
    "mean_repeat_amount",
    "first_amount",
    "purchases_last_4_weeks",
    "purchases_last_13_weeks",
    "bgnbd_probability_alive",
    "bgnbd_weekly_rate",
)
INNER_CUTOFF_FRACTIONS = (1 / 3, 1 / 2, 2 / 3)
MIN_EXPECTED = 1e-9  # BG/NBD's expectation is positive; this only guards a division


@dataclass(frozen=True)
class LtvFeatures:
    """The feature matrix (rows in the order of the histories, columns FEATURE_NAMES) and BG/NBD's
    expected purchases over the horizon, the offset the model corrects."""

    matrix: FloatArray
    expected_purchases: FloatArray


def ltv_features(
    histories: list[CustomerHistory], cutoff: date, params: bgnbd.BgNbdParameters, horizon_weeks: float
) -> LtvFeatures:
    """The one feature definition, used for the inner training cutoffs and for prediction alike."""
    summary = summarize(histories, cutoff)
    x, t_x, age = summary.frequency, summary.recency, summary.age
    expected = bgnbd.expected_purchases(params, horizon_weeks, x, t_x, age)
    matrix = np.column_stack(
        [
            x,
            t_x,
            age,
            age - t_x,
            summary.monetary,
            summary.first_amount,
            purchases_between(histories, cutoff - timedelta(weeks=4), cutoff),
            purchases_between(histories, cutoff - timedelta(weeks=13), cutoff),
            bgnbd.probability_alive(params, x, t_x, age),
            expected / horizon_weeks,
        ]
    )
    return LtvFeatures(matrix, expected)


def _new_regressor(seed: int) -> HistGradientBoostingRegressor:
    # Small trees and large leaves: a few thousand customers, a noisy count target.
    return HistGradientBoostingRegressor(
        loss="poisson",
        learning_rate=0.05,
        max_iter=200,
        max_leaf_nodes=8,
        min_samples_leaf=40,
        early_stopping=False,
        random_state=seed,
    )


@dataclass(frozen=True)
class LearnedLtvModel:
    """A fitted correction of BG/NBD's expected purchases."""

    regressor: HistGradientBoostingRegressor

    def predict_purchases(self, features: LtvFeatures) -> FloatArray:
        """Expected purchases over the horizon the features were built for."""
        with threadpool_limits(limits=1, user_api="openmp"):
            correction = np.asarray(self.regressor.predict(features.matrix), dtype=float)
        return features.expected_purchases * correction


def inner_cutoffs(first_purchase: date, calibration_end: date) -> list[date]:
    """The training cutoffs: fixed fractions of the calibration window back from its end."""
    window_days = (calibration_end - first_purchase).days
    return sorted({calibration_end - timedelta(days=round(window_days * f)) for f in INNER_CUTOFF_FRACTIONS})


def fit_learned_model(
    histories: list[CustomerHistory], calibration_end: date, seed: int = 0
) -> LearnedLtvModel:
    """Train on the inner time splits of the calibration window (never on anything after its end)."""
    first_purchase = min(h.days[0] for h in histories)
    matrices, targets, offsets = [], [], []
    for cutoff in inner_cutoffs(first_purchase, calibration_end):
        born = customers_born_by(histories, cutoff)
        if len(born) < 2:
            continue
        summary = summarize(born, cutoff)
        params = bgnbd.fit(summary.frequency, summary.recency, summary.age)
        horizon = (calibration_end - cutoff).days / DAYS_PER_WEEK
        features = ltv_features(born, cutoff, params, horizon)
        matrices.append(features.matrix)
        offsets.append(np.maximum(features.expected_purchases, MIN_EXPECTED))
        targets.append(purchases_between(born, cutoff, calibration_end))
    if not matrices:
        raise bgnbd.FitError("the calibration window is too short to train the learned model")
    offset = np.concatenate(offsets)
    regressor = _new_regressor(seed)
    # One thread: OpenMP threads spin-wait on a busy machine, which made this fit 20 times slower
    # on two shared cores; a few thousand rows gain nothing from more.
    with threadpool_limits(limits=1, user_api="openmp"):
        regressor.fit(np.vstack(matrices), np.concatenate(targets) / offset, sample_weight=offset)
    return LearnedLtvModel(regressor)
