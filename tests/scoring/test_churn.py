"""Churn risk: the lapse point from the store's repeat gaps, and the risk of no purchase before it."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from reviva.scoring import bgnbd
from reviva.scoring.churn import churn_risk, lapse_gap_weeks
from reviva.scoring.customer_summary import CustomerHistory, summarize

PARAMS = bgnbd.BgNbdParameters(r=0.5, alpha=6.0, a=0.8, b=2.5)


def test_the_lapse_gap_is_the_90th_percentile_of_repeat_gaps() -> None:
    assert lapse_gap_weeks(np.arange(1.0, 11.0)) == pytest.approx(9.1)
    with pytest.raises(ValueError, match="no customer bought twice"):
        lapse_gap_weeks(np.array([]))


def test_risk_is_one_past_the_lapse_point_and_the_bgnbd_probability_before_it() -> None:
    histories = [
        CustomerHistory("recent", (date(2024, 1, 1), date(2024, 3, 25)), (5.0, 5.0)),
        CustomerHistory("lapsed", (date(2024, 1, 1), date(2024, 1, 8)), (5.0, 5.0)),
        CustomerHistory("once", (date(2024, 3, 18),), (5.0,)),
    ]
    summary = summarize(histories, date(2024, 4, 1))
    result = churn_risk(PARAMS, summary, lapse_gap=4.0)
    assert result.weeks_to_lapse.tolist() == pytest.approx([3.0, 4.0 - 12.0, 2.0])
    assert result.risk[1] == 1.0
    expected = bgnbd.probability_no_purchase(
        PARAMS, np.array([3.0, 2.0]), summary.frequency[[0, 2]], summary.recency[[0, 2]], summary.age[[0, 2]]
    )
    assert result.risk[[0, 2]].tolist() == pytest.approx(expected.tolist())
    assert 0 < result.risk[0] < 1 and 0 < result.risk[2] < 1
