"""A small fixed dataset with hand-computed answers (see the tests), as lake rows.

Day D = Monday 2026-11-02 (UTC).
- A: session sA1 on D 10:00-10:10 (organic_search, desktop, PT): / → /pricing → Booking Started →
  Booking Submitted (conversion, 100); an identify without a session at 10:00:30; session sA2
  on D+8 09:00 (direct): / (a bounce).
- B: session sB1 on D 11:00-11:02 (paid_search, campaign bf, google/cpc): / → /pricing; session
  sB2 on D+1 09:00-10:00 (direct): /pricing → Booking Started → Booking Submitted (conversion, 50).
- C: session sC1 on D 12:00 (paid_search, campaign bf, mobile, ES): / (a bounce).
- D: session sD1 on D+7 08:00 (email, campaign nl): / (a bounce).
- a bot on D 13:00 (excluded everywhere).
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa

from reviva.adapters.lake.schema import events_to_arrow
from reviva.contracts.events import EnrichedEvent

__all__ = ["D", "at", "events", "events_to_arrow", "page", "row", "table", "track"]

D = date(2026, 11, 2)
_ids = itertools.count(1)


def at(day_offset: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(D.year, D.month, D.day, hh, mm, ss, tzinfo=UTC) + timedelta(days=day_offset)


def row(visitor: str, when: datetime, kind: str = "page", **fields: Any) -> EnrichedEvent:
    values: dict[str, Any] = {
        "message_id": f"m{next(_ids):04d}",
        "visitor_key": f"a:{visitor}",
        "anonymous_id": visitor,
        "event_type": kind,
        "event_time": when,
        "event_date": when.date(),
        "received_at": when + timedelta(seconds=1),
        "device_type": "desktop",
        "country": "PT",
        "channel": "direct",
    }
    values.update(fields)
    return EnrichedEvent(**values)


def page(
    visitor: str, when: datetime, path: str, session: str, touchpoint: str, stage: str, **f: Any
) -> EnrichedEvent:
    return row(
        visitor,
        when,
        "page",
        page_path=path,
        session_id=session,
        touchpoint=touchpoint,
        journey_stage=stage,
        **f,
    )


def track(visitor: str, when: datetime, name: str, session: str, touchpoint: str, **f: Any) -> EnrichedEvent:
    return row(
        visitor,
        when,
        "track",
        event_name=name,
        session_id=session,
        touchpoint=touchpoint,
        journey_stage="decision",
        **f,
    )


def events() -> list[EnrichedEvent]:
    organic = {"channel": "organic_search"}
    bf = {"channel": "paid_search", "utm_campaign": "bf", "utm_source": "google", "utm_medium": "cpc"}
    return [
        page("A", at(0, 10), "/", "sA1", "landing_page", "awareness", **organic),
        row("A", at(0, 10, 0, 30), "identify", user_id="u_1"),
        page("A", at(0, 10, 1), "/pricing", "sA1", "pricing_check", "consideration", channel="internal"),
        track("A", at(0, 10, 5), "Booking Started", "sA1", "booking_start"),
        track(
            "A",
            at(0, 10, 10),
            "Booking Submitted",
            "sA1",
            "booking_submitted",
            is_conversion=True,
            revenue=100.0,
        ),
        page("B", at(0, 11), "/", "sB1", "landing_page", "awareness", **bf),
        page("B", at(0, 11, 2), "/pricing", "sB1", "pricing_check", "consideration", channel="internal"),
        page("B", at(1, 9), "/pricing", "sB2", "pricing_check", "consideration"),
        track("B", at(1, 9, 30), "Booking Started", "sB2", "booking_start"),
        track(
            "B", at(1, 10), "Booking Submitted", "sB2", "booking_submitted", is_conversion=True, revenue=50.0
        ),
        page(
            "C", at(0, 12), "/", "sC1", "landing_page", "awareness", device_type="mobile", country="ES", **bf
        ),
        page("bot", at(0, 13), "/", "sX", "landing_page", "awareness", is_bot=True),
        page("D", at(7, 8), "/", "sD1", "landing_page", "awareness", channel="email", utm_campaign="nl"),
        page("A", at(8, 9), "/", "sA2", "landing_page", "retention"),
    ]


def table() -> pa.Table:
    return events_to_arrow(events())
