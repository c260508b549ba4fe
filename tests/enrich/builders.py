"""Builders for CollectedEvents and stream records in enrich tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from reviva.contracts.events import CollectedEvent
from reviva.enrich.stream_records import StreamRecord

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
GOOGLEBOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def event(
    anonymous_id: str = "anon-1",
    kind: str = "page",
    at: datetime = T0,
    path: str = "/",
    name: str | None = None,
    message_id: str | None = None,
    user_id: str | None = None,
    properties: dict[str, Any] | None = None,
    referrer: str = "",
    url_query: str = "",
    user_agent: str = CHROME_UA,
    **extra: Any,
) -> CollectedEvent:
    """A CollectedEvent as ingest would have built it."""
    url = f"https://revivatech.co.uk{path}{url_query}"
    return CollectedEvent(
        message_id=message_id or str(uuid.uuid4()),
        type=kind,  # type: ignore[arg-type]
        visitor_key=f"a:{anonymous_id}" if anonymous_id else f"u:{user_id}",
        anonymous_id=anonymous_id or None,
        user_id=user_id,
        event=name,
        timestamp=at,
        received_at=at + timedelta(seconds=1),
        properties=properties or {},
        context={"page": {"path": path, "url": url, "referrer": referrer, "title": path}},
        user_agent=user_agent,
        **extra,
    )


def browse(anon: str, pages: int, start: int = 0) -> list[CollectedEvent]:
    """`pages` page views of one visitor a minute apart, with message ids `<anon>-<n>`."""
    return [
        event(anon, at=T0 + timedelta(minutes=i), path=f"/services/p{i}", message_id=f"{anon}-{i}")
        for i in range(start, start + pages)
    ]


class Stream:
    """Assigns increasing sequence numbers, like one Kinesis shard."""

    def __init__(self, shard_id: str = "shardId-000000000000") -> None:
        self.shard_id = shard_id
        self.next_sequence = 100

    def records(self, *events: CollectedEvent) -> list[StreamRecord]:
        out = []
        for e in events:
            out.append(
                StreamRecord(
                    self.shard_id, str(self.next_sequence), e.visitor_key, e.model_dump_json().encode()
                )
            )
            self.next_sequence += 1
        return out
