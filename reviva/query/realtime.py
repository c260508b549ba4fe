"""The realtime tiles: live counters of the last 30 minutes."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from reviva.query.ports import MinuteWindow

REALTIME_WINDOW_MINUTES = 30
ACTIVE_NOW_MINUTES = 5


def realtime_view(per_minute: list[MinuteWindow], now: datetime) -> dict[str, Any]:
    """Totals, a per-minute series and active visitors (last 30 and last 5 minutes)."""
    totals: Counter[str] = Counter()
    active: set[str] = set()
    active_now: set[str] = set()
    recent_cutoff = (now - timedelta(minutes=ACTIVE_NOW_MINUTES - 1)).strftime("%Y-%m-%dT%H:%M")
    series = []
    for bucket, counts, visitors in per_minute:
        totals.update(counts)
        active |= visitors
        if bucket >= recent_cutoff:
            active_now |= visitors
        series.append({"minute": bucket, "counts": dict(counts), "active_visitors": len(visitors)})
    event_names = {k.removeprefix("event:"): v for k, v in totals.items() if k.startswith("event:")}
    types = {k: v for k, v in totals.items() if not k.startswith("event:")}
    return {
        "window_minutes": REALTIME_WINDOW_MINUTES,
        "generated_at": now.isoformat(),
        "data_as_of": now.isoformat(),
        "events_by_type": types,
        "track_events": event_names,
        "total_events": sum(v for k, v in types.items() if k != "bot"),
        "bot_events": types.get("bot", 0),
        "active_visitors": len(active),
        "active_visitors_5m": len(active_now),
        "per_minute": series,
    }
