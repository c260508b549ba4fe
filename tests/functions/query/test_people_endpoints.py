"""People: `GET /v1/visitors` (most recent first, from the lake) and `POST /v1/visitors/search` (by
id or e-mail), through the query handler, over the events the real enrich stage wrote to an Iceberg
lake on local disk and to DynamoDB on moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from reviva.adapters.dynamodb.tables import IdentityLink, create_tables
from reviva.composition import current_composition
from reviva.enrich.service import process_batch
from reviva.privacy.pseudonymize import normalize_email, pseudonymize, pseudonymize_user_id
from reviva.settings import load_settings, reset_settings_cache
from reviva_dev.fakes.lambda_context import lambda_context
from tests.enrich.builders import Stream, event
from tests.functions.query.http_events import http_event
from tests.local_lake import use_local_lake

EMAIL = "Jo.Bloggs@Example.org"
NOW = datetime.now(UTC).replace(microsecond=0)


def call(
    method: str, path: str, query: str = "", body: Any = None, token: str | None = "test-admin-token"
) -> tuple[int, dict[str, Any]]:
    from functions.query.handler import handler

    request = http_event(path, token=token, query=query)
    request["requestContext"]["http"]["method"] = method
    if body is not None:
        request["body"] = body if isinstance(body, str) else json.dumps(body)
        request["headers"]["content-type"] = "application/json"
    response = handler(request, lambda_context("query"))
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def people(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Three visitors, seen 3 days, 1 day and 5 minutes ago; the newest one identified with an e-mail."""
    use_local_lake(tmp_path, monkeypatch)
    with mock_aws():
        settings = load_settings()
        create_tables(settings)
        key = settings.hmac_key()
        user = pseudonymize_user_id("cust-7", key)
        email = pseudonymize(normalize_email(EMAIL), key)  # what ingest's scrub leaves of traits.email
        ports = current_composition().enrich
        events = [
            event("old", at=NOW - timedelta(days=3), path="/"),
            event("mid", at=NOW - timedelta(days=1), path="/pricing"),
            event("mid", at=NOW - timedelta(days=1, seconds=-30), path="/book"),
            event("new", at=NOW - timedelta(minutes=5), path="/services/iphone-screen-repair"),
            event(
                "new",
                kind="identify",
                at=NOW - timedelta(minutes=4),
                user_id=user,
                traits={"email": email, "marketing_opt_in": True},
            ),
        ]
        process_batch(Stream().records(*events), ports)
        yield {"email": email, "user": user}
    reset_settings_cache()


def test_list_is_most_recent_first_with_key_figures(people: dict[str, str]) -> None:
    status, body = call("GET", "/v1/visitors")
    assert status == 200, body
    assert [p["visitor_key"] for p in body["people"]] == ["a:new", "a:mid", "a:old"]
    mid = body["people"][1]
    assert mid["page_views"] == 2 and mid["sessions"] == 1 and mid["kind"] == "anonymous"
    assert body["people"][0]["identified"] is True
    assert body["next_cursor"] is None


def test_list_pages_with_a_cursor(people: dict[str, str]) -> None:
    status, first = call("GET", "/v1/visitors", "limit=2")
    assert status == 200 and [p["visitor_key"] for p in first["people"]] == ["a:new", "a:mid"]
    assert first["next_cursor"]
    status, second = call("GET", "/v1/visitors", f"limit=2&cursor={first['next_cursor']}")
    assert [p["visitor_key"] for p in second["people"]] == ["a:old"] and second["next_cursor"] is None


def test_list_keeps_to_the_days_asked_for(people: dict[str, str]) -> None:
    today = NOW.date().isoformat()
    status, body = call("GET", "/v1/visitors", f"from={today}&to={today}")
    assert status == 200 and [p["visitor_key"] for p in body["people"]] == ["a:new"]


def test_search_by_email_finds_the_visitor_and_never_echoes_the_address(people: dict[str, str]) -> None:
    status, body = call("POST", "/v1/visitors/search", body={"q": "  jo.bloggs@EXAMPLE.org "})
    assert status == 200, body
    assert [p["visitor_key"] for p in body["people"]] == ["a:new"]
    assert body["searched_by"] == "email"
    assert "bloggs" not in json.dumps(body).lower()
    # The link enrich wrote holds the pseudonym, never the address.
    links = [(link.pk, link.sk) for link in IdentityLink.scan()]
    assert (f"e:{people['email']}", "a:new") in links
    assert not any("bloggs" in pk.lower() or "bloggs" in sk.lower() for pk, sk in links)


def test_search_by_user_id_and_by_anonymous_id(people: dict[str, str]) -> None:
    status, body = call("POST", "/v1/visitors/search", body={"q": "cust-7"})
    assert status == 200 and [p["visitor_key"] for p in body["people"]] == ["a:new"]  # through the link
    status, body = call("POST", "/v1/visitors/search", body={"q": "mid"})
    assert [p["visitor_key"] for p in body["people"]] == ["a:mid"]
    status, body = call("POST", "/v1/visitors/search", body={"q": "nobody@example.org"})
    assert status == 200 and body["people"] == []


def test_email_links_do_not_merge_people(people: dict[str, str]) -> None:
    """Two visitors who share a mailbox are found together but stay two people."""
    ports = current_composition().enrich
    later = NOW - timedelta(minutes=1)
    process_batch(
        Stream().records(
            event("other", at=later, path="/"),
            event(
                "other",
                kind="identify",
                at=later,
                user_id="u_someone_else",
                traits={"email": people["email"]},
            ),
        ),
        ports,
    )
    status, found = call("POST", "/v1/visitors/search", body={"q": EMAIL})
    assert {p["visitor_key"] for p in found["people"]} == {"a:new", "a:other"}
    status, one = call("GET", "/v1/visitors/new")
    assert status == 200 and "a:other" not in one["identity_keys"]


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ("{not json", "body"),
        ("[]", "body"),
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": 5}, "q"),
        ({"q": "x" * 257}, "q"),
    ],
)
def test_bad_search_is_a_400_naming_the_parameter(people: dict[str, str], body: Any, parameter: str) -> None:
    status, answer = call("POST", "/v1/visitors/search", body=body)
    assert status == 400 and answer["parameter"] == parameter, answer


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("limit=0", "limit"), ("limit=101", "limit"), ("cursor=x", "cursor"), ("from=2026-13-01", "from")],
)
def test_bad_list_parameters_are_a_400(people: dict[str, str], query: str, parameter: str) -> None:
    status, answer = call("GET", "/v1/visitors", query)
    assert status == 400 and answer["parameter"] == parameter, answer


def test_people_need_a_token(people: dict[str, str]) -> None:
    assert call("GET", "/v1/visitors", token=None)[0] == 401
    assert call("POST", "/v1/visitors/search", body={"q": "mid"}, token=None)[0] == 401
