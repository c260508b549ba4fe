"""The two event contracts that cross stage boundaries.

`CollectedEvent` is what ingest puts on the Kinesis stream: one validated Segment message plus
what only the edge knows (receipt time, truncated IP, viewer geography). Personal identifiers
are already pseudonymized when it is built, so nothing downstream ever sees a raw IP, e-mail or
phone number.

`EnrichedEvent` is one row of the lake's `events` table, flat so Athena can prune and scan it
cheaply. Its field names are the lake's column names.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MessageType = Literal["track", "page", "screen", "identify", "alias", "group"]

COLLECTED_EVENT_SCHEMA_VERSION = 1


class Geo(BaseModel):
    """Viewer geography as CloudFront reports it (never derived from the IP here)."""

    model_config = ConfigDict(extra="forbid")

    country: str | None = None
    region: str | None = None
    city: str | None = None


class CollectedEvent(BaseModel):
    """A validated, pseudonymized message as it travels on the stream."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = COLLECTED_EVENT_SCHEMA_VERSION
    message_id: str
    type: MessageType
    # Partition key on the stream: "a:<anonymousId>" or "u:<pseudonymized userId>".
    visitor_key: str
    anonymous_id: str | None = None
    # Always the HMAC pseudonym ("u_…"), never the identifier the site sent.
    user_id: str | None = None
    # alias: the pseudonym of previousId, and previousId itself when it is an anonymous id.
    previous_id: str | None = None
    previous_anonymous_id: str | None = None
    group_id: str | None = None
    event: str | None = None
    name: str | None = None
    category: str | None = None
    # Event time after Segment's clock-skew correction: receivedAt - (sentAt - originalTimestamp).
    timestamp: datetime
    original_timestamp: datetime | None = None
    sent_at: datetime | None = None
    received_at: datetime
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    ip_truncated: str | None = None
    user_agent: str | None = None
    geo: Geo = Field(default_factory=Geo)
    consent: dict[str, bool] | None = None
    # Which write key (source) sent it: a short fingerprint, never the key itself.
    source_id: str | None = None


class EnrichedEvent(BaseModel):
    """One row of the lake's `events` table (partitioned by day(event_time))."""

    model_config = ConfigDict(extra="forbid")

    message_id: str
    visitor_key: str
    anonymous_id: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    event_type: str
    event_name: str | None = None
    event_time: datetime
    event_date: date
    received_at: datetime
    page_url: str | None = None
    page_path: str | None = None
    page_title: str | None = None
    referrer_url: str | None = None
    referrer_host: str | None = None
    channel: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    click_id_type: str | None = None
    browser: str | None = None
    browser_version: str | None = None
    os: str | None = None
    os_version: str | None = None
    device_type: str | None = None
    is_bot: bool = False
    country: str | None = None
    region: str | None = None
    journey_stage: str | None = None
    touchpoint: str | None = None
    is_conversion: bool = False
    revenue: float | None = None
    # JSON text: Athena reads it with json_extract; keeps the table's schema stable.
    properties: str | None = None
    consent: str | None = None
    source_id: str | None = None
    # Kinesis provenance: which shard and sequence number carried it (audit and replay).
    shard_id: str | None = None
    sequence_number: str | None = None
