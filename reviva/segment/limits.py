"""Limits of the Segment HTTP Tracking API, and the time window ingest accepts events in.

The size and count limits are Segment's own, so an SDK that respects Segment respects ours. The
time window is ours: an event whose (skew-corrected) time lies far outside it is almost always a
broken client clock or a replay of stale data, and letting it through would open lake partitions
and sessions in the distant past or future. Such events are rejected with a reason, not clamped,
because a clamped timestamp would be a silent lie downstream.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

MAX_MESSAGE_BYTES: Final = 32 * 1024
MAX_REQUEST_BYTES: Final = 500 * 1024
MAX_BATCH_MESSAGES: Final = 2_500

# Identifiers (anonymousId, userId, groupId, previousId, messageId).
MAX_ID_LENGTH: Final = 256
# Event, page and screen names, categories.
MAX_NAME_LENGTH: Final = 512
# properties / traits / context may nest objects and arrays at most this deep.
MAX_NESTING_DEPTH: Final = 32

MAX_EVENT_AGE: Final = timedelta(days=30)
MAX_EVENT_FUTURE: Final = timedelta(days=1)

# Names of the limits as they appear in 413 answers ({"limit": ...}).
LIMIT_MESSAGE_BYTES: Final = "message_bytes"
LIMIT_REQUEST_BYTES: Final = "request_bytes"
LIMIT_BATCH_MESSAGES: Final = "batch_messages"
