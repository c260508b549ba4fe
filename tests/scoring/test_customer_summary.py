"""The RFM summary: one purchase per day, weeks as the unit, equal to the published CDNOW summary."""

from __future__ import annotations

import csv
from datetime import date

import numpy as np
import pytest

from reviva.scoring.customer_summary import (
    CustomerHistory,
    histories_from_transactions,
    purchase_gaps,
    purchases_between,
    spend_between,
    summarize,
)
from reviva.scoring.transactions import Transaction
from tests.scoring.conftest import CDNOW_CALIBRATION_END, CDNOW_SAMPLE, LIFETIMES_DATA


def test_purchases_on_one_day_are_one_purchase_of_the_days_total() -> None:
    histories = histories_from_transactions(
        [
            Transaction("b", date(2024, 1, 1), 5),
            Transaction("a", date(2024, 1, 15), 7),
            Transaction("a", date(2024, 1, 1), 10),
            Transaction("a", date(2024, 1, 15), 3),
            Transaction("a", date(2024, 3, 1), 1),
        ]
    )
    assert histories[0] == CustomerHistory(
        "a", (date(2024, 1, 1), date(2024, 1, 15), date(2024, 3, 1)), (10.0, 10.0, 1.0)
    )
    summary = summarize(histories, date(2024, 1, 29))
    assert summary.customer_ids == ("a", "b")
    assert summary.frequency.tolist() == [1, 0]
    assert summary.recency.tolist() == [2, 0]
    assert summary.age.tolist() == [4, 4]
    assert summary.monetary.tolist() == [10, 0]
    assert summary.first_amount.tolist() == [10, 5]
    assert purchases_between(histories, date(2024, 1, 29), date(2024, 3, 1)).tolist() == [1, 0]
    assert spend_between(histories, date(2024, 1, 29), date(2024, 3, 1)).tolist() == [1, 0]
    assert purchase_gaps(histories, date(2024, 3, 1)).tolist() == [2, pytest.approx(46 / 7)]


def test_the_summary_of_the_cdnow_sample_equals_the_published_one(cdnow_sample_histories: list) -> None:
    # The published summary is keyed by the sample's own id, the second column of the file.
    sample_id = {}
    for line in CDNOW_SAMPLE.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        sample_id[fields[0]] = int(fields[1])
    with (LIFETIMES_DATA / "cdnow_customers_summary_with_transactions.csv").open() as handle:
        published = {int(row["ID"]): row for row in csv.DictReader(handle)}

    summary = summarize(cdnow_sample_histories, CDNOW_CALIBRATION_END)
    assert len(summary) == len(published) == 2357
    order = [sample_id[c] for c in summary.customer_ids]
    for column, ours in (
        ("x", summary.frequency),
        ("t_x", summary.recency),
        ("T", summary.age),
        ("zbar", summary.monetary),
    ):
        theirs = np.array([float(published[i][column]) for i in order])
        # The file rounds to two decimals.
        assert np.max(np.abs(ours - theirs)) <= 0.005 + 1e-9, column
