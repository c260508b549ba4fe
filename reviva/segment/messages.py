"""Pydantic models of the Segment HTTP Tracking API messages ingest accepts.

One model per message type (track, page, screen, identify, alias, group), sharing the common
fields of Segment's spec. Unknown top-level fields (`integrations`, `channel`, `_metadata`, …)
are ignored. Identifiers may arrive as numbers from some SDKs and are read as strings.
Validation errors become one readable reason per message (`describe_validation_error`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    ValidationError,
    model_validator,
)

from reviva.contracts.events import MessageType
from reviva.segment.limits import MAX_ID_LENGTH, MAX_NAME_LENGTH

MESSAGE_TYPES: Final[tuple[MessageType, ...]] = ("track", "page", "screen", "identify", "alias", "group")

# Single-message paths and the type each implies (analytics.js short paths included).
PATH_MESSAGE_TYPES: Final[dict[str, MessageType]] = {
    "/v1/track": "track",
    "/v1/t": "track",
    "/v1/page": "page",
    "/v1/p": "page",
    "/v1/screen": "screen",
    "/v1/s": "screen",
    "/v1/identify": "identify",
    "/v1/i": "identify",
    "/v1/alias": "alias",
    "/v1/a": "alias",
    "/v1/group": "group",
    "/v1/g": "group",
}
BATCH_PATH: Final = "/v1/batch"
# analytics.js (analytics-next) in its "batching" delivery mode posts batches to "/v1/b".
BATCH_PATHS: Final = frozenset({BATCH_PATH, "/v1/b"})
_ZERO: Final = timedelta(0)


def _id_from_number(value: Any) -> Any:
    """Accept integer ids (some SDKs send numeric user ids); empty strings count as absent."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if value == "":
        return None
    return value


def _as_utc(value: datetime | None) -> datetime | None:
    """Times in UTC; Segment timestamps without an offset are UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if value.utcoffset() == _ZERO:
        return value
    try:
        return value.astimezone(UTC)
    except OverflowError:  # "0001-01-01T00:00:00+05:00" has no UTC equivalent
        raise ValueError("out of range") from None


_BoundedId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]
Identifier = Annotated[_BoundedId | None, BeforeValidator(_id_from_number)]
RequiredIdentifier = Annotated[_BoundedId, BeforeValidator(_id_from_number)]
Name = Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH)] | None
Timestamp = Annotated[datetime | None, AfterValidator(_as_utc)]
JsonObject = dict[str, Any] | None


class SegmentMessage(BaseModel):
    """Fields every Segment message may carry."""

    model_config = ConfigDict(extra="ignore", frozen=False, str_strip_whitespace=False)

    type: MessageType
    messageId: Identifier = None
    anonymousId: Identifier = None
    userId: Identifier = None
    timestamp: Timestamp = None
    originalTimestamp: Timestamp = None
    sentAt: Timestamp = None
    context: JsonObject = None
    properties: JsonObject = None
    traits: JsonObject = None

    @model_validator(mode="after")
    def _needs_an_identity(self) -> SegmentMessage:
        if self.anonymousId is None and self.userId is None:
            raise ValueError("anonymousId or userId is required")
        return self


class TrackMessage(SegmentMessage):
    """`track`: an action, named by `event`."""

    event: Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH)]


class PageMessage(SegmentMessage):
    """`page`: a web page view."""

    name: Name = None
    category: Name = None


class ScreenMessage(SegmentMessage):
    """`screen`: an app screen view."""

    name: Name = None
    category: Name = None


class IdentifyMessage(SegmentMessage):
    """`identify`: ties the visitor to a user id and/or records traits."""


class AliasMessage(SegmentMessage):
    """`alias`: merges a previous identity (`previousId`) into `userId`."""

    previousId: Annotated[
        str, BeforeValidator(_id_from_number), StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)
    ]
    userId: Annotated[
        str, BeforeValidator(_id_from_number), StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)
    ]


class GroupMessage(SegmentMessage):
    """`group`: associates the visitor with a group (company, account)."""

    groupId: Annotated[
        str, BeforeValidator(_id_from_number), StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)
    ]


MESSAGE_MODELS: Final[dict[str, type[SegmentMessage]]] = {
    "track": TrackMessage,
    "page": PageMessage,
    "screen": ScreenMessage,
    "identify": IdentifyMessage,
    "alias": AliasMessage,
    "group": GroupMessage,
}


class MessageRejectedError(ValueError):
    """A message failed validation; `reason` says why in words an SDK user understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem, "field: message", joined by "; " (at most five problems)."""
    parts: list[str] = []
    for detail in error.errors(include_url=False, include_input=False)[:5]:
        location = ".".join(str(part) for part in detail["loc"])
        message = detail["msg"].removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)


def parse_message(raw: Any, implied_type: MessageType | None = None) -> SegmentMessage:
    """Validate one message (a decoded JSON value) and return its typed model.

    `implied_type` is the type a single-message path implies: `type` may then be omitted, and
    must agree when present. Raises `MessageRejectedError` with a readable reason.
    """
    if not isinstance(raw, dict):
        raise MessageRejectedError(f"message must be a JSON object, not {_json_type(raw)}")
    declared = raw.get("type")
    if implied_type is not None:
        if declared is None:
            raw = {**raw, "type": implied_type}
        elif declared != implied_type:
            # Reasons never echo input values: they end up in logs and answers.
            raise MessageRejectedError(f"type: does not match the path's type {implied_type!r}")
        message_type: Any = implied_type
    else:
        message_type = declared
    model = MESSAGE_MODELS.get(message_type) if isinstance(message_type, str) else None
    if model is None:
        if message_type is None:
            raise MessageRejectedError("type: required (one of " + ", ".join(MESSAGE_TYPES) + ")")
        raise MessageRejectedError("type: is not a message type (one of " + ", ".join(MESSAGE_TYPES) + ")")
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise MessageRejectedError(describe_validation_error(error)) from None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__
