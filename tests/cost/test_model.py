"""The cost model's arithmetic on hand-computed cases."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cost.metering import read_units, write_units
from cost.model import (
    CALL_LATENCY_MS,
    PLATFORM_LOG_BYTES,
    Scenario,
    UnitFigures,
    expiry_period_minutes,
    fit_linear,
    kept_snapshots,
    lambda_ms,
    load_prices,
    monthly_cost,
    xray_traces,
)

PRICES = load_prices()


def nothing_but_requests(events_per_request: float) -> UnitFigures:
    """Unit figures where only the request count costs anything."""
    return UnitFigures(
        events_per_request=events_per_request,
        request_bytes=500,
        ingest_cpu_ms=(0.0, 0.0),
        ingest_calls_per_request={},
        ingest_log_bytes=0.0,
        records_per_event=1.0,
        record_bytes=0.0,
        record_kb_units=0.0,
        record_payload_units=0.0,
        enrich_cpu_ms=(0.0, 0.0, 0.0, 0.0),
        enrich_calls={},
        enrich_log_bytes=0.0,
        wru_per_batch=0.0,
        wru_per_visitor_batch=0.0,
        rru_per_batch=0.0,
        rru_per_visitor_batch=0.0,
        commits_per_batch=0.0,
        s3_tier1_per_commit=0.0,
        s3_tier2_per_commit=0.0,
        s3_bytes_per_commit=0.0,
        glue_per_commit=0.0,
        metric_names=0,
        hourly_profile=[1 / 24] * 24,
        sessions=[[0.0]],
    )


def test_prices_are_per_single_unit() -> None:
    assert PRICES["lambda_request"] == pytest.approx(0.2 / 1e6)
    assert PRICES["apigw_http_request_first_300m"] == pytest.approx(1e-6)
    assert PRICES["s3_standard_tier1_request"] == pytest.approx(0.005 / 1000)
    assert PRICES["dynamodb_on_demand_wru"] == pytest.approx(0.625 / 1e6)


def test_request_units_follow_dynamodb_rules() -> None:
    assert write_units(100, transactional=False) == 1
    assert write_units(1024, transactional=False) == 1
    assert write_units(1025, transactional=False) == 2
    assert write_units(3 * 1024, transactional=True) == 6  # AWS's own example: 3 KB in a transaction
    assert write_units(0, transactional=True) == 2
    assert read_units(8 * 1024, consistent=True) == 2
    assert read_units(8 * 1024, consistent=False) == 1
    assert read_units(0, consistent=False) == 0.5  # a missing item still costs the minimum


def test_api_gateway_cost_from_request_count_and_tier() -> None:
    units = nothing_but_requests(events_per_request=2)
    scenario = Scenario(xray=False, edge=False)
    cost = monthly_cost(units, 1e6, scenario, PRICES)
    assert cost.requests == pytest.approx(500_000)
    assert cost.lines["API Gateway HTTP API requests"] == pytest.approx(0.50)
    assert cost.lines["Lambda ingest requests"] == pytest.approx(0.10)
    # 1B requests: 300M at $1.00 and 700M at $0.90 a million.
    big = monthly_cost(nothing_but_requests(1), 1e9, scenario, PRICES)
    assert big.lines["API Gateway HTTP API requests"] == pytest.approx(300 + 630)


def test_edge_adds_cloudfront_and_waf_per_request() -> None:
    units = nothing_but_requests(events_per_request=4)
    cost = monthly_cost(units, 100e6, Scenario(xray=False, edge=True), PRICES)
    assert cost.lines["CloudFront requests (/v1/*)"] == pytest.approx(25.0)  # 25M requests at $1/M
    assert cost.lines["WAF requests"] == pytest.approx(15.0)  # at $0.60/M
    assert cost.fixed["WAF web ACL and rules"] == pytest.approx(5 + 3)


def test_dynamodb_and_lake_cost_per_batch_and_visitor_batch() -> None:
    units = replace(
        nothing_but_requests(1),
        wru_per_batch=4.0,
        wru_per_visitor_batch=10.0,
        commits_per_batch=1.0,
        s3_tier1_per_commit=10.0,
        s3_tier2_per_commit=10.0,
        sessions=[[0.0]],
    )
    cost = monthly_cost(units, 1e6, Scenario(xray=False, edge=False), PRICES)
    expected_wru = cost.batches * 4 + cost.visitor_batches * 10
    assert cost.lines["DynamoDB write request units"] == pytest.approx(expected_wru * 0.625 / 1e6)
    assert cost.lines["S3 lake requests"] == pytest.approx(cost.batches * (10 * 0.005 + 10 * 0.0004) / 1000)
    # One-event visits: every event is its own visitor-batch.
    assert cost.visitor_batches == pytest.approx(1e6, rel=0.02)


def test_fixed_costs_spread_over_volume() -> None:
    units = nothing_but_requests(1)
    scenario = Scenario(xray=False, edge=False)
    small = monthly_cost(units, 1e6, scenario, PRICES)
    large = monthly_cost(units, 100e6, scenario, PRICES)
    stream_hours = 720 * 0.04
    assert small.fixed["Kinesis stream-hours (on-demand)"] == pytest.approx(stream_hours)
    assert small.per_million > large.per_million
    provisioned = monthly_cost(
        units, 1e6, replace(scenario, stream_mode="provisioned", provisioned_shards=2), PRICES
    )
    assert provisioned.fixed["Kinesis shard-hours (provisioned)"] == pytest.approx(2 * 720 * 0.015)
    assert provisioned.shards == 2


def test_lambda_duration_scales_cpu_by_memory_and_adds_call_latency() -> None:
    # 10 ms of one core at 512 MB is 10 x 1769/512 = 34.55 ms; one PutRecords waits 20 ms.
    assert lambda_ms(10.0, {"kinesis:PutRecords": 1}, 512, 1.0) == 55
    assert lambda_ms(10.0, {}, 2048, 1.0) == 10  # more than a vCPU does not make one thread faster
    assert CALL_LATENCY_MS["kinesis:PutRecords"] == 20
    assert PLATFORM_LOG_BYTES > 0


def test_kept_snapshots_follow_the_commit_rate_and_the_expiry_schedule() -> None:
    # One commit a second; snapshots live 10 minutes plus, on average, half of the 5-minute period.
    assert expiry_period_minutes() == 5
    assert kept_snapshots(30 * 24 * 3600) == pytest.approx(60 * 12.5, rel=0.02)
    assert kept_snapshots(0) == 1, "the current snapshot is always there"


def test_each_kept_snapshot_adds_enrich_cpu_per_batch() -> None:
    base = replace(nothing_but_requests(1), commits_per_batch=1.0, enrich_cpu_ms=(100.0, 0.0, 0.0, 0.0))
    scenario = Scenario(xray=False, edge=False, enrich_memory_mb=1769)
    flat = monthly_cost(base, 100e6, scenario, PRICES)
    growing = monthly_cost(replace(base, enrich_cpu_ms=(100.0, 0.0, 0.0, 1.0)), 100e6, scenario, PRICES)
    snapshots = kept_snapshots(flat.batches)
    assert snapshots > 10
    assert growing.lines["Lambda enrich GB-s"] / flat.lines["Lambda enrich GB-s"] == pytest.approx(
        (100 + snapshots) / 100, rel=0.02
    )


def test_lambda_gb_seconds_priced_at_arm64_rate() -> None:
    units = replace(nothing_but_requests(1), ingest_cpu_ms=(100.0, 0.0))
    scenario = Scenario(xray=False, edge=False, ingest_memory_mb=1769)
    cost = monthly_cost(units, 1e6, scenario, PRICES)
    # 1M invocations x 0.1 s x 1769/1024 GB x $0.0000133334.
    assert cost.lines["Lambda ingest GB-s"] == pytest.approx(1e6 * 0.1 * 1769 / 1024 * 0.0000133334)


def test_xray_default_sampling() -> None:
    # Under one request a second every request is traced; above it, 1 a second plus 5 % of the rest.
    assert xray_traces([0.5] * 24) == pytest.approx(0.5 * 86_400 * 30)
    assert xray_traces([21.0] * 24) == pytest.approx((1 + 0.05 * 20) * 86_400 * 30)


def test_fit_linear_recovers_coefficients_and_never_goes_negative() -> None:
    rows = [[1.0, x] for x in range(10)]
    assert fit_linear(rows, [2 + 3 * x for x in range(10)]) == pytest.approx([2.0, 3.0])
    # A decreasing series would need a negative slope: the slope is dropped instead.
    slope_free = fit_linear(rows, [10 - x for x in range(10)])
    assert min(slope_free) >= 0
