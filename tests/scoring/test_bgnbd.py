"""BG/NBD: the published CDNOW parameters, lifetimes' predictions, and the process it models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter

from reviva.scoring import bgnbd
from reviva.scoring.customer_summary import summarize
from tests.scoring.conftest import CDNOW_CALIBRATION_END
from tests.scoring.simulated_customers import simulate_purchase_weeks

# Fader, Hardie and Lee (2005), table 1: the CDNOW sample, calibration to 1997-09-30, in weeks.
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def cdnow(cdnow_sample_histories: list) -> tuple:
    summary = summarize(cdnow_sample_histories, CDNOW_CALIBRATION_END)
    return summary, bgnbd.fit(summary.frequency, summary.recency, summary.age)


def _lifetimes_with(params: bgnbd.BgNbdParameters) -> BetaGeoFitter:
    fitter = BetaGeoFitter()
    fitter.params_ = pd.Series({"r": params.r, "alpha": params.alpha, "a": params.a, "b": params.b})
    return fitter


def test_the_fit_reproduces_the_published_parameters(cdnow: tuple) -> None:
    _, params = cdnow
    # Published to three decimals: within half a unit of the last digit, plus 0.1 % for the optimiser.
    for name, value in PUBLISHED.items():
        assert getattr(params, name) == pytest.approx(value, abs=0.0005 + 0.001 * value), name


def test_the_fit_matches_lifetimes_fit(cdnow: tuple) -> None:
    summary, params = cdnow
    reference = BetaGeoFitter().fit(summary.frequency, summary.recency, summary.age).params_
    for name in ("r", "alpha", "a", "b"):
        assert getattr(params, name) == pytest.approx(reference[name], rel=1e-3), name


def test_predictions_match_lifetimes_for_the_same_parameters(cdnow: tuple) -> None:
    summary, params = cdnow
    reference = _lifetimes_with(params)
    x, t_x, age = summary.frequency, summary.recency, summary.age
    for horizon in (1.0, 39.0, 104.0):
        np.testing.assert_allclose(
            bgnbd.expected_purchases(params, horizon, x, t_x, age),
            reference.conditional_expected_number_of_purchases_up_to_time(horizon, x, t_x, age),
            rtol=1e-9,
        )
    np.testing.assert_allclose(
        bgnbd.probability_alive(params, x, t_x, age),
        reference.conditional_probability_alive(x, t_x, age),
        rtol=1e-9,
    )


def test_the_log_likelihood_matches_lifetimes(cdnow: tuple) -> None:
    summary, params = cdnow
    ours = bgnbd.log_likelihood(params, summary.frequency, summary.recency, summary.age)
    theirs = -BetaGeoFitter._negative_log_likelihood(
        np.log([params.r, params.alpha, params.a, params.b]),
        summary.frequency,
        summary.recency,
        summary.age,
        np.ones(len(summary)),
        0.0,
    )
    assert float(np.mean(ours)) == pytest.approx(float(theirs), rel=1e-9)


def test_the_fit_recovers_the_parameters_of_simulated_customers() -> None:
    truth = bgnbd.BgNbdParameters(r=0.5, alpha=6.0, a=0.8, b=2.5)
    weeks = simulate_purchase_weeks(truth, 52.0, 8000, seed=3)
    x = np.array([len(w) - 1 for w in weeks], dtype=float)
    t_x = np.array([w[-1] for w in weeks])
    fitted = bgnbd.fit(x, t_x, np.full(len(weeks), 52.0))
    assert fitted.r == pytest.approx(truth.r, rel=0.1)
    assert fitted.alpha == pytest.approx(truth.alpha, rel=0.15)
    assert fitted.a == pytest.approx(truth.a, rel=0.25)
    assert fitted.b == pytest.approx(truth.b, rel=0.3)


def test_no_purchase_probability_and_expectation_agree_with_the_simulated_process() -> None:
    truth = bgnbd.BgNbdParameters(r=0.5, alpha=6.0, a=0.8, b=2.5)
    calibration, horizon = 26.0, 13.0
    weeks = simulate_purchase_weeks(truth, calibration + horizon, 30000, seed=7)
    seen = [[t for t in w if t <= calibration] for w in weeks]
    x = np.array([len(s) - 1 for s in seen], dtype=float)
    t_x = np.array([s[-1] for s in seen])
    age = np.full(len(weeks), calibration)
    later = np.array([sum(1 for t in w if t > calibration) for w in weeks], dtype=float)

    quiet = bgnbd.probability_no_purchase(truth, np.full(len(weeks), horizon), x, t_x, age)
    expected = bgnbd.expected_purchases(truth, horizon, x, t_x, age)
    # Overall and among the repeat buyers (where P(alive) matters); standard errors are ~0.003.
    for group in (np.ones(len(x), dtype=bool), x > 0):
        assert float(quiet[group].mean()) == pytest.approx(float((later[group] == 0).mean()), abs=0.015)
        assert float(expected[group].mean()) == pytest.approx(float(later[group].mean()), rel=0.05)
    assert bgnbd.probability_no_purchase(truth, np.zeros(3), x[:3], t_x[:3], age[:3]) == pytest.approx(1.0)


def test_no_customer_is_an_error() -> None:
    with pytest.raises(bgnbd.FitError):
        bgnbd.fit(np.array([]), np.array([]), np.array([]))
