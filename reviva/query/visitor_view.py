"""One person's profile, sessions and journey, merged across every identity key linked to them.

Writes stay per device (one anonymous id = one visitor key, ordered on one shard); identify and alias
only add links. The merged view is built on read, so merging history never rewrites another
visitor's items and can never double-count them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from reviva.contracts.visitor_key import VisitorKey, anonymous_key, user_key
from reviva.enrich.ports import StoredVisitor
from reviva.enrich.visitor_state import Profile, SessionState

STAGE_ORDER = {"awareness": 0, "consideration": 1, "decision": 2, "retention": 3}
_SUMMED = (
    "total_sessions",
    "total_page_views",
    "total_events",
    "total_time_spent",
    "bounced_sessions",
    "conversions",
)
_LISTS = ("device_types", "referrer_sources", "countries")


def start_keys(visitor_id: str, pseudonymize_user_id: Callable[[str], str]) -> list[str]:
    """The identity keys a caller's id may denote: an anonymous id, a user id, or a key itself."""
    if VisitorKey.is_key(visitor_id):
        return [visitor_id]
    keys = [anonymous_key(visitor_id)]
    if visitor_id.startswith("u_"):  # already a user pseudonym
        keys.append(user_key(visitor_id))
    keys.append(user_key(pseudonymize_user_id(visitor_id)))
    return keys


def merge_profiles(profiles: list[Profile]) -> Profile:
    """Combine device profiles into one person's profile, recomputing the derived ratios exactly."""
    latest = max(profiles, key=lambda p: p.last_seen_at or datetime.min.replace(tzinfo=None))
    merged = latest.model_copy(deep=True)
    for name in _SUMMED:
        setattr(merged, name, sum(getattr(p, name) for p in profiles))
    merged.total_revenue = round(sum(p.total_revenue for p in profiles), 2)
    seen = [p.first_seen_at for p in profiles if p.first_seen_at]
    merged.first_seen_at = min(seen) if seen else None
    last = [p.last_seen_at for p in profiles if p.last_seen_at]
    merged.last_seen_at = max(last) if last else None
    for name in _LISTS:
        values: list[str] = []
        for p in profiles:
            values.extend(v for v in getattr(p, name) if v not in values)
        setattr(merged, name, values)
    interest: dict[str, int] = {}
    traits: dict[str, Any] = {}
    for p in sorted(profiles, key=lambda p: p.last_seen_at or datetime.min):
        for service, count in p.service_interest.items():
            interest[service] = interest.get(service, 0) + count
        for key, value in p.behavioral_traits.items():
            traits[key] = traits.get(key, 0) + value if isinstance(value, (int, float)) else value
        merged.traits.update(p.traits)
    merged.service_interest = interest
    merged.preferred_services = [s for s, _ in sorted(interest.items(), key=lambda kv: (-kv[1], kv[0]))[:5]]
    merged.behavioral_traits = traits
    merged.user_id = next((p.user_id for p in profiles if p.user_id), None)
    merged.lead_score = max(p.lead_score for p in profiles)
    merged.conversion_score = max(p.conversion_score for p in profiles)
    if merged.conversions and latest.journey_stage != "retention":
        merged.journey_stage = max(
            (p.journey_stage for p in profiles if p.journey_stage), key=lambda s: STAGE_ORDER.get(s, -1)
        )
    merged.refresh_ratios()
    return merged


def build_visitor_view(
    visitor_id: str,
    found: Iterable[tuple[str, StoredVisitor | None, list[SessionState]]],
    linked: frozenset[str] = frozenset(),
) -> dict[str, Any] | None:
    """The JSON view of a person, or None when no linked key has a profile.

    Its `identity_keys` are the keys that exist: with a profile, sessions or an identity link
    (`linked`); a key the lookup only tried (the raw id read as an anonymous id, say) is not one.
    """
    profiles: list[Profile] = []
    sessions: dict[str, tuple[str, SessionState]] = {}
    keys: list[str] = []
    for key, stored, key_sessions in found:
        if stored is not None or key_sessions or key in linked:
            keys.append(key)
        if stored is not None:
            profiles.append(stored.state.profile)
        for session in key_sessions:
            sessions[session.session_id] = (key, session)
    if not profiles:
        return None
    ordered = sorted(sessions.values(), key=lambda ks: ks[1].started_at)
    journey: list[dict[str, Any]] = []
    for key, session in ordered:
        for touchpoint in session.touchpoints:
            step = touchpoint.model_dump(mode="json")
            step.update(session_id=session.session_id, visitor_key=key)
            journey.append(step)
    journey.sort(key=lambda step: (step["created_at"], step["sequence_number"]))
    return {
        "visitor_id": visitor_id,
        "identity_keys": keys,
        "profile": merge_profiles(profiles).model_dump(mode="json"),
        "sessions": [
            {
                **s.model_dump(mode="json", exclude={"touchpoints"}),
                "visitor_key": k,
                "duration_seconds": s.duration_seconds,
            }
            for k, s in ordered
        ],
        "journey": journey,
    }
