"""Per-minute live counters for the realtime dashboard.

Counted by event time, for events that reach the stream within an hour of happening: the realtime
view covers the last 30 minutes, so older events (an offline queue flushed days later) belong to the
lake's history, not to the live tiles.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from reviva.contracts.events import CollectedEvent
from reviva.enrich.ports import MinuteCounts

LIVE_WINDOW = timedelta(hours=1)
# Client clocks run ahead despite skew correction; an event "from the future" beyond this is not live.
FUTURE_TOLERANCE = timedelta(minutes=5)
BOT_LABEL = "bot"


def minute_bucket(moment: datetime) -> str:
    """ "2026-11-24T21:07": the minute an event counts in (UTC)."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def visitor_token(visitor_key: str) -> str:
    """What a minute keeps of an active visitor: their key, so the realtime view can list who is here.

    It used to be a 6-byte hash, enough to count but not to open anyone. The key is the pseudonymous
    id the visitors table is keyed by (never an e-mail or a raw user id) and the counter item expires
    after two days. Cost: ~26 bytes more per visitor a minute on the counter items, written once a
    batch, not once a visitor (docs/cost.md).
    """
    return visitor_key


def event_labels(event: CollectedEvent) -> tuple[str, ...]:
    """The counters one event increments: its type, and for a track call its name."""
    if event.type == "track" and event.event:
        return ("track", f"event:{event.event[:100]}")
    return (event.type,)


class LiveCounterBatch:
    """Counter increments accumulated over one batch, coalesced per minute."""

    def __init__(self) -> None:
        self.minutes: dict[str, MinuteCounts] = {}

    def add(self, event: CollectedEvent, is_bot: bool) -> None:
        """Count one new event, unless it is too old for the live window."""
        lag = event.received_at - event.timestamp
        if lag > LIVE_WINDOW or lag < -FUTURE_TOLERANCE:
            return
        bucket = self.minutes.setdefault(minute_bucket(event.timestamp), MinuteCounts())
        labels = (BOT_LABEL,) if is_bot else event_labels(event)
        for label in labels:
            bucket.counts[label] = bucket.counts.get(label, 0) + 1
        if not is_bot:
            bucket.visitors.add(visitor_token(event.visitor_key))

    def __bool__(self) -> bool:
        return bool(self.minutes)
