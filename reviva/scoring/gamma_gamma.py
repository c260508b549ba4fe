"""Gamma-Gamma spend model (Fader, Hardie and Lee 2005, "RFM and CLV"; Colombo and Jiang 1999).

A customer's purchase amounts are Gamma(p, nu) around their own mean, with nu ~ Gamma(q, gamma) across
customers (`v` is the literature's gamma). Fitted on the customers with repeat purchases, on their
number x of repeat purchases and their mean repeat amount m; independent of the purchase process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln

from reviva.scoring.bgnbd import FitError
from reviva.scoring.customer_summary import FloatArray


@dataclass(frozen=True)
class GammaGammaParameters:
    """Amount shape p; the scale's population Gamma(q, v)."""

    p: float
    q: float
    v: float

    @property
    def population_mean_amount(self) -> float:
        """E[amount] for a customer we know nothing about: p v / (q - 1), infinite when q <= 1."""
        return self.p * self.v / (self.q - 1) if self.q > 1 else float("inf")


def log_likelihood(params: GammaGammaParameters, frequency: FloatArray, monetary: FloatArray) -> FloatArray:
    """Each customer's log-likelihood of their mean amount m over x purchases."""
    p, q, v = params.p, params.q, params.v
    x, m = frequency, monetary
    return (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(x * m + v)
    )


def fit(frequency: FloatArray, monetary: FloatArray) -> GammaGammaParameters:
    """Maximum-likelihood parameters from the customers with repeats and a positive mean amount."""
    usable = (frequency > 0) & (monetary > 0)
    x, m = frequency[usable], monetary[usable]
    if len(x) == 0:
        raise FitError("Gamma-Gamma needs customers with repeat purchases of a positive amount")

    def negative_mean_log_likelihood(log_params: FloatArray) -> float:
        return -float(np.mean(log_likelihood(GammaGammaParameters(*np.exp(log_params)), x, m)))

    result = minimize(negative_mean_log_likelihood, np.zeros(3), method="L-BFGS-B", options={"maxiter": 2000})
    if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun):
        raise FitError(f"Gamma-Gamma fit did not converge: {result.message}")
    return GammaGammaParameters(*(float(value) for value in np.exp(result.x)))


def expected_amount(params: GammaGammaParameters, frequency: FloatArray, monetary: FloatArray) -> FloatArray:
    """E[a purchase's amount | x, m]: the population mean and the customer's own, weighted by x.

    A customer without a usable mean (no repeat, or only zero amounts) gets the population mean.
    """
    p, q, v = params.p, params.q, params.v
    usable = (frequency > 0) & (monetary > 0)
    x = np.where(usable, frequency, 0.0)
    m = np.where(usable, monetary, 0.0)
    return p * (v + x * m) / (p * x + q - 1)
