"""Totals over a run of daily rollups: additive figures summed, visitors merged through the sketches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reviva.analytics import hll


@dataclass
class Totals:
    """The additive figures of some days, and their (estimated, past one day) distinct visitors."""

    visitors: int = 0
    sessions: int = 0
    page_views: int = 0
    bounced: int = 0
    duration: float = 0.0
    converted: int = 0
    conversions: int = 0
    revenue: float = 0.0


def sum_days(rollups: list[dict[str, Any]]) -> Totals:
    """The totals of these days' rollups."""
    totals = Totals()
    for rollup in rollups:
        for hour in rollup["hours"]:
            totals.sessions += hour["sessions"]
            totals.page_views += hour["page_views"]
            totals.bounced += hour["bounced_sessions"]
            totals.duration += hour["duration_seconds"]
            totals.converted += hour["converted_sessions"]
            totals.conversions += hour["conversions"]
            totals.revenue += hour["revenue"]
    totals.visitors = _visitors(rollups)
    return totals


def _visitors(rollups: list[dict[str, Any]]) -> int:
    # One day's count is exact; several days' visitors merge through their HyperLogLog sketches.
    if len(rollups) == 1:
        return int(rollups[0]["visitors"])
    sketches = [hll.decode(r["hll"]) for r in rollups if r["visitors"]]
    return hll.estimate(hll.merge(sketches)) if sketches else 0
