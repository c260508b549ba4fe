"""A small measured run: simulated visitors through the real handlers on the emulator."""

from __future__ import annotations

import pytest

from cost.measure import measure
from cost.model import Scenario, load_prices, monthly_cost, unit_figures


@pytest.mark.integration
def test_measured_run_gives_positive_plausible_figures() -> None:
    m = measure(visitors=12, days=1, seed=5)
    assert m.events > 0 and m.requests > 0
    assert m.events >= m.requests  # a request carries at least one event
    # One Kinesis record per (request, visitor): at most one per request here (one device each).
    assert m.stream.records == m.requests
    assert m.stream.kb_units >= m.stream.records
    assert len(m.enrich) > 0 and m.lake_commits > 0
    assert all(i.cpu_ms > 0 for i in m.ingest + m.enrich)
    assert m.s3_requests.get("tier1", 0) > 0  # the lake's files reached the emulator's S3
    assert sum(m.dynamo_wru.values()) > 0 and sum(m.dynamo_rru.values()) > 0
    assert m.metric_names  # Powertools' EMF metrics were captured from stdout

    units = unit_figures(m)
    assert 1 <= units.events_per_request <= 100
    assert units.records_per_event == pytest.approx(1 / units.events_per_request)
    assert 200 < units.record_bytes < 32 * 1024
    # A visitor-batch writes at least the profile (one conditional put, 1 WRU per KB, no transaction).
    assert units.wru_per_visitor_batch >= 1
    assert units.wru_per_batch >= 2  # the counters transaction
    assert units.s3_tier1_per_commit >= 2  # at least a data file and a metadata file
    assert 0 < units.measured_visitor_batches_per_event <= 1

    prices = load_prices()
    costs = [monthly_cost(units, v, Scenario(), prices) for v in (1e6, 100e6)]
    assert all(c.total > 0 for c in costs)
    assert costs[0].per_million > costs[1].per_million  # fixed and per-batch costs spread out
