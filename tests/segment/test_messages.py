"""Validation of single Segment messages."""

from __future__ import annotations

from typing import Any

import pytest

from reviva.segment import AliasMessage, MessageRejectedError, TrackMessage, parse_message


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"type": "track", "anonymousId": "a"}, "event: Field required"),
        (
            {"type": "track", "event": "", "anonymousId": "a"},
            "event: String should have at least 1 character",
        ),
        ({"type": "page"}, "anonymousId or userId is required"),
        (
            {"type": "page", "anonymousId": "x" * 257},
            "anonymousId: String should have at most 256 characters",
        ),
        ({"type": "alias", "previousId": "a"}, "userId: Field required"),
        ({"type": "alias", "userId": "u"}, "previousId: Field required"),
        ({"type": "group", "userId": "u"}, "groupId: Field required"),
        (
            {"type": "page", "anonymousId": "a", "properties": ["x"]},
            "properties: Input should be a valid dictionary",
        ),
        ({"type": "identify", "userId": "u", "traits": "x"}, "traits: Input should be a valid dictionary"),
        ({"type": "page", "anonymousId": "a", "context": 3}, "context: Input should be a valid dictionary"),
        ({"type": "page", "anonymousId": "a", "userId": True}, "userId: Input should be a valid string"),
        (
            {"type": "track", "event": "E", "anonymousId": "a", "timestamp": "yesterday"},
            "timestamp: Input should",
        ),
        ({"type": "click", "anonymousId": "a"}, "type: is not a message type (one of track,"),
        ({"anonymousId": "a"}, "type: required"),
        ([], "message must be a JSON object, not an array"),
        ("track", "message must be a JSON object, not a string"),
    ],
)
def test_invalid_messages_have_readable_reasons(message: Any, reason: str) -> None:
    with pytest.raises(MessageRejectedError) as caught:
        parse_message(message)
    assert caught.value.reason.startswith(reason), caught.value.reason


def test_valid_messages() -> None:
    track = parse_message({"type": "track", "event": "E", "userId": 42, "timestamp": "2025-03-14T10:00:00"})
    assert isinstance(track, TrackMessage)
    assert track.userId == "42", "numeric ids are read as strings"
    assert track.timestamp is not None and track.timestamp.tzinfo is not None, "naive times are UTC"
    alias = parse_message({"type": "alias", "previousId": "anon-1", "userId": "u-1", "extra": {"ignored": 1}})
    assert isinstance(alias, AliasMessage)
    assert parse_message({"type": "page", "anonymousId": "a", "userId": ""}).userId is None


def test_path_implies_the_type() -> None:
    assert parse_message({"event": "E", "anonymousId": "a"}, "track").type == "track"
    assert parse_message({"type": "track", "event": "E", "anonymousId": "a"}, "track").type == "track"
    with pytest.raises(MessageRejectedError, match="does not match the path's type 'page'"):
        parse_message({"type": "track", "event": "E", "anonymousId": "a"}, "page")
