"""Issue 2's figures: ingest and enrich throughput, and AWS requests per event."""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviva.adapters.kinesis_publisher import KinesisPublisher, RecordFormat, build_records
from reviva.contracts.events import CollectedEvent
from reviva.enrich.journey_rules import load_journey_rules
from reviva.enrich.service import EnrichPorts, process_batch
from reviva.enrich.stream_records import StreamRecord, decode_record
from reviva_dev.fakes.enrich import MemoryCounters, MemoryLake, MemoryPoison, MemoryVisitors
from reviva_dev.fakes.ingest import AcceptingKinesis
from reviva_dev.measure.aws_calls import DYNAMODB_READS, DYNAMODB_WRITES, counted_aws_calls, per_service
from reviva_dev.measure.timing import median_rate
from reviva_dev.measure.tracker_requests import tracker_requests
from reviva_dev.measure.traffic import (
    ingest_collector,
    ingest_requests,
    lambda_batches,
    request_context,
    simulated_messages,
    tracked_events,
)

INGEST_BATCH = 500


@dataclass
class PipelineFigures:
    messages: int = 0
    visitors: int = 0
    ingest_rate: float = 0.0
    ingest_runs: list[float] = field(default_factory=list)
    enrich_rate: float = 0.0
    enrich_runs: list[float] = field(default_factory=list)
    enrich_window: float = 0.0
    per_window: list[dict[str, Any]] = field(default_factory=list)
    lake_objects_per_commit: float = 0.0
    kinesis_calls: list[tuple[int, float]] = field(default_factory=list)
    # Ingest with publishing (serialize, group, compress; Kinesis stubbed), tracker-shaped requests.
    publish_rate: float = 0.0
    publish_runs: list[float] = field(default_factory=list)
    # Per record format ("event", "envelope"): records, bytes and billed 1 KB units per event.
    stream: dict[str, dict[str, float]] = field(default_factory=dict)


def bench_ingest(messages: list[dict[str, Any]]) -> tuple[float, list[float]]:
    """Messages validated and turned into CollectedEvents per second (AWS stubbed)."""
    collector = ingest_collector()
    context = request_context()
    batches = [messages[i : i + INGEST_BATCH] for i in range(0, len(messages), INGEST_BATCH)]

    def work() -> int:
        accepted = 0
        for batch in batches:
            accepted += len(collector.build_events(batch, context).events)
        return accepted

    return median_rate(work)


def bench_ingest_publish(
    messages: list[dict[str, Any]], record_format: RecordFormat = "envelope"
) -> tuple[float, list[float]]:
    """Messages per second validated AND published (records built and compressed), one tracker
    request at a time, Kinesis stubbed."""
    collector = ingest_collector()
    context = request_context()
    requests = [request.messages for request in tracker_requests(messages)]

    def work() -> int:
        published = 0
        publisher = KinesisPublisher(AcceptingKinesis(), "bench", record_format=record_format)
        for request in requests:
            published += publisher.publish(collector.build_events(request, context).events).published
        return published

    return median_rate(work)


def stream_figures(events: list[CollectedEvent]) -> dict[str, dict[str, float]]:
    """Records, metered bytes (data + partition key) and billed 1 KB units per event on the
    stream, for one record per event ("event") and one envelope per (request, visitor)."""
    figures: dict[str, dict[str, float]] = {}
    requests = ingest_requests(events)
    formats: tuple[RecordFormat, ...] = ("event", "envelope")
    for record_format in formats:
        records = size = units = 0
        for request in requests:
            drafts, _ = build_records(request, record_format)
            records += len(drafts)
            size += sum(draft.size for draft in drafts)
            units += sum(-(-draft.size // 1024) for draft in drafts)
        figures[record_format] = {
            "records_per_event": records / len(events),
            "bytes_per_event": size / len(events),
            "units_per_event": units / len(events),
        }
    return figures


def _memory_ports() -> EnrichPorts:
    counters = MemoryCounters()
    return EnrichPorts(
        MemoryVisitors(counters), counters, MemoryLake(), MemoryPoison(), load_journey_rules(None)
    )


def bench_enrich(events: list[CollectedEvent], window: float) -> tuple[float, list[float]]:
    """Events enriched per second through `process_batch`, stores in memory."""
    batches = list(lambda_batches(events, window))

    def work() -> int:
        ports = _memory_ports()
        done = 0
        for batch in batches:
            done += batch.events
            process_batch(batch.records, ports)
        return done

    return median_rate(work, repeats=5)


def requests_per_event(events: list[CollectedEvent], window: float) -> dict[str, Any]:
    """DynamoDB requests per event through the real adapters on moto (lake in memory)."""
    from moto import mock_aws

    from reviva.adapters.dynamodb.counter_repository import DynamoCounterRepository
    from reviva.adapters.dynamodb.tables import create_tables
    from reviva.adapters.dynamodb.visitor_repository import DynamoVisitorRepository
    from reviva.settings import Settings

    batches = list(lambda_batches(events, window))
    with mock_aws():
        settings = Settings()
        create_tables(settings)
        counters = DynamoCounterRepository(settings)
        ports = EnrichPorts(
            DynamoVisitorRepository(settings, counters=counters),
            counters,
            MemoryLake(),
            MemoryPoison(),
            load_journey_rules(None),
        )
        stats: Counter[str] = Counter()
        with counted_aws_calls() as calls:
            for batch in batches:
                stats.update(process_batch(batch.records, ports).stats)
    writes = sum(n for (svc, op), n in calls.items() if svc == "dynamodb" and op in DYNAMODB_WRITES)
    reads = sum(n for (svc, op), n in calls.items() if svc == "dynamodb" and op in DYNAMODB_READS)
    visitor_writes = sum(
        n
        for (svc, op), n in calls.items()
        if svc == f"dynamodb:{settings.visitors_table}" and op in DYNAMODB_WRITES
    )
    lake_commits = sum(1 for b in batches if b.records)
    return {
        "window": window,
        "events": len(events),
        "batches": len(batches),
        "events_per_batch": len(events) / len(batches),
        "dynamodb_writes_per_event": writes / len(events),
        "visitor_writes_per_event": visitor_writes / len(events),
        "batch_writes_per_event": (writes - visitor_writes) / len(events),
        "dynamodb_reads_per_event": reads / len(events),
        "lake_commits_per_event": lake_commits / len(events),
        "bot_share": stats["bot"] / len(events),
        "calls": dict(per_service(calls)),
    }


SECONDS_PER_MONTH = 30 * 86_400
MONTHLY_VOLUMES = (1_000_000, 10_000_000, 100_000_000, 1_000_000_000)


def events_per_batch(monthly_events: int, window: float, shards: int = 4, batch_size: int = 500) -> float:
    """How full a batch gets: a shard's arrivals within the window, at least one, at most a batch."""
    per_shard_rate = monthly_events / SECONDS_PER_MONTH / shards
    return max(1.0, min(float(batch_size), per_shard_rate * window))


def modelled_writes_per_event(
    visitor_writes_per_event: float, bot_share: float, monthly_events: int, window: float
) -> float:
    """Visitor writes (measured: they depend on each visitor's event density, not on the
    traffic rate; the batch's counters ride in the first of them) plus the counters transaction of
    a batch with no human visitor to carry it: probability bot_share^n for a batch of n events."""
    n = events_per_batch(monthly_events, window)
    return visitor_writes_per_event + bot_share**n / n


def lake_objects_per_commit(events: list[CollectedEvent], commits: int = 5) -> float:
    """Objects one lake commit writes (data, manifest, manifest list, metadata), on a file warehouse."""
    from reviva.adapters.lake.catalog import ensure_events_table, load_lake_catalog
    from reviva.adapters.lake.writer import LakeWriter
    from reviva.enrich.event_facts import describe_event
    from reviva.enrich.lake_rows import build_lake_row
    from reviva.enrich.visitor_update import AppliedEvent
    from reviva.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(LAKE_BUCKET=f"file://{tmp}/lake", LAKE_CATALOG_URI=f"sqlite:///{tmp}/catalog.db")
        writer = LakeWriter(lambda: ensure_events_table(load_lake_catalog(settings), settings))
        writer.watermark("warm-up")
        before = sum(1 for p in Path(tmp, "lake").rglob("*") if p.is_file())
        batch = list(lambda_batches(events[: commits * 200], window_seconds=1e9, max_batch=200))
        sequence = 0
        for shard_batch in batch[:commits]:
            rows = []
            for record in shard_batch.records:
                # One sequence across the shards' batches, so no commit is skipped as a replay.
                sequence += 1
                renumbered = StreamRecord("shardId-bench", str(sequence), record.partition_key, record.data)
                for event in decode_record(renumbered).events:
                    rows.append(build_lake_row(renumbered, event, describe_event(event), AppliedEvent()))
            writer.append("shardId-bench", rows, str(sequence))
        after = sum(1 for p in Path(tmp, "lake").rglob("*") if p.is_file())
        return (after - before) / max(1, min(commits, len(batch)))


def kinesis_calls_per_event(client_batch_sizes: tuple[int, ...] = (1, 10, 100)) -> list[tuple[int, float]]:
    """PutRecords calls per event: one per ingest request (a request holds at most 2,500 messages)."""
    return [(size, 1 / size) for size in client_batch_sizes]


def run(visitors: int = 300, days: int = 7, windows: tuple[float, ...] = (1, 5, 30, 60)) -> PipelineFigures:
    """Every figure of the pipeline section."""
    figures = PipelineFigures(visitors=visitors)
    messages = simulated_messages(visitors, days)
    figures.messages = len(messages)
    figures.ingest_rate, figures.ingest_runs = bench_ingest(messages)
    figures.publish_rate, figures.publish_runs = bench_ingest_publish(messages)
    events = tracked_events(messages)
    figures.stream = stream_figures(events)
    figures.enrich_window = 5
    figures.enrich_rate, figures.enrich_runs = bench_enrich(events, figures.enrich_window)
    figures.per_window = [requests_per_event(events, w) for w in windows]
    figures.lake_objects_per_commit = lake_objects_per_commit(events)
    figures.kinesis_calls = kinesis_calls_per_event()
    return figures
