"""The batching model: events per batch from rate, window and batch size; visitor density."""

from __future__ import annotations

import pytest

from cost.batching import events_per_batch, hourly_rates, monthly_batching, shards_for, simulate_shard


def test_events_per_batch_from_rate_window_and_size() -> None:
    assert events_per_batch(2.0, 5.0, 500) == 11.0  # the opener plus 2/s x 5 s
    assert events_per_batch(1000.0, 30.0, 500) == 500.0  # full before the window ends
    assert events_per_batch(0.001, 1.0, 500) == pytest.approx(1.001)
    assert events_per_batch(0.0, 1.0, 500) == 1.0


def test_simulated_shard_matches_the_poisson_formula() -> None:
    single = [[0.0]]
    for rate, window in ((0.2, 5.0), (2.0, 5.0), (10.0, 1.0)):
        shard = simulate_shard(single, rate, window, 500, target_events=20_000)
        assert shard.events_per_batch == pytest.approx(events_per_batch(rate, window, 500), rel=0.06)
        assert shard.visitor_batches_per_event == pytest.approx(1.0)


def test_batch_size_caps_the_batch() -> None:
    shard = simulate_shard([[0.0]], 100.0, 60.0, 50, target_events=5_000)
    assert shard.events_per_batch == pytest.approx(50, rel=0.02)


def test_visitor_density_decides_visitor_batches() -> None:
    visit = [[0.0, 1.0, 2.0]]  # three events within two seconds
    sparse = simulate_shard(visit, 0.01, 30.0, 500, target_events=3_000)
    assert sparse.visitor_batches_per_event == pytest.approx(1 / 3, rel=0.05)
    spread = [[0.0, 100.0, 200.0]]  # far apart: one transaction each
    assert simulate_shard(
        spread, 0.01, 30.0, 500, target_events=3_000
    ).visitor_batches_per_event == pytest.approx(1.0, rel=0.02)


def test_volume_tiers_fill_batches() -> None:
    profile = [1 / 24] * 24
    sessions = [[0.0, 20.0, 45.0]]
    per_event = []
    for volume in (1e6, 10e6, 100e6, 1e9):
        month = monthly_batching(volume, profile, sessions, shards=4, window_seconds=5, batch_size=500)
        assert month.events_per_batch <= 500
        per_event.append(month.batches / volume)
    assert per_event == sorted(per_event, reverse=True)
    # 100M a month on 4 shards: 9.6 events/s a shard, so about 1 + 9.6 x 5 = 49 a batch.
    month = monthly_batching(100e6, profile, sessions, shards=4, window_seconds=5, batch_size=500)
    assert month.events_per_batch == pytest.approx(49.2, rel=0.08)


def test_hourly_rates_sum_to_the_volume() -> None:
    profile = [0.0] * 12 + [1.0] * 12
    rates = hourly_rates(30 * 86_400, profile)
    assert sum(r * 3600 for r in rates) == pytest.approx(86_400)
    assert rates[0] == 0.0 and rates[12] == pytest.approx(2.0)


def test_provisioned_shards_for_peak() -> None:
    assert shards_for(10, 1536) == 1
    assert shards_for(700, 1536) == 3  # ~1 MB/s x 2 headroom needs 3 shards of 1 MB/s
    assert shards_for(900, 100) == 2  # records, not bytes, bind: 1,800/s with headroom
