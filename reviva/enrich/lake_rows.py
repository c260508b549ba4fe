"""Building the lake row for an enriched event."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from reviva.contracts.events import CollectedEvent, EnrichedEvent
from reviva.enrich.event_facts import EventFacts
from reviva.enrich.stream_records import StreamRecord
from reviva.enrich.visitor_update import AppliedEvent


def _json(value: object) -> str | None:
    """`value` as compact JSON text for a lake string column, whole: never cut, never dropped.

    What was accepted is stored. Ingest bounds a message at 32 KB, so a cell is at most that
    (UTF-8 as sent: `\\u` escapes would make non-ASCII text two to three times larger); an
    Iceberg string column has no length limit, Parquet keeps such a value in its page, and Athena
    reads rows of up to 32 MB.
    """
    if not value:
        return None
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_lake_row(
    record: StreamRecord, event: CollectedEvent, facts: EventFacts, applied: AppliedEvent
) -> EnrichedEvent:
    """One `events` row: the event, what enrichment derived, and where the stream carried it."""
    event_time = _utc(event.timestamp)
    traffic = facts.traffic
    device = facts.device
    return EnrichedEvent(
        message_id=event.message_id,
        visitor_key=event.visitor_key,
        anonymous_id=event.anonymous_id,
        user_id=event.user_id,
        session_id=applied.session_id,
        event_type=event.type,
        event_name=event.event or event.name,
        event_time=event_time,
        event_date=event_time.date(),
        received_at=_utc(event.received_at),
        page_url=facts.page_url,
        page_path=facts.page_path,
        page_title=facts.page_title,
        referrer_url=facts.referrer,
        referrer_host=traffic.referrer_host,
        channel=traffic.channel,
        utm_source=traffic.utm_source,
        utm_medium=traffic.utm_medium,
        utm_campaign=traffic.utm_campaign,
        utm_term=traffic.utm_term,
        utm_content=traffic.utm_content,
        click_id_type=traffic.click_id_type,
        browser=device.browser,
        browser_version=device.browser_version,
        os=device.os,
        os_version=device.os_version,
        device_type=device.device_type,
        is_bot=facts.is_bot,
        country=event.geo.country,
        region=event.geo.region,
        journey_stage=applied.journey_stage,
        touchpoint=applied.touchpoint,
        is_conversion=applied.is_conversion,
        revenue=facts.revenue if applied.is_conversion else None,
        properties=_json(event.properties),
        consent=_json(event.consent),
        source_id=event.source_id,
        shard_id=record.shard_id,
        sequence_number=record.sequence_number,
    )
