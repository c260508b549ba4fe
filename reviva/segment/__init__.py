"""The Segment HTTP Tracking API: message models, paths and limits."""

from reviva.segment.messages import (
    BATCH_PATH,
    BATCH_PATHS,
    MESSAGE_MODELS,
    MESSAGE_TYPES,
    PATH_MESSAGE_TYPES,
    AliasMessage,
    GroupMessage,
    IdentifyMessage,
    MessageRejectedError,
    PageMessage,
    ScreenMessage,
    SegmentMessage,
    TrackMessage,
    describe_validation_error,
    parse_message,
)

__all__ = [
    "BATCH_PATH",
    "BATCH_PATHS",
    "MESSAGE_MODELS",
    "MESSAGE_TYPES",
    "PATH_MESSAGE_TYPES",
    "AliasMessage",
    "GroupMessage",
    "IdentifyMessage",
    "MessageRejectedError",
    "PageMessage",
    "ScreenMessage",
    "SegmentMessage",
    "TrackMessage",
    "describe_validation_error",
    "parse_message",
]
