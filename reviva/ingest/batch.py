"""A request's messages as Segment defines them: one message, or a batch with shared context.

A single-message path's body is the message; a batch body is `{"batch": [...], "context": {...},
"sentAt": ...}` whose context applies to every message. Segment's limits hold here: at most
2,500 messages in a batch and 32 KB per message (the 500 KB request limit is checked while
the body is decoded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic_core import PydanticSerializationError, to_json

from reviva.contracts.events import MessageType
from reviva.ingest.errors import BadRequestError, PayloadTooLargeError
from reviva.segment.limits import (
    LIMIT_BATCH_MESSAGES,
    LIMIT_MESSAGE_BYTES,
    MAX_BATCH_MESSAGES,
    MAX_MESSAGE_BYTES,
)
from reviva.segment.timestamps import parse_sent_at

# JSON escapes of UTF-16 surrogates: only they can smuggle a lone surrogate into a decoded string,
# which no UTF-8 record can carry. Checked on the raw body so the common case costs one search.
_SURROGATE_ESCAPE_RE: Final = re.compile(rb"\\u[dD][89a-fA-F]")


@dataclass(frozen=True)
class Unencodable:
    """A message holding a lone surrogate: it cannot be encoded as UTF-8, so it is refused."""

    message: Any


@dataclass(frozen=True)
class RequestBatch:
    """The messages of one request, and what its batch says about all of them."""

    messages: list[Any]
    context: dict[str, Any] | None = None
    sent_at: datetime | None = None


def read_batch(document: Any, body: bytes, implied_type: MessageType | None) -> RequestBatch:
    """The messages of a decoded request `document` (whose JSON text is `body`).

    Raises `PayloadTooLargeError` past a Segment limit and `BadRequestError` for a batch body of
    the wrong shape. Messages holding a lone surrogate come back wrapped in `Unencodable`.
    """
    batch = _split(document, implied_type, len(body))
    # Only a batch body above 32 KB can hold a message above 32 KB: small requests skip the sizing.
    check_sizes = implied_type is None and len(body) > MAX_MESSAGE_BYTES
    if check_sizes or _SURROGATE_ESCAPE_RE.search(body) is not None:
        return RequestBatch(_screen(batch.messages, check_sizes=check_sizes), batch.context, batch.sent_at)
    return batch


def _split(document: Any, implied_type: MessageType | None, body_bytes: int) -> RequestBatch:
    if implied_type is not None:
        if body_bytes > MAX_MESSAGE_BYTES:
            raise PayloadTooLargeError(
                f"message exceeds {MAX_MESSAGE_BYTES // 1024} KB",
                limit=LIMIT_MESSAGE_BYTES,
                maximum=MAX_MESSAGE_BYTES,
                index=0,
            )
        return RequestBatch([document])
    if not isinstance(document, dict):
        raise BadRequestError('body must be a JSON object with a "batch" array')
    batch = document.get("batch")
    if not isinstance(batch, list):
        raise BadRequestError('"batch" must be an array of messages')
    if len(batch) > MAX_BATCH_MESSAGES:
        raise PayloadTooLargeError(
            f"batch holds {len(batch)} messages; at most {MAX_BATCH_MESSAGES} are allowed",
            limit=LIMIT_BATCH_MESSAGES,
            maximum=MAX_BATCH_MESSAGES,
        )
    batch_context = document.get("context")
    return RequestBatch(
        batch,
        batch_context if isinstance(batch_context, dict) and batch_context else None,
        parse_sent_at(document.get("sentAt")),
    )


def _screen(messages: list[Any], *, check_sizes: bool) -> list[Any]:
    """Enforce the per-message size limit and set apart messages no UTF-8 record can carry."""
    screened: list[Any] = []
    for index, message in enumerate(messages):
        try:
            size = len(to_json(message))
        except PydanticSerializationError:  # a lone surrogate from a "\udXXX" escape
            screened.append(Unencodable(message))
            continue
        if check_sizes and size > MAX_MESSAGE_BYTES:
            raise PayloadTooLargeError(
                f"message {index} exceeds {MAX_MESSAGE_BYTES // 1024} KB",
                limit=LIMIT_MESSAGE_BYTES,
                maximum=MAX_MESSAGE_BYTES,
                index=index,
            )
        screened.append(message)
    return screened
