"""The CDNOW files the `lifetimes` wheel ships (a test-only dependency: the reference implementation)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import lifetimes.datasets
import pytest

from reviva.scoring.customer_summary import CustomerHistory, histories_from_transactions
from reviva.scoring.transactions import parse_transactions

LIFETIMES_DATA = Path(lifetimes.datasets.__file__).parent
CDNOW_SAMPLE = LIFETIMES_DATA / "CDNOW_sample.txt"
CDNOW_CALIBRATION_END = date(1997, 9, 30)
CDNOW_HOLDOUT_END = date(1998, 6, 30)


@pytest.fixture(scope="session")
def cdnow_sample_histories() -> list[CustomerHistory]:
    """The 2,357-customer CDNOW sample, parsed by our own parser."""
    parsed = parse_transactions(CDNOW_SAMPLE.read_text(encoding="utf-8"))
    assert parsed.problems == []
    return histories_from_transactions(parsed.transactions)
