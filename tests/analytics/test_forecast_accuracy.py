"""The trend forecast holds up against statsforecast's AutoETS on generated daily series.

SERIES series (every kind in equal shares, see forecast_reference.py): a few tens of seconds on
two shared cores, most of it AutoETS. The 1,200-series figures in docs/api-analytics.md come from
`python -m tests.analytics.forecast_reference`.
"""

from __future__ import annotations

import pytest

from tests.analytics.forecast_reference import KINDS, Comparison, generate, score

SERIES = 100


@pytest.mark.slow
def test_mase_within_ten_percent_of_autoets_and_an_honest_95_percent_band() -> None:
    scores = score(generate(SERIES))
    assert {s.kind for s in scores} == set(KINDS)
    result = Comparison.of(scores)
    summary = (
        f"MASE ours {result.mase_ours:.3f}, AutoETS {result.mase_autoets:.3f}, "
        f"seasonal naive {result.mase_seasonal_naive:.3f}; coverage {result.coverage_ours:.3f}"
    )
    assert result.mase_ours <= 1.10 * result.mase_autoets, summary
    assert result.mase_ours < result.mase_seasonal_naive, summary
    assert 0.92 <= result.coverage_ours <= 0.97, summary
