"""The lifetime-value backtest on the CDNOW sample (39-week calibration, 39-week holdout).

The issue's targets are per-customer MAE below 0.75, total within ±5 % and return AUC ≥ 0.80.
What the candidates reach is asserted as measured; the targets they miss are a strict xfail, so
the day a change meets them this file says so.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from reviva.scoring.backtest import (
    BacktestError,
    BacktestResult,
    HoldoutFigures,
    choose_candidate,
    run_backtest,
)
from reviva.scoring.customer_summary import CustomerHistory
from tests.scoring.conftest import CDNOW_CALIBRATION_END, CDNOW_HOLDOUT_END


@pytest.fixture(scope="module")
def cdnow_backtest(cdnow_sample_histories: list[CustomerHistory]) -> BacktestResult:
    return run_backtest(cdnow_sample_histories, CDNOW_CALIBRATION_END, CDNOW_HOLDOUT_END)


def test_bgnbd_alone_gives_the_known_cdnow_holdout_figures(cdnow_backtest: BacktestResult) -> None:
    figures = cdnow_backtest.figures("bgnbd")
    assert cdnow_backtest.customers == 2357
    assert figures.total_actual == 1882  # repeat purchase days in the 39 holdout weeks
    assert figures.mae == pytest.approx(0.785, abs=0.002)
    assert figures.total_error == pytest.approx(-0.121, abs=0.002)
    assert figures.return_auc == pytest.approx(0.773, abs=0.002)


def test_the_learned_model_brings_the_total_within_five_percent_and_is_chosen(
    cdnow_backtest: BacktestResult,
) -> None:
    learned = cdnow_backtest.figures("learned")
    assert abs(learned.total_error) <= 0.05
    assert cdnow_backtest.chosen == "learned"
    # Every candidate beats the naive baseline on MAE and RMSE.
    for figures in cdnow_backtest.candidates:
        assert figures.mae < cdnow_backtest.baseline.mae
        assert figures.rmse < cdnow_backtest.baseline.rmse
    np.testing.assert_array_equal(
        cdnow_backtest.predictions.predicted_purchases, cdnow_backtest.candidate_purchases["learned"]
    )
    assert np.all(cdnow_backtest.predictions.predicted_purchases > 0)


@pytest.mark.xfail(
    strict=True, reason="not reached on CDNOW: see docs/intelligence.md, 'What the targets need'"
)
def test_the_issue_targets_on_cdnow(cdnow_backtest: BacktestResult) -> None:
    chosen = cdnow_backtest.figures(cdnow_backtest.chosen)
    assert chosen.mae < 0.75
    assert abs(chosen.total_error) <= 0.05
    assert chosen.return_auc is not None and chosen.return_auc >= 0.80


def test_churn_risk_ranks_who_lapses_inside_the_holdout(cdnow_backtest: BacktestResult) -> None:
    churn = cdnow_backtest.churn
    assert churn.customers_scored > 500
    assert churn.auc is not None and churn.auc >= 0.8
    assert churn.mean_risk == pytest.approx(churn.lapsed_share, abs=0.05)
    risk = cdnow_backtest.predictions.churn_risk
    assert np.all((risk >= 0) & (risk <= 1))


def test_nothing_after_the_calibration_end_is_fitted_on(
    cdnow_sample_histories: list[CustomerHistory],
) -> None:
    # Drop every holdout purchase: the predictions must not move (only the scores do).
    truncated = []
    for history in cdnow_sample_histories:
        kept = [i for i, day in enumerate(history.days) if day <= CDNOW_CALIBRATION_END]
        truncated.append(
            CustomerHistory(
                history.customer_id,
                tuple(history.days[i] for i in kept),
                tuple(history.amounts[i] for i in kept),
            )
        )
    blind = run_backtest(truncated, CDNOW_CALIBRATION_END, CDNOW_HOLDOUT_END)
    seen = run_backtest(cdnow_sample_histories, CDNOW_CALIBRATION_END, CDNOW_HOLDOUT_END)
    for candidate in ("bgnbd", "learned", "blend"):
        np.testing.assert_array_equal(
            blind.candidate_purchases[candidate], seen.candidate_purchases[candidate]
        )
    for name in ("p_alive", "churn_risk"):
        np.testing.assert_array_equal(getattr(blind.predictions, name), getattr(seen.predictions, name))
    assert blind.figures("bgnbd").total_actual == 0


def _figures(name: str, mae: float, total_error: float) -> HoldoutFigures:
    return HoldoutFigures(name, mae, 1.0, 100 * (1 + total_error), 100.0, 0.7)


def test_the_choice_rule() -> None:
    within = [_figures("a", 0.80, -0.12), _figures("b", 0.82, 0.04), _figures("c", 0.79, -0.05)]
    assert choose_candidate(within) == "c"
    assert choose_candidate([replace(within[2], total_predicted=94.0), within[0], within[1]]) == "b"
    assert choose_candidate([within[0], _figures("d", 0.7, 0.2)]) == "a"


def test_windows_and_data_that_make_no_backtest() -> None:
    history = [CustomerHistory("a", (date(2024, 1, 1), date(2024, 2, 1)), (1.0, 1.0))]
    with pytest.raises(BacktestError, match="after calibration-end"):
        run_backtest(history, date(2024, 3, 1), date(2024, 3, 1))
    with pytest.raises(BacktestError, match="fewer than two"):
        run_backtest(history, date(2024, 3, 1), date(2024, 6, 1))
