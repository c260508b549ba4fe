"""The visitor key format every stage shares."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviva.contracts.visitor_key import (
    InvalidVisitorKey,
    VisitorKey,
    VisitorKind,
    anonymous_key,
    user_key,
)


@given(st.text(max_size=40), st.sampled_from(list(VisitorKind)))
def test_format_and_parse_are_inverse(visitor_id: str, kind: VisitorKind) -> None:
    text = VisitorKey.format(kind, visitor_id)
    parsed = VisitorKey.parse(text)
    assert parsed == VisitorKey(kind, visitor_id)
    assert str(parsed) == text
    assert VisitorKey.is_key(text)


def test_the_wire_format_is_what_stores_and_streams_hold() -> None:
    assert anonymous_key("anon-1") == "a:anon-1" == str(VisitorKey.anonymous("anon-1"))
    assert user_key("u_3f2a") == "u:u_3f2a" == str(VisitorKey.user("u_3f2a"))
    assert VisitorKey.parse("u:u_3f2a").kind is VisitorKind.USER


def test_cookieless_keys_are_anonymous_keys_with_the_reserved_prefix() -> None:
    assert VisitorKey.parse("a:c_0123abcd").is_cookieless
    assert not VisitorKey.parse("a:anon-1").is_cookieless
    assert not VisitorKey.parse("u:c_0123abcd").is_cookieless


@pytest.mark.parametrize("text", ["", "anon-1", "x:1", "A:1", "u_3f2a"])
def test_anything_else_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(InvalidVisitorKey, match="is not a visitor key"):
        VisitorKey.parse(text)
    assert not VisitorKey.is_key(text)
