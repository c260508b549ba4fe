"""The benchmark's traffic: the simulator's mix, validated by ingest, laid out on Kinesis shards."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reviva.enrich.stream_records import StreamRecord
from reviva.events import CollectedEvent
from reviva.ingest.service import IngestConfig, IngestService, RequestContext
from reviva.simulate import plan_traffic

BENCH_KEY = b"bench-pseudonymization-key-0000"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SHARDS = 4


class NullPublisher:
    def publish(self, events):  # type: ignore[no-untyped-def]
        raise AssertionError("the benchmark calls build_events, not publish")


class NullRejected:
    def record(self, rejections):  # type: ignore[no-untyped-def]
        pass

    def list_recent(self, limit):  # type: ignore[no-untyped-def]
        return []


def ingest_service() -> IngestService:
    """The real ingest service with stubbed AWS adapters."""
    config = IngestConfig(frozenset({"bench"}), BENCH_KEY, ("*",))
    return IngestService(config, NullPublisher(), NullRejected(), clock=lambda: NOW)  # type: ignore[arg-type]


def request_context(received_at: datetime = NOW) -> RequestContext:
    return RequestContext(received_at=received_at, source_id="bench", ip_truncated="203.0.113.0")


def simulated_messages(visitors: int, days: int, seed: int = 11) -> list[dict]:  # type: ignore[type-arg]
    """Segment messages as `reviva simulate` would send them, in send order."""
    return list(plan_traffic(visitors, days, seed, now=NOW).messages)


def collected_events(messages: list[dict]) -> list[CollectedEvent]:  # type: ignore[type-arg]
    """What ingest would put on the stream for these messages (received as they happen)."""
    service = ingest_service()
    events: list[CollectedEvent] = []
    for message in messages:
        stamp = datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00"))
        # The sender stamps sentAt when it sends: an event leaves the browser ~100 ms after it happens.
        sent = {**message, "sentAt": (stamp + timedelta(milliseconds=100)).isoformat()}
        built = service.build_events([sent], request_context(stamp + timedelta(milliseconds=200)))
        events.extend(built.events)
    return events


def shard_of(partition_key: str, shards: int = SHARDS) -> int:
    """Kinesis' mapping: the MD5 of the partition key in evenly split hash-key ranges."""
    return int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big") * shards >> 128


@dataclass
class ShardBatch:
    shard_id: str
    records: list[StreamRecord]


def lambda_batches(
    events: list[CollectedEvent], window_seconds: float, max_batch: int = 500, shards: int = SHARDS
) -> Iterator[ShardBatch]:
    """Batches as the event source mapping would form them, with events arriving as they happen.

    A batch closes when its window has passed since its first record, or when it is full.
    """
    per_shard: dict[int, list[CollectedEvent]] = {}
    for event in sorted(events, key=lambda e: e.received_at):
        per_shard.setdefault(shard_of(event.visitor_key, shards), []).append(event)
    for shard, shard_events in sorted(per_shard.items()):
        shard_id = f"shardId-{shard:012d}"
        batch: list[StreamRecord] = []
        opened: datetime | None = None
        for sequence, event in enumerate(shard_events, start=1):
            if batch and (
                len(batch) >= max_batch
                or opened is None
                or (event.received_at - opened).total_seconds() > window_seconds
            ):
                yield ShardBatch(shard_id, batch)
                batch = []
            if not batch:
                opened = event.received_at
            data = event.model_dump_json(exclude_none=True).encode()
            batch.append(StreamRecord(shard_id, str(sequence), event.visitor_key, data))
        if batch:
            yield ShardBatch(shard_id, batch)
