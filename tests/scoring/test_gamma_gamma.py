"""Gamma-Gamma: the published CDNOW parameters and lifetimes' conditional expected amounts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes import GammaGammaFitter

from reviva.scoring import gamma_gamma
from reviva.scoring.bgnbd import FitError
from reviva.scoring.customer_summary import summarize
from tests.scoring.conftest import CDNOW_CALIBRATION_END

# Fader, Hardie and Lee (2005), "RFM and CLV": the CDNOW sample's repeat buyers (946 of them).
PUBLISHED = {"p": 6.25, "q": 3.74, "v": 15.44}


def test_the_fit_reproduces_the_published_parameters_and_lifetimes(cdnow_sample_histories: list) -> None:
    summary = summarize(cdnow_sample_histories, CDNOW_CALIBRATION_END)
    params = gamma_gamma.fit(summary.frequency, summary.monetary)
    for name, value in PUBLISHED.items():
        # Published to two decimals: half a unit of the last digit, plus 0.1 % for the optimiser.
        assert getattr(params, name) == pytest.approx(value, abs=0.005 + 0.001 * value), name

    repeaters = summary.frequency > 0
    reference = GammaGammaFitter().fit(summary.frequency[repeaters], summary.monetary[repeaters])
    for name in ("p", "q", "v"):
        assert getattr(params, name) == pytest.approx(reference.params_[name], rel=1e-3), name

    fitter = GammaGammaFitter()
    fitter.params_ = pd.Series({"p": params.p, "q": params.q, "v": params.v})
    np.testing.assert_allclose(
        gamma_gamma.expected_amount(params, summary.frequency, summary.monetary),
        fitter.conditional_expected_average_profit(summary.frequency, summary.monetary),
        rtol=1e-9,
    )
    assert params.population_mean_amount == pytest.approx(params.p * params.v / (params.q - 1))


def test_customers_without_a_usable_mean_get_the_population_mean() -> None:
    params = gamma_gamma.GammaGammaParameters(p=6.0, q=4.0, v=15.0)
    amounts = gamma_gamma.expected_amount(params, np.array([0.0, 3.0]), np.array([0.0, 0.0]))
    assert amounts.tolist() == pytest.approx([30.0, 30.0])


def test_no_repeat_buyer_is_an_error() -> None:
    with pytest.raises(FitError):
        gamma_gamma.fit(np.array([0.0, 0.0]), np.array([0.0, 0.0]))
