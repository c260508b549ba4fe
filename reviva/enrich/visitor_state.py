"""A visitor's live state as the enrich stage keeps it: the profile, the open session, the journey.

Field names of `Profile` are the source plan's `user_behavior_profiles` columns; the aggregates
that those columns derive from (sums and counts) are kept beside them so that every update is an
exact increment rather than a running average that drifts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SESSION_INACTIVITY_SECONDS = 30 * 60
# Every collection a profile or session keeps is bounded, and so is every text copied into it from
# an event, so a visitor's item stays far below DynamoDB's 400 KB whatever the visitor sends, and
# applying an event costs the same for the ten-thousandth distinct value as for the first.
MAX_TOUCHPOINTS_PER_SESSION = 50
MAX_LIST_ENTRIES = 20
MAX_SERVICES_OF_INTEREST = 50
MAX_PROFILE_TEXT = 256  # characters of any event text kept on a profile or session (page paths, UTM…)


class Touchpoint(BaseModel):
    """One step of a journey (the source plan's customer_journeys row)."""

    model_config = ConfigDict(extra="ignore")

    sequence_number: int
    touchpoint: str
    journey_stage: str
    created_at: datetime
    time_spent: int = 0  # seconds until the next touchpoint of the same session
    conversion_event: bool = False
    page_path: str | None = None
    event_name: str | None = None
    message_id: str


class SessionState(BaseModel):
    """One session: 30 minutes of inactivity or a new campaign ends it."""

    model_config = ConfigDict(extra="ignore")

    session_id: str
    started_at: datetime
    ended_at: datetime
    page_views: int = 0
    events: int = 0
    entry_page: str | None = None
    exit_page: str | None = None
    channel: str = "direct"
    referrer_host: str | None = None
    campaign_key: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    device_type: str | None = None
    browser: str | None = None
    os: str | None = None
    country: str | None = None
    converted: bool = False
    revenue: float = 0.0
    touchpoints: list[Touchpoint] = Field(default_factory=list)

    @property
    def duration_seconds(self) -> int:
        """Seconds between the session's first and last event."""
        return max(0, int((self.ended_at - self.started_at).total_seconds()))

    @property
    def bounced(self) -> bool:
        """A bounce: a single event (one page view, nothing else) in the session."""
        return self.events <= 1


class Profile(BaseModel):
    """The visitor's behaviour profile (source plan: user_behavior_profiles)."""

    model_config = ConfigDict(extra="ignore")

    fingerprint: str  # the visitor key; the source plan's primary key name
    anonymous_id: str | None = None
    user_id: str | None = None
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    total_sessions: int = 0
    total_page_views: int = 0
    total_events: int = 0
    total_time_spent: int = 0  # seconds
    avg_session_duration: float = 0.0
    pages_per_session: float = 0.0
    bounce_rate: float = 0.0
    bounced_sessions: int = 0
    conversion_score: float = 0.0
    lead_score: int = 0
    customer_segment: str | None = None
    device_types: list[str] = Field(default_factory=list)
    preferred_services: list[str] = Field(default_factory=list)
    referrer_sources: list[str] = Field(default_factory=list)
    behavioral_traits: dict[str, Any] = Field(default_factory=dict)
    service_interest: dict[str, int] = Field(default_factory=dict)
    journey_stage: str | None = None
    conversions: int = 0
    total_revenue: float = 0.0
    first_channel: str | None = None
    last_channel: str | None = None
    countries: list[str] = Field(default_factory=list)
    traits: dict[str, Any] = Field(default_factory=dict)
    last_updated: datetime | None = None

    def derived_ratios(self) -> dict[str, float]:
        """The derived columns as the exact sums they come from give them (what `refresh_ratios` sets)."""
        sessions = self.total_sessions
        return {
            "avg_session_duration": round(self.total_time_spent / sessions, 3) if sessions else 0.0,
            "pages_per_session": round(self.total_page_views / sessions, 3) if sessions else 0.0,
            "bounce_rate": round(self.bounced_sessions / sessions, 4) if sessions else 0.0,
        }

    def refresh_ratios(self) -> None:
        """Recompute the derived columns from the exact sums they come from."""
        ratios = self.derived_ratios()
        self.avg_session_duration = ratios["avg_session_duration"]
        self.pages_per_session = ratios["pages_per_session"]
        self.bounce_rate = ratios["bounce_rate"]


class VisitorState(BaseModel):
    """Everything the enrich stage reads and writes for one visitor key, in one DynamoDB item."""

    model_config = ConfigDict(extra="ignore")

    profile: Profile
    current_session: SessionState | None = None
    # Sessions that this batch closed; written as their own items, then dropped from the state.
    closed_sessions: list[SessionState] = Field(default_factory=list)
    next_sequence_number: int = 1

    @classmethod
    def new(cls, visitor_key: str) -> VisitorState:
        """The state of a visitor never seen before."""
        return cls(profile=Profile(fingerprint=visitor_key))


def bounded_text(value: str | None, limit: int = MAX_PROFILE_TEXT) -> str | None:
    """`value` cut to `limit` characters (the lake keeps the whole value; a profile keeps a summary)."""
    return value[:limit] if value is not None and len(value) > limit else value


def add_distinct(values: list[str], value: str | None, limit: int = MAX_LIST_ENTRIES) -> None:
    """Append `value` (bounded) once, keeping the list bounded (oldest entries make room)."""
    value = bounded_text(value)
    if not value or value in values:
        return
    values.append(value)
    if len(values) > limit:
        del values[0]
