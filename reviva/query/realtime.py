"""The realtime tiles: live counters of the last 30 minutes, and who is on the site.

The counters give the totals, the per-minute series and the keys of the visitors active in each
minute. The live lists (visitors, the pages they are on, where they came from) come from the
profiles of the most recently active of them: one BatchGetItem of at most `LIVE_PROFILES` keys a
refresh, whatever the traffic. With more visitors than that on the site, the pages and sources are
those of the most recent `LIVE_PROFILES` (`live_sampled` says so) while the counts stay exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from reviva.enrich.ports import StoredVisitor
from reviva.query.ports import MinuteWindow

REALTIME_WINDOW_MINUTES = 30
ACTIVE_NOW_MINUTES = 5
LIVE_PROFILES = 100
LIVE_VISITORS_SHOWN = 25
LIVE_TOP = 8

# The events the browser tracker sends by itself (tracker/src/tracker.ts). Realtime lists the site's
# own events (pricing views, bookings) first; these follow as "automatic".
AUTOMATIC_EVENTS = frozenset(
    {
        "Session Started",
        "Consent Updated",
        "Page Performance",
        "Web Vitals",
        "Scroll Depth Reached",
        "Element Clicked",
        "CTA Clicked",
        "Form Field Focused",
        "Form Submitted",
        "Rage Click",
        "Exit Intent",
    }
)

ProfileLoader = Callable[[Sequence[str]], Mapping[str, StoredVisitor]]


def realtime_view(
    per_minute: list[MinuteWindow], now: datetime, load_profiles: ProfileLoader | None = None
) -> dict[str, Any]:
    """Totals, a per-minute series, active visitors (last 30 and last 5 minutes) and the live lists."""
    totals: Counter[str] = Counter()
    last_minute: dict[str, str] = {}
    active_now: set[str] = set()
    recent_cutoff = (now - timedelta(minutes=ACTIVE_NOW_MINUTES - 1)).strftime("%Y-%m-%dT%H:%M")
    series = []
    for bucket, counts, visitors in per_minute:
        totals.update(counts)
        for visitor in visitors:
            last_minute[visitor] = max(bucket, last_minute.get(visitor, ""))
        if bucket >= recent_cutoff:
            active_now |= visitors
        series.append({"minute": bucket, "counts": dict(counts), "active_visitors": len(visitors)})
    event_names = {k.removeprefix("event:"): v for k, v in totals.items() if k.startswith("event:")}
    types = {k: v for k, v in totals.items() if not k.startswith("event:")}
    view: dict[str, Any] = {
        "window_minutes": REALTIME_WINDOW_MINUTES,
        "generated_at": now.isoformat(),
        "data_as_of": now.isoformat(),
        "events_by_type": types,
        "track_events": event_names,
        "business_events": _ranked({k: v for k, v in event_names.items() if k not in AUTOMATIC_EVENTS}),
        "automatic_events": _ranked({k: v for k, v in event_names.items() if k in AUTOMATIC_EVENTS}),
        "total_events": sum(v for k, v in types.items() if k != "bot"),
        "bot_events": types.get("bot", 0),
        "active_visitors": len(last_minute),
        "active_visitors_5m": len(active_now),
        "per_minute": series,
    }
    view.update(_live_lists(last_minute, active_now, load_profiles))
    return view


def _ranked(counts: Mapping[str, int]) -> list[dict[str, Any]]:
    return [{"key": k, "value": v} for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _live_lists(
    last_minute: Mapping[str, str], active_now: set[str], load_profiles: ProfileLoader | None
) -> dict[str, Any]:
    """The live visitors (most recent first), the pages they are on and the sources they came from."""
    # Keys that are not visitor keys (minutes counted before keys were kept held 12-digit tokens).
    keys = sorted((k for k in last_minute if ":" in k), key=lambda k: (last_minute[k], k), reverse=True)
    wanted = keys[:LIVE_PROFILES]
    profiles = load_profiles(wanted) if load_profiles and wanted else {}
    pages: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    visitors = []
    for key in wanted:
        stored = profiles.get(key)
        if stored is None:
            continue
        profile, session = stored.state.profile, stored.state.current_session
        page = (session.exit_page if session else None) or "(unknown)"
        source = (session.channel if session else None) or profile.last_channel or "(none)"
        pages[page] += 1
        sources[source] += 1
        visitors.append(
            {
                "visitor_key": key,
                "last_seen_at": profile.last_seen_at.isoformat() if profile.last_seen_at else None,
                "active_now": key in active_now,
                "page": page,
                "channel": source,
                "referrer_host": session.referrer_host if session else None,
                "device_type": session.device_type if session else None,
                "country": session.country if session else None,
                "session_pages": session.page_views if session else 0,
                "identified": bool(profile.user_id),
                "lead_score": profile.lead_score,
            }
        )
    return {
        "live_visitors": visitors[:LIVE_VISITORS_SHOWN],
        "live_pages": _ranked(dict(pages.most_common(LIVE_TOP))),
        "live_sources": _ranked(dict(sources.most_common(LIVE_TOP))),
        "live_sampled": len(keys) > LIVE_PROFILES,
    }
