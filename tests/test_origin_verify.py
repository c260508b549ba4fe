"""Ingest refuses requests that bypassed CloudFront (and its WAF): the origin header check.

Unit tests of the check, then the real handler with a real HTTP API event (fake adapters, so only the
check decides), then the secret's resolution from Secrets Manager (moto), once per cold start.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

import functions.ingest.handler as handler_module
from reviva.composition import use_composition
from reviva.origin_verify import ORIGIN_VERIFY_HEADER, came_through_origin, forbidden_response
from reviva.settings import load_settings, reset_settings_cache
from reviva_dev.fakes.ingest import FakePublisher, FakeRejectedStore
from tests.ingest.harness import (
    basic_auth,
    fake_composition,
    load_sample,
    track,
)

SECRET = "s3cr3t-value-only-cloudfront-knows-0123456789abcdef"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({ORIGIN_VERIFY_HEADER: SECRET}, True),
        ({"X-Reviva-Origin-Verify": SECRET}, True),  # header names are case-insensitive
        ({}, False),
        (None, False),
        ({ORIGIN_VERIFY_HEADER: ""}, False),
        ({ORIGIN_VERIFY_HEADER: SECRET[:-1]}, False),  # a prefix is not the secret
        ({ORIGIN_VERIFY_HEADER: SECRET + "x"}, False),
        ({ORIGIN_VERIFY_HEADER: "wrong"}, False),
        ({ORIGIN_VERIFY_HEADER: "ünïcode"}, False),  # no TypeError from compare_digest on non-ASCII
        ({"x-other-header": SECRET}, False),
    ],
)
def test_the_request_must_carry_exactly_the_secret(headers: dict[str, str] | None, expected: bool) -> None:
    assert came_through_origin(headers, SECRET) is expected


@pytest.mark.parametrize("headers", [{}, None, {ORIGIN_VERIFY_HEADER: "anything"}])
def test_without_a_configured_secret_nothing_is_checked(headers: dict[str, str] | None) -> None:
    assert came_through_origin(headers, "") is True


def test_the_refusal_is_a_json_403() -> None:
    response = forbidden_response()
    assert response["statusCode"] == 403
    assert json.loads(response["body"])["error"] == "forbidden"


@pytest.fixture
def publisher() -> Iterator[FakePublisher]:
    fake = FakePublisher()
    with use_composition(fake_composition(fake, FakeRejectedStore())):
        yield fake


def batch_event(headers: dict[str, str]) -> dict[str, Any]:
    """An HTTP API (payload 2.0) POST /v1/batch, shaped like the checked-in sample trigger."""
    event: dict[str, Any] = copy.deepcopy(load_sample("triggers/apigw_http_batch.json"))
    event["headers"] = {"content-type": "application/json", "authorization": basic_auth(), **headers}
    event["body"] = json.dumps({"batch": [track(messageId="m-1")]})
    event["isBase64Encoded"] = False
    return event


@pytest.mark.parametrize(
    ("headers", "status", "published"),
    [
        ({}, 403, 0),
        ({ORIGIN_VERIFY_HEADER: "guessed"}, 403, 0),
        ({ORIGIN_VERIFY_HEADER: SECRET}, 200, 1),
    ],
)
def test_the_handler_refuses_requests_without_cloudfront_s_header(
    monkeypatch: pytest.MonkeyPatch,
    publisher: FakePublisher,
    headers: dict[str, str],
    status: int,
    published: int,
) -> None:
    monkeypatch.setenv("REVIVA_ORIGIN_VERIFY_SECRET", SECRET)
    reset_settings_cache()
    response = handler_module.handler(batch_event(headers), None)
    assert response["statusCode"] == status
    assert len(publisher.events) == published


def test_the_handler_checks_nothing_when_no_secret_is_configured(publisher: FakePublisher) -> None:
    # The local runtime and the ingest tests configure no secret: their requests carry no header.
    assert not load_settings().origin_verify_secret
    response = handler_module.handler(batch_event({}), None)
    assert response["statusCode"] == 200
    assert len(publisher.events) == 1


def test_the_secret_is_read_from_secrets_manager_once_per_cold_start(monkeypatch: pytest.MonkeyPatch) -> None:
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(Name="origin-verify", SecretString=SECRET)["ARN"]
        monkeypatch.setenv("REVIVA_ORIGIN_VERIFY_SECRET_ARN", arn)
        reset_settings_cache()
        settings = load_settings()
        assert settings.origin_verify_secret == SECRET
        # A changed secret reaches a container only when it starts again: settings are cached.
        boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString="rotated")
        assert load_settings() is settings
        reset_settings_cache()
        assert load_settings().origin_verify_secret == "rotated"
