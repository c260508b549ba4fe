"""`POST /v1/privacy/consent` through the ingest handler, stored on moto DynamoDB, append-only."""

from __future__ import annotations

import json
from typing import Any

import functions.ingest.handler as handler_module
from reviva.composition import current_composition
from reviva.privacy.pseudonymize import pseudonymize_user_id
from reviva.settings import load_settings
from reviva.topology import CONSENT_PATH, ROUTES
from tests.functions.ingest.test_handler import http_event
from tests.ingest.harness import basic_auth


def _post(body: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    event = http_event(CONSENT_PATH, json.dumps(body), headers=headers)
    response = handler_module.handler(event, None)
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else {}


def test_decisions_are_appended_to_the_visitor_s_history(aws: None) -> None:
    granted = {"anonymousId": "anon-9", "policyVersion": "2026-11", "categories": {"analytics": True}}
    status, body = _post({**granted, "source": "banner"})
    assert status == 200 and body["granted"] == ["analytics"]
    assert body["refused"] == ["marketing", "personalization"]
    withdrawn = {**granted, "userId": "cust-9", "categories": {"analytics": False}}
    assert _post(withdrawn)[0] == 200

    history = current_composition().consent_ledger.history("a:anon-9")
    assert [r.granted for r in history] == [("analytics",), ()]
    assert history[1].user_pseudonym == pseudonymize_user_id("cust-9", load_settings().hmac_key())
    assert all("cust-9" not in repr(r) for r in history)


def test_bad_bodies_and_keys_are_refused_with_a_reason(aws: None) -> None:
    status, body = _post({"policyVersion": "v1", "categories": {"analytics": "yes"}})
    assert status == 400 and body["field"] == "categories.analytics"
    status, _ = _post(
        {"policyVersion": "v1", "categories": {}}, headers={"authorization": basic_auth("nope")}
    )
    assert status == 401
    response = handler_module.handler(http_event(CONSENT_PATH, "{not json"), None)
    assert response["statusCode"] == 400
    response = handler_module.handler(http_event(CONSENT_PATH, None, method="GET"), None)
    assert response["statusCode"] == 405


def test_the_consent_route_is_declared_for_the_ingest_function() -> None:
    declared = {(r.method, r.function, r.auth) for r in ROUTES if r.path == CONSENT_PATH}
    assert declared == {("POST", "ingest", "write_key"), ("OPTIONS", "ingest", "public")}
