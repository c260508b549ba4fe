"""Rounded ratios and changes, as every endpoint reports them (0 or None when undefined)."""

from __future__ import annotations


def ratio(numerator: float, denominator: float, digits: int = 4) -> float:
    """numerator / denominator rounded to `digits`; 0.0 when the denominator is 0."""
    return round(numerator / denominator, digits) if denominator else 0.0


def change(value: float, previous: float) -> float | None:
    """The relative change from `previous` (4 digits); None when there was nothing before."""
    return round((value - previous) / previous, 4) if previous else None
