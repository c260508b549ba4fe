"""How full the enrich function's batches get, from the event rate, the shard count and the window.

Lambda's Kinesis event source mapping reads each shard on its own; a batch opens with the first
record that arrives and closes when the batching window has passed or it holds `batch_size`
records (the rule `reviva_dev.measure.traffic.lambda_batches` replays). So per shard, with events
arriving at rate λ and window W:

- events per batch ≈ min(batch_size, 1 + λ·W) (Poisson arrivals: the opener plus those within W),
- batches per second = λ / events per batch.

Per-visitor work (one DynamoDB transaction per visitor per batch) depends on how many of one
visitor's events share a batch: its event *density*. That is measured by replaying the
simulator's own visits (their real gaps between requests) superimposed at the target rate on one
shard, and counting (visitor, batch) pairs — `simulate_shard`.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

SECONDS_PER_MONTH = 30 * 86_400


@dataclass(frozen=True)
class ShardBatching:
    """Batches and visitor-batches per event on one shard at one rate."""

    rate_per_second: float
    events_per_batch: float
    visitor_batches_per_event: float

    @property
    def batches_per_event(self) -> float:
        return 1.0 / self.events_per_batch


def events_per_batch(rate_per_second: float, window_seconds: float, batch_size: int) -> float:
    """Expected events in one batch on a shard receiving `rate_per_second` (Poisson arrivals)."""
    if rate_per_second <= 0:
        return 1.0
    return max(1.0, min(float(batch_size), 1.0 + rate_per_second * window_seconds))


def hourly_rates(monthly_events: float, profile: Sequence[float]) -> list[float]:
    """Events per second in each UTC hour of the day, given the share of events per hour."""
    total = sum(profile) or 1.0
    daily = monthly_events / (SECONDS_PER_MONTH / 86_400)
    return [daily * share / total / 3600 for share in profile]


def simulate_shard(
    sessions: Sequence[Sequence[float]],
    rate_per_second: float,
    window_seconds: float,
    batch_size: int,
    *,
    target_events: int = 4000,
    seed: int = 1,
) -> ShardBatching:
    """Superimpose visits at `rate_per_second` on one shard and batch them like the event source mapping.

    Visits start as a Poisson process; each keeps the arrival offsets the simulator measured. Only
    events within the observed span count, after a warm-up as long as the longest visit.
    """
    usable = [list(s) for s in sessions if s]
    if not usable or rate_per_second <= 0:
        return ShardBatching(rate_per_second, 1.0, 1.0)
    mean_events = sum(len(s) for s in usable) / len(usable)
    starts_per_second = rate_per_second / mean_events
    longest = max(s[-1] for s in usable)
    # Long enough for `target_events`, and for 40 batches (which close at the window or when full).
    span = max(target_events / rate_per_second, 40 * min(window_seconds, batch_size / rate_per_second))
    rng = random.Random(seed)
    arrivals: list[tuple[float, int]] = []
    t = -longest
    visit = 0
    while t < span:
        t += rng.expovariate(starts_per_second)
        offsets = usable[rng.randrange(len(usable))]
        for offset in offsets:
            at = t + offset
            if 0 <= at < span:
                arrivals.append((at, visit))
        visit += 1
    if not arrivals:
        return ShardBatching(rate_per_second, 1.0, 1.0)
    heapq.heapify(arrivals)
    ordered = [heapq.heappop(arrivals) for _ in range(len(arrivals))]
    batches = 0
    pairs = 0
    opened: float | None = None
    size = 0
    members: set[int] = set()
    for at, visitor in ordered:
        if size and (size >= batch_size or opened is None or at - opened > window_seconds):
            batches += 1
            pairs += len(members)
            size, members = 0, set()
        if not size:
            opened = at
        size += 1
        members.add(visitor)
    if size:
        batches += 1
        pairs += len(members)
    return ShardBatching(rate_per_second, len(ordered) / batches, pairs / len(ordered))


# Scenarios repeat the same (sessions, rate, window, batch size): simulate each once per process.
_SHARD_CACHE: dict[tuple[int, float, float, int], ShardBatching] = {}


@dataclass(frozen=True)
class MonthlyBatching:
    """Enrich invocations and visitor transactions for a month's volume."""

    batches: float
    visitor_batches: float
    events_per_batch: float  # volume-weighted mean
    peak_shard_rate: float  # events per second per shard in the busiest hour


def monthly_batching(
    monthly_events: float,
    profile: Sequence[float],
    sessions: Sequence[Sequence[float]],
    shards: int,
    window_seconds: float,
    batch_size: int,
) -> MonthlyBatching:
    """Sum `simulate_shard` over the hours of a day (the traffic's daily shape) and the month."""
    batches = 0.0
    pairs = 0.0
    rates = hourly_rates(monthly_events, profile)
    for rate in rates:
        per_shard = rate / shards
        if per_shard <= 0:
            continue
        key = (id(sessions), round(per_shard, 6), window_seconds, batch_size)
        if key not in _SHARD_CACHE:
            _SHARD_CACHE[key] = simulate_shard(sessions, per_shard, window_seconds, batch_size)
        shard = _SHARD_CACHE[key]
        hour_events = rate * 3600 * (SECONDS_PER_MONTH / 86_400)
        batches += hour_events / shard.events_per_batch
        pairs += hour_events * shard.visitor_batches_per_event
    return MonthlyBatching(
        batches=batches,
        visitor_batches=pairs,
        events_per_batch=monthly_events / batches if batches else 0.0,
        peak_shard_rate=max(rates, default=0.0) / shards,
    )


def shards_for(peak_records_per_second: float, record_bytes: float, headroom: float = 2.0) -> int:
    """Provisioned shards for a peak write rate: 1,000 records/s and 1 MB/s each, with headroom."""
    by_records = peak_records_per_second * headroom / 1000
    by_bytes = peak_records_per_second * record_bytes * headroom / (1024 * 1024)
    return max(1, math.ceil(max(by_records, by_bytes)))
