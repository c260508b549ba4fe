"""Segment's event time: client clock skew corrected against the server's receipt time.

`receivedAt` is the server clock when the request arrived. With `sentAt` and a client time
(`originalTimestamp`, else `timestamp`) the event time is receivedAt - (sentAt - client time); a
`timestamp` without `sentAt` is taken as is (server-side imports), an `originalTimestamp` without
`sentAt` likewise; otherwise the event time is receivedAt. An event time more than 30 days before
or 1 day after receipt is rejected with that reason rather than clamped (see
`reviva.segment.limits`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reviva.segment.limits import MAX_EVENT_AGE, MAX_EVENT_FUTURE
from reviva.segment.messages import MessageRejectedError, SegmentMessage


def parse_sent_at(value: Any) -> datetime | None:
    """A batch-level `sentAt`; an unreadable one is ignored rather than failing every message."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def event_time(
    message: SegmentMessage, received_at: datetime, batch_sent_at: datetime | None = None
) -> tuple[datetime, datetime | None, datetime | None]:
    """(event time, client time, sentAt), after the clock-skew correction and the window check.

    The message's own `sentAt` wins over its batch's. Raises `MessageRejectedError` for an event
    time outside the accepted window.
    """
    sent_at = message.sentAt or batch_sent_at
    client_time = message.originalTimestamp or message.timestamp
    if sent_at is not None and client_time is not None:
        try:
            timestamp = received_at - (sent_at - client_time)
        except OverflowError:
            raise MessageRejectedError("timestamp: sentAt and timestamp are implausibly far apart") from None
    elif message.timestamp is not None:
        timestamp = message.timestamp
    elif message.originalTimestamp is not None:
        timestamp = message.originalTimestamp
    else:
        timestamp = received_at
    if timestamp < received_at - MAX_EVENT_AGE:
        raise MessageRejectedError(
            f"timestamp: {timestamp.isoformat()} is more than {MAX_EVENT_AGE.days} days before receipt"
        )
    if timestamp > received_at + MAX_EVENT_FUTURE:
        raise MessageRejectedError(
            f"timestamp: {timestamp.isoformat()} is more than {MAX_EVENT_FUTURE.days} day after receipt"
        )
    return timestamp, client_time, sent_at
