"""Measured traffic: the simulator's mix, validated by ingest, laid out on Kinesis shards."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reviva.adapters.kinesis_publisher import RecordFormat, build_records
from reviva.contracts.events import CollectedEvent
from reviva.enrich.stream_records import StreamRecord
from reviva.ingest.collector import Collector, RequestContext
from reviva.privacy.policy import PrivacyPolicy
from reviva_dev.fakes.ingest import DiscardingRejectedStore, RefusingPublisher
from reviva_dev.measure.tracker_requests import tracker_requests
from reviva_dev.simulate import plan_traffic

BENCH_KEY = b"bench-pseudonymization-key-0000"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SHARDS = 4


def ingest_collector() -> Collector:
    """The real collector and privacy policy with AWS out of the way: it builds events, never publishes."""
    return Collector(PrivacyPolicy(BENCH_KEY), RefusingPublisher(), DiscardingRejectedStore())


def request_context(received_at: datetime = NOW) -> RequestContext:
    return RequestContext(received_at=received_at, source_id="bench", ip_truncated="203.0.113.0")


def simulated_messages(visitors: int, days: int, seed: int = 11) -> list[dict]:  # type: ignore[type-arg]
    """Segment messages as `reviva simulate` would send them, in send order."""
    return list(plan_traffic(visitors, days, seed, now=NOW).messages)


def collected_events(messages: list[dict]) -> list[CollectedEvent]:  # type: ignore[type-arg]
    """What ingest would put on the stream for these messages (received as they happen)."""
    collector = ingest_collector()
    events: list[CollectedEvent] = []
    for message in messages:
        stamp = datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00"))
        # The sender stamps sentAt when it sends: an event leaves the browser ~100 ms after it happens.
        sent = {**message, "sentAt": (stamp + timedelta(milliseconds=100)).isoformat()}
        built = collector.build_events([sent], request_context(stamp + timedelta(milliseconds=200)))
        events.extend(built.events)
    return events


def tracked_events(messages: list[dict]) -> list[CollectedEvent]:  # type: ignore[type-arg]
    """What ingest would put on the stream when a browser tracker sends these messages.

    The tracker's requests (`reviva_dev.measure.tracker_requests`, the policy of tracker/delivery-policy.json)
    are received 200 ms after they are sent; a request's events share its receipt time, which is
    how `lambda_batches` finds them together again.
    """
    collector = ingest_collector()
    events: list[CollectedEvent] = []
    for request in tracker_requests(messages):
        sent = [{**message, "sentAt": request.sent_at.isoformat()} for message in request.messages]
        received = request_context(request.sent_at + timedelta(milliseconds=200))
        events.extend(collector.build_events(sent, received).events)
    return events


def ingest_requests(events: Sequence[CollectedEvent]) -> list[list[CollectedEvent]]:
    """Events regrouped into the ingest requests that carried them, in order of receipt.

    Ingest stamps one receipt time on a request, so (receipt time, visitor) finds each request's
    events of one visitor, which is all the publisher ever puts in one envelope.
    """
    requests: dict[tuple[datetime, str], list[CollectedEvent]] = {}
    for event in sorted(events, key=lambda e: e.received_at):
        requests.setdefault((event.received_at, event.visitor_key), []).append(event)
    return list(requests.values())


def shard_of(partition_key: str, shards: int = SHARDS) -> int:
    """Kinesis' mapping: the MD5 of the partition key in evenly split hash-key ranges."""
    return int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big") * shards >> 128


@dataclass
class ShardBatch:
    shard_id: str
    records: list[StreamRecord]
    # Events the records carry (an envelope record carries several).
    events: int = 0


def lambda_batches(
    events: list[CollectedEvent],
    window_seconds: float,
    max_batch: int = 500,
    shards: int = SHARDS,
    record_format: RecordFormat = "envelope",
) -> Iterator[ShardBatch]:
    """Batches as the event source mapping would form them, with records arriving as they happen.

    The records are what `KinesisPublisher` puts for each ingest request (`ingest_requests`):
    one envelope per (request, visitor), or one plain record per event with "event". A batch
    holds at most `max_batch` records and closes when its window has passed since its first.
    """
    per_shard: dict[int, list[tuple[datetime, bytes, str, int]]] = {}
    for request in ingest_requests(events):
        drafts, failed = build_records(request, record_format)
        if failed:
            raise ValueError(f"the publisher could not carry {len(failed)} events: {failed[0]}")
        for draft in drafts:
            placed = (request[0].received_at, draft.data, draft.partition_key, len(draft.event_indexes))
            per_shard.setdefault(shard_of(draft.partition_key, shards), []).append(placed)
    for shard, shard_records in sorted(per_shard.items()):
        shard_id = f"shardId-{shard:012d}"
        batch = ShardBatch(shard_id, [])
        opened: datetime | None = None
        for sequence, (arrived, data, key, carried) in enumerate(shard_records, start=1):
            if batch.records and (
                len(batch.records) >= max_batch
                or opened is None
                or (arrived - opened).total_seconds() > window_seconds
            ):
                yield batch
                batch = ShardBatch(shard_id, [])
            if not batch.records:
                opened = arrived
            batch.records.append(StreamRecord(shard_id, str(sequence), key, data))
            batch.events += carried
        if batch.records:
            yield batch
