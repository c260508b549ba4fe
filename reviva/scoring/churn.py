"""Churn risk: the probability that a customer makes no purchase before their lapse point.

The lapse point of a customer is their last purchase plus the store's lapse gap, the 90th
percentile of the gaps between consecutive purchase days in the calibration window (all customers
pooled): by then the customer has gone longer without buying than 90 % of the store's observed
repeat gaps. Churn risk is BG/NBD's P(no purchase in (now, lapse point]); a customer whose lapse
point has already passed without a purchase has lapsed, and their risk is 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reviva.scoring import bgnbd
from reviva.scoring.customer_summary import CustomerSummary, FloatArray

LAPSE_GAP_QUANTILE = 0.9


@dataclass(frozen=True)
class ChurnRisk:
    """Per customer: weeks from the cutoff to the lapse point (≤ 0: lapsed) and the churn risk."""

    weeks_to_lapse: FloatArray
    risk: FloatArray


def lapse_gap_weeks(gaps: FloatArray) -> float:
    """The store's lapse gap from its observed repeat gaps (weeks); needs at least one gap."""
    if len(gaps) == 0:
        raise ValueError("no customer bought twice in the calibration window: no lapse gap")
    return float(np.quantile(gaps, LAPSE_GAP_QUANTILE))


def churn_risk(params: bgnbd.BgNbdParameters, summary: CustomerSummary, lapse_gap: float) -> ChurnRisk:
    """Each customer's churn risk as of the summary's cutoff."""
    weeks_since_last = summary.age - summary.recency
    weeks_to_lapse = lapse_gap - weeks_since_last
    horizon = np.maximum(weeks_to_lapse, 0.0)
    quiet = bgnbd.probability_no_purchase(params, horizon, summary.frequency, summary.recency, summary.age)
    return ChurnRisk(weeks_to_lapse, np.where(weeks_to_lapse > 0, quiet, 1.0))
