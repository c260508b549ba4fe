"""Who is calling: any Authorization header is either the admin token or a 401, never an error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviva.api.auth import AuthenticationRequired, caller_roles

TOKEN = "test-admin-token"


def test_the_admin_token_grants_admin() -> None:
    assert caller_roles({"Authorization": f"Bearer {TOKEN}"}, {}, TOKEN) == {"admin"}


@pytest.mark.parametrize("token", ["é", "\ud800", "tëst-admin-token", TOKEN + "\x00", ""])
def test_a_non_ascii_bearer_token_is_unauthenticated(token: str) -> None:
    with pytest.raises(AuthenticationRequired):
        caller_roles({"authorization": f"Bearer {token}"}, {}, TOKEN)


any_text = st.text(st.characters(exclude_categories=()), max_size=40)


@given(header=any_text | any_text.map(lambda token: "Bearer " + token))
def test_no_authorization_header_raises_anything_but_a_401(header: str) -> None:
    try:
        roles = caller_roles({"authorization": header}, {}, TOKEN)
    except AuthenticationRequired:
        return
    assert roles == {"admin"} and header.partition(" ")[2].strip() == TOKEN
