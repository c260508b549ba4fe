"""Repeated timings reported as medians or percentiles, on one core."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any


def pin_to_one_core() -> str:
    """Run on one core so figures mean "per core"; say which."""
    if hasattr(os, "sched_setaffinity"):
        core = sorted(os.sched_getaffinity(0))[0]
        os.sched_setaffinity(0, {core})
        return f"core {core}"
    return "unpinned"


def median_rate(work: Callable[[], int], repeats: int = 7) -> tuple[float, list[float]]:
    """Items per second of `work` (which returns how many items it did): median and all runs."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        items = work()
        rates.append(items / (time.perf_counter() - start))
    return statistics.median(rates), rates


def elapsed_ms(call: Callable[[], Any]) -> float:
    """Wall-clock milliseconds one call of `call` takes."""
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank `q` quantile (0..1) of `values`."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]
