"""Days and ranges of days in UTC, as the endpoints and rollups count them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


def day_start(day: date) -> datetime:
    """Midnight UTC of a day."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def days_in(first: date, last: date) -> list[date]:
    """Every day from first to last, both included."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def lake_range(first: date, last: date) -> tuple[datetime, datetime]:
    """The half-open UTC range [first 00:00, the day after last 00:00) a lake query filters on."""
    return day_start(first), day_start(last + timedelta(days=1))
