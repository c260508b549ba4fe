"""The AWS cost of the ingest → enrich → store path, from measured unit figures and list prices.

`unit_figures` turns a `cost.measure.Measurement` into per-request, per-event, per-batch,
per-visitor-batch and per-commit figures; `monthly_cost` prices a month's volume under a
`Scenario` (batching window, shard mode, memory sizes, tracing, edge). Nothing here calls AWS.

Local duration → Lambda arm64 (the assumption, stated once): a handler's billed duration is its
CPU time measured here (the handler thread only, so moto's own work is excluded), scaled by the
share of a vCPU Lambda gives its memory size (1,769 MB = one vCPU, so 512 MB runs CPU-bound code
about 3.5x slower than one full core) and by `arm_speed_factor` (Graviton vs. this machine's core,
1.0 by default), plus the time spent waiting on AWS: each measured call x an assumed same-region
latency (`CALL_LATENCY_MS`). Billed in 1 ms increments.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cost.batching import SECONDS_PER_MONTH, hourly_rates, monthly_batching, shards_for
from reviva.adapters.lake.maintenance import SNAPSHOT_RETENTION
from reviva.enrich.service import VISITOR_WRITERS
from reviva.topology import SCHEDULES, STREAM_MAPPINGS, function_spec, rate_seconds

PRICES_FILE = Path(__file__).with_name("prices-us-east-1.json")
FULL_VCPU_MB = 1769
GB = 1024**3
HOURS_PER_MONTH = SECONDS_PER_MONTH / 3600
ON_DEMAND_MIN_SHARDS = 4  # on-demand streams start at 4 MB/s, 4,000 records/s (4 shards' worth)
SHARD_HEADROOM = 2.0  # provisioned shards are sized for twice the busiest hour's rate

# Issue 3 prices "the ingest -> enrich -> store path" from requests, Kinesis, Lambda, DynamoDB and
# S3/lake writes: the target applies to these lines. The edge (CloudFront, WAF) and operations
# (logs, traces, metrics, alarms, secrets) are priced too and reported beside it, never hidden.
PATH_LINES = frozenset(
    {
        "API Gateway HTTP API requests",
        "Lambda ingest requests",
        "Lambda ingest GB-s",
        "Kinesis data in (1 KB rounding)",
        "Kinesis data out",
        "Kinesis PUT payload units",
        "Kinesis stream-hours (on-demand)",
        "Kinesis shard-hours (provisioned)",
        "Lambda enrich requests",
        "Lambda enrich GB-s",
        "DynamoDB write request units",
        "DynamoDB read request units",
        "S3 lake requests",
        "Glue catalog requests",
    }
)

# Assumed same-region latency of each call (p50, ms): what a handler waits for in AWS.
CALL_LATENCY_MS: dict[str, float] = {
    "dynamodb:GetItem": 5,
    "dynamodb:BatchGetItem": 6,
    "dynamodb:Query": 6,
    "dynamodb:PutItem": 7,
    "dynamodb:UpdateItem": 7,
    "dynamodb:BatchWriteItem": 10,
    "dynamodb:TransactWriteItems": 12,
    "kinesis:PutRecords": 20,
    "sqs:SendMessage": 10,
    "s3:tier1": 25,  # PUT, POST (multipart create/complete), LIST
    "s3:tier2": 10,  # GET, HEAD
    "glue:request": 30,
}
PLATFORM_LOG_BYTES = 350  # START, END and REPORT lines Lambda adds to every invocation
# Issue 3's alarms: ingest 5xx, ingest latency, iterator age, DLQ depth, enrich errors, throttles, erasure.
ALARMS = 7
SECRETS = 2  # pseudonymization key, write keys
WAF_RULES = 3  # rate-based rule and two managed bad-input rule groups


def load_prices(path: Path = PRICES_FILE) -> dict[str, float]:
    """USD per single unit for every price in the dated data file."""
    data = json.loads(path.read_text())
    return {name: float(entry["usd"]) / float(entry["per"]) for name, entry in data["prices"].items()}


def prices_as_of(path: Path = PRICES_FILE) -> str:
    """The date the price file was checked."""
    return str(json.loads(path.read_text())["as_of"])


def _solve(matrix: list[list[float]], values: list[float]) -> list[float]:
    """Solve a small square system by Gaussian elimination (singular columns get 0)."""
    size = len(values)
    rows = [[*matrix[i], values[i]] for i in range(size)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(rows[r][col]))
        if abs(rows[pivot][col]) < 1e-12:
            continue
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(size):
            if r != col and rows[r][col]:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[i][size] / rows[i][i] if abs(rows[i][i]) >= 1e-12 else 0.0 for i in range(size)]


def fit_linear(rows: Sequence[Sequence[float]], targets: Sequence[float]) -> list[float]:
    """Least-squares coefficients (normal equations), none negative: a cost cannot shrink with more work."""
    width = len(rows[0]) if rows else 0
    active = list(range(width))
    while active:
        gram = [[sum(r[i] * r[j] for r in rows) for j in active] for i in active]
        moment = [sum(r[i] * t for r, t in zip(rows, targets, strict=True)) for i in active]
        solution = _solve(gram, moment)
        if min(solution) >= 0:
            coefficients = [0.0] * width
            for index, value in zip(active, solution, strict=True):
                coefficients[index] = value
            return coefficients
        active.pop(solution.index(min(solution)))
    return [0.0] * width


@dataclass(frozen=True)
class UnitFigures:
    """Measured figures per unit of work, independent of volume."""

    events_per_request: float
    request_bytes: float
    ingest_cpu_ms: tuple[float, float]  # per request, per message
    ingest_calls_per_request: Mapping[str, float]
    ingest_log_bytes: float
    records_per_event: float
    record_bytes: float
    record_kb_units: float
    record_payload_units: float
    # per batch, per event, per visitor in the batch, per snapshot the lake table keeps
    enrich_cpu_ms: tuple[float, float, float, float]
    enrich_calls: Mapping[str, tuple[float, float]]  # call → (per batch, per visitor-batch)
    enrich_log_bytes: float
    wru_per_batch: float
    wru_per_visitor_batch: float
    rru_per_batch: float
    rru_per_visitor_batch: float
    commits_per_batch: float
    s3_tier1_per_commit: float
    s3_tier2_per_commit: float
    s3_bytes_per_commit: float
    glue_per_commit: float
    metric_names: int
    hourly_profile: Sequence[float]
    sessions: Sequence[Sequence[float]] = field(repr=False)
    measured_events_per_batch: float = 0.0
    measured_visitor_batches_per_event: float = 0.0


def _per(total: float, count: float) -> float:
    return total / count if count else 0.0


def unit_figures(m: Any) -> UnitFigures:
    """Per-unit figures from a `cost.measure.Measurement` (see that module for what was measured)."""
    ingest = m.ingest[1:] or m.ingest  # the first invocation pays the imports: a cold start
    ingest_cpu = fit_linear([[1.0, i.events] for i in ingest], [i.cpu_ms for i in ingest])
    ingest_calls: Counter[str] = Counter()
    for invocation in m.ingest:
        ingest_calls.update(invocation.calls)

    enrich_all = (m.enrich[1:] or m.enrich) + list(m.enrich_dense)
    enrich_cpu = fit_linear(
        [[1.0, i.events, i.visitors, i.snapshots] for i in enrich_all], [i.cpu_ms for i in enrich_all]
    )
    names = sorted({name for i in enrich_all for name in i.calls})
    enrich_calls: dict[str, tuple[float, float]] = {}
    for name in names:
        per_batch, _, per_visitor = fit_linear(
            [[1.0, 0.0, i.visitors] for i in enrich_all], [i.calls.get(name, 0) for i in enrich_all]
        )
        enrich_calls[name] = (per_batch, per_visitor)

    batches = len(m.enrich)
    visitor_batches = sum(i.visitors for i in m.enrich)
    # Per batch: the counters, and the transaction surcharge of the one visitor write they ride in.
    surcharge = sum(v for k, v in m.dynamo_transaction_surcharge.items() if k != m.counters_table)
    counters_wru = m.dynamo_wru.get(m.counters_table, 0.0) + surcharge
    counters_rru = m.dynamo_rru.get(m.counters_table, 0.0)
    commits = max(1, m.lake_commits)
    return UnitFigures(
        events_per_request=_per(m.events, m.requests),
        request_bytes=_per(m.request_bytes, m.requests),
        ingest_cpu_ms=(ingest_cpu[0], ingest_cpu[1]),
        ingest_calls_per_request={k: _per(v, m.requests) for k, v in ingest_calls.items()},
        ingest_log_bytes=_per(sum(i.log_bytes for i in m.ingest), len(m.ingest)),
        records_per_event=_per(m.stream.records, m.events),
        record_bytes=_per(m.stream.bytes, m.stream.records),
        record_kb_units=_per(m.stream.kb_units, m.stream.records),
        record_payload_units=_per(m.stream.payload_units, m.stream.records),
        enrich_cpu_ms=(enrich_cpu[0], enrich_cpu[1], enrich_cpu[2], enrich_cpu[3]),
        enrich_calls=enrich_calls,
        enrich_log_bytes=_per(sum(i.log_bytes for i in m.enrich), batches),
        wru_per_batch=_per(counters_wru, batches),
        wru_per_visitor_batch=_per(sum(m.dynamo_wru.values()) - counters_wru, visitor_batches),
        rru_per_batch=_per(counters_rru, batches),
        rru_per_visitor_batch=_per(sum(m.dynamo_rru.values()) - counters_rru, visitor_batches),
        commits_per_batch=_per(m.lake_commits, batches),
        s3_tier1_per_commit=_per(m.s3_requests.get("tier1", 0), commits),
        s3_tier2_per_commit=_per(m.s3_requests.get("tier2", 0), commits),
        s3_bytes_per_commit=_per(m.s3_bytes_put, commits),
        # pyiceberg's Glue catalog: a table load is GetTable; a commit is GetTable + UpdateTable. The
        # local SQL catalog's commit loads the table itself, so those loads are not counted twice.
        glue_per_commit=_per(
            m.catalog_calls.get("load_table", 0) + m.catalog_calls.get("commit_table", 0), commits
        ),
        metric_names=len(m.metric_names),
        hourly_profile=list(m.hourly_profile),
        sessions=m.sessions,
        measured_events_per_batch=_per(m.events, batches),
        measured_visitor_batches_per_event=_per(visitor_batches, m.events),
    )


@dataclass(frozen=True)
class Scenario:
    """A deployable configuration: what the cost depends on besides volume."""

    name: str = "topology defaults"
    window_seconds: float = float(STREAM_MAPPINGS[0].max_batching_window_seconds)
    batch_size: int = STREAM_MAPPINGS[0].batch_size
    stream_mode: str = "on-demand"  # or "provisioned"
    provisioned_shards: int | None = None  # None: sized from the busiest hour (SHARD_HEADROOM)
    ingest_memory_mb: int = function_spec("ingest").memory_mb
    enrich_memory_mb: int = function_spec("enrich").memory_mb
    events_per_request: float | None = None  # None: as measured with the tracker's batching
    xray: bool = True
    edge: bool = True  # CloudFront in front of /v1/* and WAF on the ingest path
    arm_speed_factor: float = 1.0

    def shards(self, peak_records_per_second: float, peak_bytes_per_second: float) -> int:
        """Shards the stream has: provisioned as set (or sized for the peak); on-demand 4 or more."""
        record_bytes = peak_bytes_per_second / peak_records_per_second if peak_records_per_second else 0.0
        needed = shards_for(peak_records_per_second, record_bytes, SHARD_HEADROOM)
        if self.stream_mode == "provisioned":
            return self.provisioned_shards or needed
        return max(ON_DEMAND_MIN_SHARDS, needed)


def call_latency_ms(calls: Mapping[str, float]) -> float:
    """Time spent waiting on these calls one after the other (the assumed same-region latencies)."""
    return sum(CALL_LATENCY_MS.get(name, 10.0) * count for name, count in calls.items())


def lambda_ms(
    cpu_ms: float,
    calls: Mapping[str, float],
    memory_mb: int,
    arm_speed_factor: float,
    concurrent_waiting_ms: float = 0.0,
) -> float:
    """Billed milliseconds of one invocation: scaled CPU time plus AWS call latency, rounded up.

    `calls` are waited for one after the other; `concurrent_waiting_ms` is latency already divided
    by the concurrency it runs at (enrich writes its visitors from a thread pool).
    """
    scale = max(1.0, FULL_VCPU_MB / memory_mb) * arm_speed_factor
    return float(math.ceil(cpu_ms * scale + call_latency_ms(calls) + concurrent_waiting_ms))


def xray_traces(invocations_per_second: Iterable[float]) -> float:
    """Traces a month under X-Ray's default rule: 1 a second, then 5 % of the rest (per hour's rate)."""
    per_day = sum((min(r, 1.0) + 0.05 * max(r - 1.0, 0.0)) * 3600 for r in invocations_per_second)
    return per_day * SECONDS_PER_MONTH / 86_400


@dataclass
class MonthlyCost:
    """A month's cost by line item, and the volumes behind it."""

    events: float
    scenario: Scenario
    lines: dict[str, float]
    fixed: dict[str, float]
    requests: float
    batches: float
    visitor_batches: float
    events_per_batch: float
    shards: int
    ingest_ms: float
    enrich_ms: float
    lake_gb_added: float
    enrich_busy: float = 0.0  # share of the busiest hour one shard's consumer spends working

    @property
    def total(self) -> float:
        return sum(self.lines.values()) + sum(self.fixed.values())

    @property
    def per_million(self) -> float:
        return self.total / (self.events / 1e6)

    @property
    def path_total(self) -> float:
        """The ingest -> enrich -> store path alone (`PATH_LINES`): what issue 3's target prices."""
        return sum(v for k, v in [*self.lines.items(), *self.fixed.items()] if k in PATH_LINES)

    @property
    def path_per_million(self) -> float:
        return self.path_total / (self.events / 1e6)


def expiry_period_minutes() -> float:
    """How often the `lake-expiry` schedule runs (reviva/topology.py), in minutes."""
    schedule = next(s for s in SCHEDULES if s.logical_name == "lake-expiry")
    seconds = rate_seconds(schedule.expression)
    if seconds is None:
        raise ValueError(f"lake-expiry runs at {schedule.expression!r}: expected a rate(...) expression")
    return seconds / 60


def kept_snapshots(commits_per_month: float) -> float:
    """Snapshots the lake table holds on average: one per commit, for the retention plus, on
    average, half the expiry schedule's period (a snapshot waits for the next run once it is old)."""
    minutes = SNAPSHOT_RETENTION.total_seconds() / 60 + expiry_period_minutes() / 2
    return max(1.0, commits_per_month / (SECONDS_PER_MONTH / 60) * minutes)


def monthly_cost(
    units: UnitFigures, events: float, scenario: Scenario, prices: Mapping[str, float]
) -> MonthlyCost:
    """Price one month of `events` under `scenario`."""
    p = prices
    per_request = scenario.events_per_request or units.events_per_request
    requests = events / per_request
    messages_per_request = per_request

    # Ingest: API Gateway, Lambda, Kinesis.
    ingest_calls = dict(units.ingest_calls_per_request)
    ingest_ms = lambda_ms(
        units.ingest_cpu_ms[0] + units.ingest_cpu_ms[1] * messages_per_request,
        ingest_calls,
        scenario.ingest_memory_mb,
        scenario.arm_speed_factor,
    )
    first = min(requests, 300e6)
    lines: dict[str, float] = {
        "API Gateway HTTP API requests": first * p["apigw_http_request_first_300m"]
        + (requests - first) * p["apigw_http_request_over_300m"],
        "Lambda ingest requests": requests * p["lambda_request"],
        "Lambda ingest GB-s": requests
        * ingest_ms
        / 1000
        * scenario.ingest_memory_mb
        / 1024
        * p["lambda_arm64_gb_second"],
    }
    records = events * units.records_per_event
    fixed: dict[str, float] = {}

    # Batching: how the stream's shards cut the month into enrich invocations. The mapping's batch
    # size counts records; a record carries `1 / records_per_event` events (one request's events of
    # one visitor travel together).
    batch_events = max(1, round(scenario.batch_size / max(units.records_per_event, 1e-9)))

    def batching_on(shard_count: int) -> Any:
        return monthly_batching(
            events, units.hourly_profile, units.sessions, shard_count, scenario.window_seconds, batch_events
        )

    at_4 = batching_on(ON_DEMAND_MIN_SHARDS)
    peak_events = at_4.peak_shard_rate * ON_DEMAND_MIN_SHARDS
    peak_records = peak_events * units.records_per_event
    shards = scenario.shards(peak_records, peak_records * units.record_bytes)
    batching = at_4 if shards == ON_DEMAND_MIN_SHARDS else batching_on(shards)
    if scenario.stream_mode == "provisioned":
        fixed["Kinesis shard-hours (provisioned)"] = (
            shards * HOURS_PER_MONTH * p["kinesis_provisioned_shard_hour"]
        )
        lines["Kinesis PUT payload units"] = (
            records * units.record_payload_units * p["kinesis_provisioned_put_payload_unit"]
        )
    else:
        fixed["Kinesis stream-hours (on-demand)"] = HOURS_PER_MONTH * p["kinesis_on_demand_stream_hour"]
        lines["Kinesis data in (1 KB rounding)"] = (
            records * units.record_kb_units * 1024 / GB * p["kinesis_on_demand_gb_in"]
        )
        lines["Kinesis data out"] = records * units.record_bytes / GB * p["kinesis_on_demand_gb_out"]

    # Enrich: Lambda, DynamoDB, the lake.
    batches, pairs = batching.batches, batching.visitor_batches
    events_per_batch = events / batches if batches else 0.0
    visitors_per_batch = pairs / batches if batches else 0.0
    commits = batches * units.commits_per_batch
    # Per-batch calls run one after the other; the visitors' writes run `VISITOR_WRITERS` at a time.
    calls_per_batch = {name: b for name, (b, _) in units.enrich_calls.items()}
    visitor_calls = {name: v * visitors_per_batch for name, (_, v) in units.enrich_calls.items()}
    concurrency = max(1.0, min(float(VISITOR_WRITERS), visitors_per_batch))
    calls_per_batch["s3:tier1"] = units.s3_tier1_per_commit * units.commits_per_batch
    calls_per_batch["s3:tier2"] = units.s3_tier2_per_commit * units.commits_per_batch
    calls_per_batch["glue:request"] = units.glue_per_commit * units.commits_per_batch
    cpu = (
        units.enrich_cpu_ms[0]
        + units.enrich_cpu_ms[1] * events_per_batch
        + units.enrich_cpu_ms[2] * visitors_per_batch
        + units.enrich_cpu_ms[3] * kept_snapshots(commits)
    )
    enrich_ms = lambda_ms(
        cpu,
        calls_per_batch,
        scenario.enrich_memory_mb,
        scenario.arm_speed_factor,
        concurrent_waiting_ms=call_latency_ms(visitor_calls) / concurrency,
    )
    lines["Lambda enrich requests"] = batches * p["lambda_request"]
    lines["Lambda enrich GB-s"] = (
        batches * enrich_ms / 1000 * scenario.enrich_memory_mb / 1024 * p["lambda_arm64_gb_second"]
    )
    lines["DynamoDB write request units"] = (
        batches * units.wru_per_batch + pairs * units.wru_per_visitor_batch
    ) * p["dynamodb_on_demand_wru"]
    lines["DynamoDB read request units"] = (
        batches * units.rru_per_batch + pairs * units.rru_per_visitor_batch
    ) * p["dynamodb_on_demand_rru"]
    lines["S3 lake requests"] = commits * (
        units.s3_tier1_per_commit * p["s3_standard_tier1_request"]
        + units.s3_tier2_per_commit * p["s3_standard_tier2_request"]
    )
    lines["Glue catalog requests"] = commits * units.glue_per_commit * p["glue_catalog_request"]

    # Operations: logs, traces, metrics, alarms, secrets.
    log_bytes = requests * (units.ingest_log_bytes + PLATFORM_LOG_BYTES) + batches * (
        units.enrich_log_bytes + PLATFORM_LOG_BYTES
    )
    lines["CloudWatch Logs ingestion"] = log_bytes / GB * p["cloudwatch_logs_gb_ingested"]
    if scenario.xray:
        share = [
            rate / events * SECONDS_PER_MONTH if events else 0.0
            for rate in hourly_rates(events, units.hourly_profile)
        ]
        request_rates = [requests / SECONDS_PER_MONTH * s for s in share]
        batch_rates = [batches / SECONDS_PER_MONTH * s for s in share]
        lines["X-Ray traces"] = (xray_traces(request_rates) + xray_traces(batch_rates)) * p[
            "xray_trace_recorded"
        ]
    fixed["CloudWatch custom metrics (EMF)"] = units.metric_names * p["cloudwatch_custom_metric_month"]
    fixed["CloudWatch alarms and dashboard"] = (
        ALARMS * p["cloudwatch_alarm_month"] + p["cloudwatch_dashboard_month"]
    )
    fixed["Secrets Manager"] = SECRETS * p["secrets_manager_secret_month"]
    if scenario.edge:
        lines["CloudFront requests (/v1/*)"] = requests * p["cloudfront_https_request"]
        lines["WAF requests"] = requests * p["waf_request"]
        fixed["WAF web ACL and rules"] = p["waf_web_acl_month"] + WAF_RULES * p["waf_rule_month"]
    return MonthlyCost(
        events=events,
        scenario=scenario,
        lines=lines,
        fixed=fixed,
        requests=requests,
        batches=batches,
        visitor_batches=pairs,
        events_per_batch=events_per_batch,
        shards=shards,
        ingest_ms=ingest_ms,
        enrich_ms=enrich_ms,
        lake_gb_added=commits * units.s3_bytes_per_commit / GB,
        # One batch at a time per shard (parallelization factor 1): above 100 % the stream falls behind.
        enrich_busy=batching.peak_shard_rate / max(events_per_batch, 1.0) * enrich_ms / 1000,
    )


VOLUMES: tuple[float, ...] = (1e6, 10e6, 100e6, 1e9)
WINDOWS: tuple[float, ...] = (1, 5, 30, 60, 120, 300)
TARGET_PER_MILLION = 0.50
TARGET_VOLUME = 100e6


def with_client_batching(
    units: UnitFigures, events_per_request: float, sessions: Sequence[Sequence[float]]
) -> UnitFigures:
    """The same measured work under another tracker policy: fuller requests, one record each.

    A request's events of one visitor travel as one Kinesis record, so records per event scale with
    requests per event; per-request, per-record and per-visitor-batch work stays as measured.
    """
    scale = units.events_per_request / events_per_request if events_per_request else 1.0
    return replace(
        units,
        events_per_request=events_per_request,
        records_per_event=units.records_per_event * scale,
        record_bytes=units.record_bytes / scale,
        record_kb_units=max(1.0, units.record_kb_units / scale),
        sessions=sessions,
    )


def with_window(scenario: Scenario, window: float) -> Scenario:
    """The same scenario with another batching window."""
    return replace(scenario, name=f"{scenario.name}, {window:g} s window", window_seconds=window)
