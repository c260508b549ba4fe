"""BG/NBD (Fader, Hardie and Lee 2005, "Counting your customers the easy way"): repeat purchases and
the probability that a customer is still active, fitted by maximum likelihood.

While active, a customer buys as a Poisson process of rate lambda ~ Gamma(r, alpha); after each purchase
they drop out for good with probability p ~ Beta(a, b). A customer is described by their repeat
purchases x, the age at their last purchase t_x and their age T (weeks in this package).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

from reviva.scoring.customer_summary import FloatArray


class FitError(RuntimeError):
    """The likelihood could not be maximised (no data, or the optimiser failed)."""


@dataclass(frozen=True)
class BgNbdParameters:
    """The four population parameters: purchase rate Gamma(r, alpha), dropout Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


def log_likelihood(
    params: BgNbdParameters, frequency: FloatArray, recency: FloatArray, age: FloatArray
) -> FloatArray:
    """Each customer's log-likelihood (equation 6 of the paper, in logs for stability)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = frequency, recency, age
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    still_active = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        dropped_after_last = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return common + np.logaddexp(still_active, dropped_after_last)


def fit(frequency: FloatArray, recency: FloatArray, age: FloatArray) -> BgNbdParameters:
    """The maximum-likelihood parameters (L-BFGS-B on their logs, from all ones)."""
    if len(frequency) == 0:
        raise FitError("BG/NBD needs at least one customer")

    def negative_mean_log_likelihood(log_params: FloatArray) -> float:
        params = BgNbdParameters(*np.exp(log_params))
        return -float(np.mean(log_likelihood(params, frequency, recency, age)))

    result = minimize(negative_mean_log_likelihood, np.zeros(4), method="L-BFGS-B", options={"maxiter": 2000})
    if not np.all(np.isfinite(result.x)) or not np.isfinite(result.fun):
        raise FitError(f"BG/NBD fit did not converge: {result.message}")
    return BgNbdParameters(*(float(v) for v in np.exp(result.x)))


def _dropout_odds(
    params: BgNbdParameters, frequency: FloatArray, recency: FloatArray, age: FloatArray
) -> FloatArray:
    """Odds that the customer dropped out right after their last purchase rather than being active."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = frequency
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + age) - np.log(alpha + recency))
    return np.where(x > 0, np.exp(np.where(x > 0, log_odds, 0.0)), 0.0)


def probability_alive(
    params: BgNbdParameters, frequency: FloatArray, recency: FloatArray, age: FloatArray
) -> FloatArray:
    """P(the customer is still active at age T | x, t_x, T)."""
    return 1.0 / (1.0 + _dropout_odds(params, frequency, recency, age))


def expected_purchases(
    params: BgNbdParameters, horizon: float, frequency: FloatArray, recency: FloatArray, age: FloatArray
) -> FloatArray:
    """E[repeat purchases in (T, T + horizon] | x, t_x, T] (equation 10 of the paper)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, T = frequency, age
    z = horizon / (alpha + T + horizon)
    unconditional_part = 1.0 - ((alpha + T) / (alpha + T + horizon)) ** (r + x) * hyp2f1(
        r + x, b + x, a + b + x - 1, z
    )
    scale = (a + b + x - 1) / (a - 1)
    return scale * unconditional_part / (1.0 + _dropout_odds(params, frequency, recency, age))


def probability_no_purchase(
    params: BgNbdParameters, horizon: FloatArray, frequency: FloatArray, recency: FloatArray, age: FloatArray
) -> FloatArray:
    """P(no purchase in (T, T + horizon] | x, t_x, T): dropped out already, or active and not buying.

    An active customer only drops out right after a purchase, so one who makes none stays active;
    their rate's posterior is Gamma(r + x, alpha + T), whence the Laplace transform below.
    """
    alive = probability_alive(params, frequency, recency, age)
    quiet_if_alive = ((params.alpha + age) / (params.alpha + age + horizon)) ** (params.r + frequency)
    return 1.0 - alive + alive * quiet_if_alive
