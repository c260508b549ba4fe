"""Measure what one event costs in calls, bytes and CPU by running the real handlers on the emulator.

The simulator's traffic (`reviva_dev.simulate.plan_traffic`) is grouped into requests the way a
browser tracker batches them, posted to the real ingest handler as API Gateway HTTP API events,
read back from the (moto) Kinesis stream, laid out in Lambda batches per shard by the bench's
`lambda_batches`, and handed to the real enrich handler as Kinesis trigger events. Everything runs
against the embedded emulator (`reviva_dev.local.Emulator`, moto's server in this process), with the
lake written as Iceberg files to its S3 bucket.

What is counted, and how:
- every botocore call (boto3 and pynamodb), with the bench's `counted_aws_calls`;
- DynamoDB request units: item sizes are looked up in moto's backend before and after each
  write (AWS bills the larger of the two), and for every item read;
- Kinesis: bytes of each record put (data + partition key), 1 KB units and 25 KB payload units;
- S3: every request the emulator's HTTP server receives for the lake bucket (pyarrow writes
  Iceberg files through its own C++ client, invisible to botocore), by method;
- catalog: loads and commits of the local SQL catalog, mapped to Glue requests in AWS;
- CPU: the handler thread's CPU time (`time.thread_time`), which excludes moto's server threads;
- logs: bytes each invocation writes to stdout (Powertools' JSON logs and EMF metrics).
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from botocore.client import BaseClient

import reviva.enrich.service as enrich_service
from bench.pipeline import counted_aws_calls
from bench.tracker_requests import ClientRequest, message_time, tracker_requests
from bench.traffic import ShardBatch, collected_events, lambda_batches
from reviva.enrich.stream_records import StreamRecord as EnrichRecord
from reviva.enrich.stream_records import decode_record
from reviva.events import CollectedEvent
from reviva.topology import STREAM_MAPPINGS, FunctionSpec, function_spec
from reviva_dev.simulate import plan_traffic

WRITE_KEY = "cost-write-key"
SOURCE_IP = "203.0.113.7"
KB = 1024
# How long after the flush a request reaches ingest and Kinesis.
DELIVERY_SECONDS = 0.2
# Dense batches (a long window) measure how enrich's work grows with events and visitors.
DENSE_BATCHES = 12
DENSE_BATCH_SIZE = 30
SEQUENCE_OFFSET = 10_000_000


# --------------------------------------------------------------------------- counters


@dataclass
class DynamoUsage:
    """Request units by table and whether they came from a write or a read."""

    wru: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    rru: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    # The part of `wru` that only the transaction added (half of a transactional write): the batch's
    # counters ride in one visitor's write, so this is a per-batch cost, not a per-visitor one.
    transaction_surcharge: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    item_bytes: list[int] = field(default_factory=list)


def write_units(size_bytes: int, transactional: bool) -> int:
    """WRU of one item write: 1 per KB (rounded up, at least 1), doubled in a transaction."""
    units = max(1, math.ceil(size_bytes / KB))
    return units * (2 if transactional else 1)


def read_units(size_bytes: int, consistent: bool) -> float:
    """RRU of reading `size_bytes`: 1 per 4 KB (at least 1) strongly consistent, half that eventually."""
    units = max(1, math.ceil(size_bytes / (4 * KB)))
    return units * (1.0 if consistent else 0.5)


class _MotoItems:
    """Item sizes straight from moto's in-process DynamoDB backend (the server thread's state)."""

    def __init__(self, region: str) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        self._backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][region]

    def size(self, table: str, key: dict[str, Any]) -> int:
        """Bytes of the stored item with this key (moto's item-size rule), 0 when absent."""
        try:
            item = self._backend.get_item(table, key)
        except Exception:
            return 0
        return int(item.size()) if item is not None else 0

    def key_of(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        """The primary key attributes of a wire-format item."""
        schema = self._backend.get_table(table)
        names = [schema.hash_key_attr] + ([schema.range_key_attr] if schema.range_key_attr else [])
        return {name: item[name] for name in names if name in item}


@dataclass
class StreamUsage:
    """What PutRecords carried."""

    records: int = 0
    bytes: int = 0  # data + partition key
    kb_units: int = 0  # each record rounded up to 1 KB (on-demand data-in)
    payload_units: int = 0  # 25 KB chunks (provisioned PUT payload units)


@contextlib.contextmanager
def metered_calls(region: str) -> Iterator[tuple[DynamoUsage, StreamUsage]]:
    """Meter DynamoDB request units and Kinesis bytes of every botocore call made inside."""
    items = _MotoItems(region)
    dynamo = DynamoUsage()
    stream = StreamUsage()
    # botocore has no public hook that sees every client of every library (pynamodb included).
    client_class: Any = BaseClient
    original = client_class._make_api_call

    def metering(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        service = self.meta.service_model.service_name
        if service == "kinesis" and operation in ("PutRecords", "PutRecord"):
            records = params.get("Records") or [params]
            for record in records:
                size = len(record.get("Data") or b"") + len(str(record.get("PartitionKey", "")).encode())
                stream.records += 1
                stream.bytes += size
                stream.kb_units += max(1, math.ceil(size / KB))
                stream.payload_units += max(1, math.ceil(size / (25 * KB)))
        if service != "dynamodb":
            return original(self, operation, params)
        writes = _write_targets(operation, params, items)
        before = [items.size(table, key) for table, key, _ in writes]
        response = original(self, operation, params)
        for (table, key, transactional), old in zip(writes, before, strict=True):
            new = items.size(table, key)
            dynamo.wru[table] += write_units(max(old, new), transactional)
            if transactional:
                dynamo.transaction_surcharge[table] += write_units(max(old, new), False)
            dynamo.item_bytes.append(max(old, new))
        _meter_reads(operation, params, response, items, dynamo)
        return response

    client_class._make_api_call = metering
    try:
        yield dynamo, stream
    finally:
        client_class._make_api_call = original


def _write_targets(
    operation: str, params: dict[str, Any], items: _MotoItems
) -> list[tuple[str, dict[str, Any], bool]]:
    """(table, key, transactional) of every item a write request touches."""
    targets: list[tuple[str, dict[str, Any], bool]] = []
    if operation == "TransactWriteItems":
        for entry in params.get("TransactItems", []):
            for body in entry.values():  # Put, Update, Delete or ConditionCheck
                table = body["TableName"]
                key = body.get("Key") or items.key_of(table, body.get("Item", {}))
                # A ConditionCheck is billed like a write of the item it checks.
                targets.append((table, key, True))
    elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
        table = params["TableName"]
        key = params.get("Key") or items.key_of(table, params.get("Item", {}))
        targets.append((table, key, False))
    elif operation == "BatchWriteItem":
        for table, requests in params.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    targets.append((table, items.key_of(table, request["PutRequest"]["Item"]), False))
                elif "DeleteRequest" in request:
                    targets.append((table, request["DeleteRequest"]["Key"], False))
    return targets


def _meter_reads(
    operation: str, params: dict[str, Any], response: dict[str, Any], items: _MotoItems, usage: DynamoUsage
) -> None:
    if operation == "GetItem":
        table = params["TableName"]
        usage.rru[table] += read_units(items.size(table, params["Key"]), bool(params.get("ConsistentRead")))
    elif operation == "BatchGetItem":
        # Every requested key is billed as a GetItem, found or not.
        for table, request in params.get("RequestItems", {}).items():
            consistent = bool(request.get("ConsistentRead"))
            for key in request.get("Keys", []):
                usage.rru[table] += read_units(items.size(table, key), consistent)
    elif operation in ("Query", "Scan"):
        table = params["TableName"]
        total = sum(items.size(table, items.key_of(table, item)) for item in response.get("Items", []))
        usage.rru[table] += read_units(total, bool(params.get("ConsistentRead")))
    elif operation == "TransactGetItems":
        for entry in params.get("TransactItems", []):
            body = entry["Get"]
            usage.rru[body["TableName"]] += 2 * read_units(items.size(body["TableName"], body["Key"]), True)


class S3RequestCounter:
    """WSGI middleware on the emulator's server: counts the lake bucket's requests by kind."""

    def __init__(self, app: Callable[..., Any], bucket: str) -> None:
        self.app = app
        self.prefix = f"/{bucket}"
        self.counts: Counter[str] = Counter()
        self.bytes_put = 0
        self.enabled = False
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if self.enabled and (path == self.prefix or path.startswith(self.prefix + "/")):
            method = environ.get("REQUEST_METHOD", "GET")
            query = environ.get("QUERY_STRING", "")
            is_object = path.startswith(self.prefix + "/") and len(path) > len(self.prefix) + 1
            if method in ("PUT", "POST") or (method == "GET" and (not is_object or "list-type" in query)):
                kind = "tier1"  # PUT, COPY, POST, LIST
            elif method in ("GET", "HEAD"):
                kind = "tier2"
            else:
                kind = "free"  # DELETE
            with self._lock:
                self.counts[kind] += 1
                self.counts[f"{method}"] += 1
                if method == "PUT":
                    self.bytes_put += int(
                        environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH") or environ.get("CONTENT_LENGTH") or 0
                    )
        return self.app(environ, start_response)


@contextlib.contextmanager
def catalog_calls() -> Iterator[Counter[str]]:
    """Count the SQL catalog's table loads and commits (each a Glue GetTable / GetTable+UpdateTable)."""
    from pyiceberg.catalog.sql import SqlCatalog

    calls: Counter[str] = Counter()
    load, commit = SqlCatalog.load_table, SqlCatalog.commit_table

    def counted_load(self: SqlCatalog, *args: Any, **kwargs: Any) -> Any:
        calls["load_table"] += 1
        return load(self, *args, **kwargs)

    def counted_commit(self: SqlCatalog, *args: Any, **kwargs: Any) -> Any:
        calls["commit_table"] += 1
        return commit(self, *args, **kwargs)

    SqlCatalog.load_table = counted_load  # type: ignore[method-assign]
    SqlCatalog.commit_table = counted_commit  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        SqlCatalog.load_table = load  # type: ignore[method-assign]
        SqlCatalog.commit_table = commit  # type: ignore[method-assign]


@contextlib.contextmanager
def counted_lake_commits() -> Iterator[list[int]]:
    """Count the lake writer's successful commits (each leaves one snapshot) in a one-item list."""
    from reviva.lake.writer import LakeWriter

    committed = [0]
    commit = LakeWriter._commit

    def counted(*args: Any, **kwargs: Any) -> None:
        commit(*args, **kwargs)
        committed[0] += 1

    with mock.patch.object(LakeWriter, "_commit", staticmethod(counted)):
        yield committed


@dataclass
class Captured:
    """What an invocation wrote to stdout (what Lambda ships to CloudWatch Logs)."""

    bytes: int = 0
    text: str = ""


@contextlib.contextmanager
def captured_stdout() -> Iterator[Captured]:
    """Capture file descriptor 1 inside the block: Powertools' handlers hold their own stream object."""
    import sys

    result = Captured()
    sys.stdout.flush()
    saved = os.dup(1)
    previous = sys.stdout
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        # print() (Powertools' EMF metrics) writes to sys.stdout, which a test runner may have replaced.
        sys.stdout = open(sink.fileno(), "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        try:
            yield result
        finally:
            sys.stdout.flush()
            sys.stdout.close()
            sys.stdout = previous
            os.dup2(saved, 1)
            os.close(saved)
            sink.seek(0)
            raw = sink.read()
            result.bytes = len(raw)
            result.text = raw.decode("utf-8", "replace")


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


def _context(spec: FunctionSpec) -> Any:
    from reviva_dev.local.gateway import LocalLambdaContext, function_arn, physical_function_name

    return LocalLambdaContext(
        function_name=physical_function_name(spec),
        memory_limit_in_mb=spec.memory_mb,
        invoked_function_arn=function_arn(spec, "us-east-1"),
        aws_request_id=f"cost-{time.monotonic_ns()}",
        timeout_seconds=spec.timeout_seconds,
    )


_METRIC_NAMES: set[str] = set()


def _invoke(
    spec: FunctionSpec, handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any]
) -> tuple[Any, float, float, int, Counter[str]]:
    with counted_aws_calls() as calls, captured_stdout() as logged:
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        result = handler(event, _context(spec))
        cpu_ms = (time.thread_time() - cpu0) * 1000
        wall_ms = (time.perf_counter() - wall0) * 1000
    _METRIC_NAMES.update(_emf_metric_names(logged.text))
    # The bench's counter also keys calls by table ("dynamodb:<table>"): keep the per-service keys.
    named: Counter[str] = Counter({f"{svc}:{op}": n for (svc, op), n in calls.items() if ":" not in svc})
    return result, cpu_ms, wall_ms, logged.bytes, named


def _ingest_event(request: ClientRequest, now: datetime) -> dict[str, Any]:
    """The HTTP API event for one tracker request, as the local gateway builds it."""
    from reviva.topology import ROUTES
    from reviva_dev.local.gateway import IncomingRequest, RouteTable, build_http_api_event

    sent = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    body = json.dumps(
        {"batch": [{**m, "sentAt": sent} for m in request.messages], "sentAt": sent}, separators=(",", ":")
    ).encode()
    token = base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    user_agent = str((request.messages[0].get("context") or {}).get("userAgent") or "Mozilla/5.0")
    incoming = IncomingRequest(
        method="POST",
        target="/v1/batch",
        headers=[
            ("Host", "ingest.example.com"),
            ("Authorization", f"Basic {token}"),
            ("Content-Type", "application/json"),
            ("User-Agent", user_agent),
        ],
        body=body,
        source_ip=SOURCE_IP,
        protocol="HTTP/1.1",
    )
    match = RouteTable(ROUTES).match("POST", "/v1/batch")
    assert not isinstance(match, list)
    return build_http_api_event(incoming, match, region="us-east-1", now=now)


def _kinesis_event(records: Sequence[Any], stream_arn: str) -> dict[str, Any]:
    from reviva_dev.local.stream_poller import StreamRecord, build_kinesis_event

    return build_kinesis_event(
        [StreamRecord(r.shard_id, r.sequence_number, r.partition_key, r.data, time.time()) for r in records],
        stream_arn=stream_arn,
        region="us-east-1",
        invoke_identity_arn="arn:aws:iam::123456789012:role/reviva-enrich",
    )


def _read_stream(stream_name: str) -> list[CollectedEvent]:
    from reviva.aws_clients import client
    from reviva.settings import load_settings

    kinesis = client("kinesis", load_settings())
    events: list[CollectedEvent] = []
    for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            events.extend(
                event
                for r in page["Records"]
                for event in decode_record(
                    EnrichRecord(shard["ShardId"], r["SequenceNumber"], r["PartitionKey"], r["Data"])
                ).events
            )
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return events


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
    from reviva.composition import current_composition
    from reviva.lake.maintenance import expire_snapshots

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
    from tests.enrich.fakes import MemoryCounters, MemoryLake, MemoryPoison, MemoryVisitors

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
        # The emulator's werkzeug server: count the lake's S3 requests where they arrive.
        wsgi_server = emulator._server._server
        s3_counter = S3RequestCounter(wsgi_server.app, resources.buckets["lake"])
        wsgi_server.app = s3_counter

        from functions.enrich import handler as enrich_module
        from functions.ingest import handler as ingest_module
        from reviva.composition import Composition, use_composition

        # The functions run on the emulator's resources: adapters built from these settings.
        stack.enter_context(use_composition(Composition(settings)))
        ingest_spec, enrich_spec = function_spec("ingest"), function_spec("enrich")
        _METRIC_NAMES.clear()

        ingest_runs: list[Invocation] = []
        request_bytes = 0
        with metered_calls(settings.aws_region) as (_, stream_usage):
            for request in requests:
                event = _ingest_event(request, datetime.now(UTC))
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
            for e in _read_stream(resources.streams[mapping.stream])
        ]
        stream_arn = resources.stream_arns[mapping.stream]

        # Every commit reads, copies and rewrites the table metadata, which lists every snapshot kept,
        # so a commit's CPU grows with them: each invocation records how many the table held (one per
        # commit since the last expiry), and the model fits the CPU each kept snapshot adds.
        commits = stack.enter_context(counted_lake_commits())

        def run_batches(batches: Sequence[Any], out: list[Invocation]) -> None:
            for batch in batches:
                kept = commits[0]
                result, cpu, wall, logged, calls = _invoke(
                    enrich_spec, enrich_module.handler, _kinesis_event(batch.records, stream_arn)
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
        commits[0] = 1
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
