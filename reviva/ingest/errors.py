"""Typed ingest errors that reject a whole request; `IngestService` maps them to HTTP answers in one place.

Per-message problems are not exceptions of this kind: they reject one message of a batch
(`reviva.segment.MessageRejectedError`) while the others are still accepted.
"""

from __future__ import annotations

from typing import Any


class IngestError(Exception):
    """A request ingest refuses as a whole."""

    status_code = 400
    code = "bad_request"

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details

    def body(self) -> dict[str, Any]:
        """The JSON answer: what went wrong and that nothing was accepted."""
        return {"success": False, "error": self.code, "reason": self.reason, "accepted": 0, **self.details}


class BadRequestError(IngestError):
    """The body cannot be read as a Segment request (not JSON, wrong shape, bad encoding)."""


class UnauthorizedError(IngestError):
    """The write key is missing or unknown."""

    status_code = 401
    code = "unauthorized"


class PayloadTooLargeError(IngestError):
    """A Segment limit was exceeded: `limit` names which, `max` is its value."""

    status_code = 413
    code = "payload_too_large"

    def __init__(self, reason: str, *, limit: str, maximum: int, **details: Any) -> None:
        super().__init__(reason, limit=limit, max=maximum, **details)
        self.limit = limit


class UnsupportedEncodingError(IngestError):
    """A Content-Encoding other than gzip or identity."""

    status_code = 415
    code = "unsupported_content_encoding"


class NotFoundError(IngestError):
    """A path that is not an ingest path."""

    status_code = 404
    code = "not_found"


class MethodNotAllowedError(IngestError):
    """A method other than POST (or OPTIONS for CORS preflight)."""

    status_code = 405
    code = "method_not_allowed"
