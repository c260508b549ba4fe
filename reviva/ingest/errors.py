"""Typed errors that refuse a whole ingest request; the HTTP edge maps them to answers in one place.

Per-message problems are not exceptions of this kind: they reject one message of a batch
(`reviva.segment.MessageRejectedError`) while the others are still accepted.
"""

from __future__ import annotations

from typing import Any


class IngestError(Exception):
    """A request ingest refuses as a whole: `reason` says why, `details` add machine-readable facts."""

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


class BadRequestError(IngestError):
    """The body cannot be read as a Segment request (not JSON, wrong shape, bad encoding)."""


class UnauthorizedError(IngestError):
    """The write key is missing or unknown."""


class PayloadTooLargeError(IngestError):
    """A Segment limit was exceeded: `limit` names which, `max` is its value."""

    def __init__(self, reason: str, *, limit: str, maximum: int, **details: Any) -> None:
        super().__init__(reason, limit=limit, max=maximum, **details)
        self.limit = limit
