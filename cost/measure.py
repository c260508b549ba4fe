"""Measure what one event costs in calls, bytes and CPU by running the real handlers on the emulator.

The simulator's traffic (`reviva_dev.simulate.plan_traffic`) is grouped into requests the way a
browser tracker batches them, posted to the real ingest handler as API Gateway HTTP API events,
read back from the (moto) Kinesis stream, laid out in Lambda batches per shard by
`reviva_dev.measure.traffic.lambda_batches`, and handed to the real enrich handler as Kinesis
trigger events. Everything runs against the embedded emulator (`reviva_dev.local.Emulator`,
moto's server in this process), with the lake written as Iceberg files to its S3 bucket.

What is counted, and how (the instruments are the shared harness, `reviva_dev.measure`):
- every botocore call (boto3 and pynamodb), with `counted_aws_calls`;
- DynamoDB request units (`cost.metering`): item sizes are looked up in moto's backend before and after each
  write (AWS bills the larger of the two), and for every item read;
- Kinesis (`cost.metering`): bytes of each record put (data + partition key), 1 KB units and
  25 KB payload units;
- S3: every request the emulator's HTTP server receives for the lake bucket (pyarrow writes
  Iceberg files through its own C++ client, invisible to botocore), by method (`S3RequestCounter`);
- catalog: loads and commits of the local SQL catalog, mapped to Glue requests in AWS;
- lake snapshots kept: the lake writer's commit observer counts its commits since the last expiry;
- CPU: the handler thread's CPU time (`time.thread_time`), which excludes moto's server threads;
- logs: bytes each invocation writes to stdout (Powertools' JSON logs and EMF metrics).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import reviva.enrich.service as enrich_service
from cost.metering import StreamUsage, metered_calls
from reviva.composition import Composition, use_composition
from reviva.contracts.events import CollectedEvent
from reviva.enrich.stream_records import decode_record
from reviva.settings import Settings
from reviva.topology import STREAM_MAPPINGS, FunctionSpec, function_spec
from reviva_dev.fakes.enrich import MemoryCounters, MemoryLake, MemoryPoison, MemoryVisitors
from reviva_dev.measure.catalog_calls import catalog_calls
from reviva_dev.measure.invocations import invoke_measured
from reviva_dev.measure.lambda_events import http_api_event, kinesis_event, read_stream
from reviva_dev.measure.s3_requests import S3RequestCounter
from reviva_dev.measure.tracker_requests import ClientRequest, message_time, tracker_requests
from reviva_dev.measure.traffic import ShardBatch, collected_events, lambda_batches
from reviva_dev.simulate import plan_traffic

if TYPE_CHECKING:
    from reviva.adapters.lake.writer import LakeCommit

WRITE_KEY = "cost-write-key"
SOURCE_IP = "203.0.113.7"
# How long after the flush a request reaches ingest and Kinesis.
DELIVERY_SECONDS = 0.2
# Dense batches (a long window) measure how enrich's work grows with events and visitors.
DENSE_BATCHES = 12
DENSE_BATCH_SIZE = 30
SEQUENCE_OFFSET = 10_000_000


# --------------------------------------------------------------------------- lake snapshots


class SnapshotTally:
    """The lake writer's commit observer: snapshots the table keeps, one per commit since the last
    expiry (each commit rewrites metadata that lists them all, so its CPU grows with them)."""

    def __init__(self) -> None:
        self.kept = 0

    def __call__(self, commit: LakeCommit) -> None:
        self.kept += 1


def _composition_observing_commits(settings: Settings, tally: SnapshotTally) -> Composition:
    """The emulator's composition, its lake writer telling `tally` of every commit."""
    from reviva.adapters.lake.writer import LakeWriter

    # The writer loads the table through the composition it belongs to, as the default one does.
    composition = Composition(
        settings, overrides={"lake_sink": LakeWriter(lambda: composition.events_table(), on_commit=tally)}
    )
    return composition


# --------------------------------------------------------------------------- invocations


@dataclass
class Invocation:
    """One handler invocation and what it cost."""

    function: str
    events: int
    visitors: int
    cpu_ms: float
    wall_ms: float
    log_bytes: int
    calls: Counter[str] = field(default_factory=Counter)  # "service:Operation" → count
    snapshots: int = 0  # snapshots the lake table kept when the invocation began (enrich)


_METRIC_NAMES: set[str] = set()


def _invoke(
    spec: FunctionSpec, handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any]
) -> tuple[Any, float, float, int, Counter[str]]:
    run = invoke_measured(spec, handler, event)
    _METRIC_NAMES.update(_emf_metric_names(run.log.text))
    return run.result, run.cpu_ms, run.wall_ms, run.log.bytes, run.calls


# --------------------------------------------------------------------------- the measurement


@dataclass
class Measurement:
    """Everything `cost.model` needs, measured on one simulated run."""

    visitors: int
    days: int
    messages: int
    events: int  # CollectedEvents on the stream
    requests: int  # tracker requests (client batching)
    request_bytes: int
    ingest: list[Invocation]
    enrich: list[Invocation]  # batches at the topology's window, in traffic order
    enrich_dense: list[Invocation]  # long-window batches, to separate per-event and per-visitor work
    window_seconds: float
    stream: StreamUsage
    dynamo_wru: dict[str, float]  # table → WRU during enrich (topology window)
    dynamo_rru: dict[str, float]
    dynamo_transaction_surcharge: dict[str, float]
    dynamo_max_item_bytes: int
    lake_commits: int
    s3_requests: dict[str, int]  # tier1, tier2, free, per method
    s3_bytes_put: int
    catalog_calls: dict[str, int]
    hourly_profile: list[float]  # share of events per UTC hour of day
    sessions: list[list[float]]  # arrival offsets (seconds) of each session's events
    metric_names: list[str]  # distinct EMF metric names emitted (custom metrics)
    counters_table: str
    measured_at: str
    # The simulated messages themselves, to re-batch them under other tracker policies.
    plan_messages: list[dict[str, Any]] = field(default_factory=list, repr=False)


def hourly_profile(messages: Sequence[dict[str, Any]]) -> list[float]:
    """Share of messages sent in each UTC hour of the day."""
    hours = Counter(message_time(m).hour for m in messages)
    total = sum(hours.values()) or 1
    return [hours.get(h, 0) / total for h in range(24)]


def session_offsets(requests: Sequence[ClientRequest], gap_seconds: float = 1800) -> list[list[float]]:
    """Each visit's event arrival times relative to its first, from the tracker requests.

    A visit ends after `gap_seconds` without a request (the 30-minute session timeout).
    """
    by_visitor: dict[str, list[ClientRequest]] = {}
    for request in requests:
        by_visitor.setdefault(request.visitor, []).append(request)
    sessions: list[list[float]] = []
    for visitor_requests in by_visitor.values():
        current: list[float] = []
        start: datetime | None = None
        last: datetime | None = None
        for request in visitor_requests:
            if last is None or (request.sent_at - last).total_seconds() > gap_seconds:
                if current:
                    sessions.append(current)
                current, start = [], request.sent_at
            assert start is not None
            current.extend([(request.sent_at - start).total_seconds()] * len(request.messages))
            last = request.sent_at
        if current:
            sessions.append(current)
    return sessions


def _emf_metric_names(text: str) -> set[str]:
    names: set[str] = set()
    for line in text.splitlines():
        if '"_aws"' not in line:
            continue
        with contextlib.suppress(ValueError, KeyError, TypeError):
            for directive in json.loads(line)["_aws"]["CloudWatchMetrics"]:
                names.update(metric["Name"] for metric in directive["Metrics"])
    return names


def _dense_batches(events: list[CollectedEvent]) -> list[Any]:
    """Batches of many records: half with one record of each of many visitors, half one visitor's.

    A CPU fit can only tell per-event from per-visitor work when the two vary independently, so
    both shapes are needed. Sequence numbers start past the first run's, so the shard watermarks
    let these through; each visitor appears in one shape only.
    """
    by_visitor: dict[tuple[str, str], list[Any]] = {}
    for batch in lambda_batches(events, 1e9, max_batch=10_000):
        for record in batch.records:
            by_visitor.setdefault((batch.shard_id, record.partition_key), []).append(record)
    busiest = sorted(by_visitor.items(), key=lambda kv: -len(kv[1]))
    single = busiest[: DENSE_BATCHES // 2]
    spread: dict[str, list[Any]] = {}
    for (shard_id, _), records in busiest[DENSE_BATCHES // 2 :]:
        spread.setdefault(shard_id, []).append(records[0])
    mixed = sorted(spread.items(), key=lambda kv: -len(kv[1]))[: DENSE_BATCHES - len(single)]
    shaped = [(shard, records) for (shard, _), records in single] + mixed
    batches: list[Any] = []
    next_sequence: dict[str, int] = defaultdict(lambda: SEQUENCE_OFFSET)
    for shard_id, records in shaped:
        renumbered = []
        for record in records[:DENSE_BATCH_SIZE]:
            next_sequence[shard_id] += 1
            renumbered.append(
                type(record)(shard_id, str(next_sequence[shard_id]), record.partition_key, record.data)
            )
        carried = sum(len(decode_record(r).events) for r in renumbered)
        batches.append(ShardBatch(shard_id, renumbered, carried))
    return batches


def _expire_all_but_the_current_snapshot() -> None:
    from reviva.adapters.lake.maintenance import expire_snapshots
    from reviva.composition import current_composition

    expire_snapshots(
        current_composition().events_table(), datetime.now(UTC) + timedelta(minutes=1), delete_files=False
    )


def _warm_up_enrich(plan: Any) -> None:
    """Run other simulated traffic through enrich's domain on in-memory stores first.

    The first batches otherwise pay one-off work (user-agent and bot caches, journey rules, model
    schemas) that the CPU fit would spread over events and visitors; a warm Lambda has paid it.
    Nothing here touches the emulator, so no watermark moves.
    """
    from reviva.enrich.journey_rules import load_journey_rules
    from reviva.enrich.service import EnrichPorts, process_batch

    counters = MemoryCounters()
    ports = EnrichPorts(
        MemoryVisitors(counters), counters, MemoryLake(), MemoryPoison(), load_journey_rules(None)
    )
    for batch in lambda_batches(collected_events(list(plan.messages)), 60):
        process_batch(batch.records, ports)


def measure(
    visitors: int = 60,
    days: int = 3,
    seed: int = 3,
    window_seconds: float | None = None,
    data_dir: Path | None = None,
) -> Measurement:
    """Run the simulated traffic through ingest and enrich on the emulator and meter everything."""
    from reviva.settings import load_settings, reset_settings_cache
    from reviva_dev.local.emulator import Emulator, EnvironmentOverlay

    mapping = STREAM_MAPPINGS[0]
    window = float(mapping.max_batching_window_seconds if window_seconds is None else window_seconds)
    now = datetime.now(UTC).replace(microsecond=0)
    plan = plan_traffic(visitors, days, seed, now=now, autocapture=True)
    requests = tracker_requests(plan.messages)

    overlay = EnvironmentOverlay()
    overlay.set(
        {
            "REVIVA_WRITE_KEYS": WRITE_KEY,
            "REVIVA_WRITE_KEY": WRITE_KEY,
            "REVIVA_ADMIN_TOKEN": "cost-admin-token",
            "REVIVA_PSEUDONYMIZATION_KEY": "cost-pseudonymization-key-0123456789",
            "REVIVA_STAGE": "local",
            "POWERTOOLS_SERVICE_NAME": "reviva",
            "POWERTOOLS_METRICS_NAMESPACE": "RevivaAnalytics",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    )
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory())) if data_dir is None else data_dir
        emulator = Emulator(tmp)
        stack.callback(overlay.restore)
        stack.callback(emulator.stop)
        resources = emulator.start()
        reset_settings_cache()
        settings = load_settings()
        # Count the lake's S3 requests where they arrive: at the emulator's HTTP server.
        s3_counter = emulator.wrap_app(lambda app: S3RequestCounter(app, resources.buckets["lake"]))
        # The handlers run with the real adapters for the emulator's settings; only the lake writer
        # also tells `snapshots` of each commit (see `run_batches`).
        snapshots = SnapshotTally()
        stack.enter_context(use_composition(_composition_observing_commits(settings, snapshots)))

        from functions.enrich import handler as enrich_module
        from functions.ingest import handler as ingest_module

        ingest_spec, enrich_spec = function_spec("ingest"), function_spec("enrich")
        _METRIC_NAMES.clear()

        ingest_runs: list[Invocation] = []
        request_bytes = 0
        with metered_calls(settings.aws_region) as (_, stream_usage):
            for request in requests:
                event = http_api_event(request, datetime.now(UTC), WRITE_KEY, SOURCE_IP)
                request_bytes += len(event.get("body") or "")
                result, cpu, wall, logged, calls = _invoke(ingest_spec, ingest_module.handler, event)
                if int(result.get("statusCode", 500)) >= 300:
                    raise RuntimeError(f"ingest answered {result.get('statusCode')}: {result.get('body')}")
                ingest_runs.append(Invocation("ingest", len(request.messages), 1, cpu, wall, logged, calls))

        sent_at = {
            str(m.get("messageId")): r.sent_at + timedelta(seconds=DELIVERY_SECONDS)
            for r in requests
            for m in r.messages
        }
        events = [
            e.model_copy(update={"received_at": sent_at.get(e.message_id, e.timestamp)})
            for e in read_stream(resources.streams[mapping.stream])
        ]
        stream_arn = resources.stream_arns[mapping.stream]

        # Every commit reads, copies and rewrites the table metadata, which lists every snapshot kept,
        # so a commit's CPU grows with them: each invocation records how many the table held (one per
        # commit since the last expiry), and the model fits the CPU each kept snapshot adds.

        def run_batches(batches: Sequence[Any], out: list[Invocation]) -> None:
            for batch in batches:
                kept = snapshots.kept
                result, cpu, wall, logged, calls = _invoke(
                    enrich_spec, enrich_module.handler, kinesis_event(batch.records, stream_arn)
                )
                if result.get("batchItemFailures"):
                    raise RuntimeError(f"enrich reported failures: {result['batchItemFailures']}")
                visitors_in_batch = len({r.partition_key for r in batch.records})
                out.append(
                    Invocation("enrich", batch.events, visitors_in_batch, cpu, wall, logged, calls, kept)
                )

        _warm_up_enrich(plan_traffic(max(10, visitors // 4), days, seed + 2, now=now, autocapture=True))
        enrich_runs: list[Invocation] = []
        batches = list(lambda_batches(events, window, max_batch=mapping.batch_size))
        s3_counter.enabled = True
        # Enrich writes visitors from a thread pool; here they are written on the handler's thread so
        # that its CPU clock sees all of their CPU work (the model overlaps only their latency).
        stack.enter_context(mock.patch.object(enrich_service, "VISITOR_WRITERS", 1))
        with metered_calls(settings.aws_region) as (dynamo, _), catalog_calls() as catalog:
            run_batches(batches, enrich_runs)
        s3_counter.enabled = False
        counts = dict(s3_counter.counts)

        # A second traffic sample with long windows gives batches of many events and visitors;
        # sequence numbers continue past the first run's so the shard watermarks let them through.
        dense_plan = plan_traffic(max(20, visitors // 2), days, seed + 1, now=now, autocapture=True)
        dense_requests = tracker_requests(dense_plan.messages)
        dense_events = collected_events([m for r in dense_requests for m in r.messages])
        dense_batches = _dense_batches(dense_events)
        dense_runs: list[Invocation] = []
        # The dense batches start from a table of one snapshot, so the CPU of many events and
        # visitors is not confused with the CPU of the snapshots the sparse run left behind.
        _expire_all_but_the_current_snapshot()
        snapshots.kept = 1
        run_batches(dense_batches, dense_runs)

    return Measurement(
        visitors=visitors,
        days=plan.days,
        messages=len(plan.messages),
        events=len(events),
        requests=len(requests),
        request_bytes=request_bytes,
        ingest=ingest_runs,
        enrich=enrich_runs,
        enrich_dense=dense_runs,
        window_seconds=window,
        stream=stream_usage,
        dynamo_wru=dict(dynamo.wru),
        dynamo_rru=dict(dynamo.rru),
        dynamo_transaction_surcharge=dict(dynamo.transaction_surcharge),
        dynamo_max_item_bytes=max(dynamo.item_bytes, default=0),
        lake_commits=catalog.get("commit_table", 0),
        s3_requests=counts,
        s3_bytes_put=s3_counter.bytes_put,
        catalog_calls=dict(catalog),
        hourly_profile=hourly_profile(plan.messages),
        sessions=session_offsets(requests),
        metric_names=sorted(_METRIC_NAMES),
        counters_table=settings.counters_table,
        measured_at=now.isoformat(),
        plan_messages=list(plan.messages),
    )
