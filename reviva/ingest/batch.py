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

# What can put a value no stream record can carry into a decoded body: JSON escapes of UTF-16
# surrogates (a lone surrogate has no UTF-8 form) and the literals NaN, Infinity and -Infinity
# (Python's parser reads them, JSON has no such numbers). Searched on the raw body, so the common
# case costs one search.
_SCREEN_RE: Final = re.compile(rb"\\u[dD][89a-fA-F]|NaN|Infinity")
LONE_SURROGATE_REASON: Final = "message holds text that is not valid Unicode (a lone surrogate)"


class NonFiniteNumber:
    """`NaN`, `Infinity` or `-Infinity` where a JSON value should be: the parser's stand-in for it
    (`json.loads(..., parse_constant=NonFiniteNumber)`), so the message holding it can be refused.

    Deliberately not a dataclass: no JSON serializer knows it, so a message holding one can never
    be serialized onto the stream by mistake.
    """

    __slots__ = ("literal",)

    def __init__(self, literal: str) -> None:
        self.literal = literal

    def __str__(self) -> str:
        return self.literal

    def __repr__(self) -> str:
        return self.literal


@dataclass(frozen=True)
class Unencodable:
    """A message no stream record can carry (a lone surrogate, a NaN): refused with `reason`."""

    message: Any
    reason: str = LONE_SURROGATE_REASON


@dataclass(frozen=True)
class RequestBatch:
    """The messages of one request, and what its batch says about all of them."""

    messages: list[Any]
    context: dict[str, Any] | None = None
    sent_at: datetime | None = None


def read_batch(document: Any, body: bytes, implied_type: MessageType | None) -> RequestBatch:
    """The messages of a decoded request `document` (whose JSON text is `body`).

    Raises `PayloadTooLargeError` past a Segment limit and `BadRequestError` for a batch body of
    the wrong shape. Messages holding a lone surrogate or a non-finite number (NaN, Infinity) come
    back wrapped in `Unencodable`; a batch context holding one refuses the request.
    """
    batch = _split(document, implied_type, len(body))
    # Only a batch body above 32 KB can hold a message above 32 KB: small requests skip the sizing.
    check_sizes = implied_type is None and len(body) > MAX_MESSAGE_BYTES
    if check_sizes or _SCREEN_RE.search(body) is not None:
        if batch.context is not None and (reason := _unencodable_reason(batch.context)) is not None:
            # The batch's context is part of every message: none of them could be carried.
            raise BadRequestError("context: " + reason.removeprefix("message "))
        return RequestBatch(_screen(batch.messages, check_sizes=check_sizes), batch.context, batch.sent_at)
    return batch


def _unencodable_reason(value: Any) -> str | None:
    """Why `value` (decoded JSON) cannot be carried on the stream, or None when it can."""
    try:
        to_json(value)
    except PydanticSerializationError:
        literal = _non_finite_in(value)
        if literal is not None:
            return f"message holds {literal}, which is not a JSON number"
        return LONE_SURROGATE_REASON
    return None


def _non_finite_in(value: Any) -> str | None:
    """The first `NonFiniteNumber` literal inside `value`, walked without recursion."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, NonFiniteNumber):
            return item.literal
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


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
        except PydanticSerializationError:  # a lone surrogate from a "\udXXX" escape, or a NaN
            screened.append(Unencodable(message, _unencodable_reason(message) or LONE_SURROGATE_REASON))
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
