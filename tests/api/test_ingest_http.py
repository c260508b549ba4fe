"""The ingest function's HTTP edge through its handler, over a collector on in-memory adapters: paths,
auth, body forms, limits, the stream's failure, the edge's context and CORS."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from typing import Any

import pytest

from reviva.api.ingest_http import IngestRequest
from reviva.segment.limits import MAX_BATCH_MESSAGES, MAX_MESSAGE_BYTES, MAX_REQUEST_BYTES
from reviva.topology import INGEST_PATHS
from tests.ingest.harness import WRITE_KEY, Harness, basic_auth, make_harness, track

VALID_BY_TYPE: dict[str, dict[str, Any]] = {
    "track": {"event": "Booking Started", "anonymousId": "anon-1"},
    "page": {"name": "Home", "anonymousId": "anon-1"},
    "screen": {"name": "Booking", "anonymousId": "anon-1"},
    "identify": {"userId": "cust-1", "traits": {"plan": "care"}},
    "alias": {"previousId": "anon-1", "userId": "cust-1"},
    "group": {"groupId": "acme", "userId": "cust-1"},
}
SHORT = {"t": "track", "p": "page", "s": "screen", "i": "identify", "a": "alias", "g": "group"}


def _type_of_path(path: str) -> str | None:
    name = path.removeprefix("/v1/")
    return None if name in ("batch", "b") else SHORT.get(name, name)


@pytest.mark.parametrize("path", INGEST_PATHS)
def test_every_path_accepts_its_messages(harness: Harness, path: str) -> None:
    message_type = _type_of_path(path)
    if message_type is None:
        body: Any = {"batch": [{"type": kind, **fields} for kind, fields in VALID_BY_TYPE.items()]}
        expected = list(VALID_BY_TYPE)
    else:
        body = VALID_BY_TYPE[message_type]  # no "type": the path implies it
        expected = [message_type]
    answer = harness.post(path, body)
    assert (answer.status_code, answer.body) == (200, {"success": True})
    assert [event.type for event in harness.publisher.events] == expected
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_single_path_type_must_agree(harness: Harness) -> None:
    answer = harness.post("/v1/page", track())
    assert answer.status_code == 400
    assert answer.body is not None
    assert "does not match the path's type 'page'" in answer.body["rejected"][0]["reason"]
    assert harness.publisher.events == []


def test_unknown_path_and_method(harness: Harness) -> None:
    assert harness.post("/v1/import", track()).status_code == 404
    request = IngestRequest("GET", "/v1/batch", {"authorization": basic_auth()}, None)
    assert harness.handle(request).status_code == 405
    assert harness.post("/v1/track/", track()).status_code == 200, "a trailing slash is tolerated"
    assert harness.post("/v1/b", {"batch": [track()]}).status_code == 200, "analytics-next batching path"


# ------------------------------------------------------------------------------------------ auth


def test_write_key_in_body_and_source_id(harness: Harness) -> None:
    answer = harness.post("/v1/batch", {"batch": [track()], "writeKey": "second-key"}, auth=None)
    assert answer.status_code == 200
    assert harness.publisher.events[0].source_id == hashlib.sha256(b"second-key").hexdigest()[:12]
    assert harness.post("/v1/t", {**track(), "writeKey": WRITE_KEY}, auth=None).status_code == 200


@pytest.mark.parametrize(
    ("auth", "body", "reason"),
    [
        (None, {"batch": [track()]}, "write key missing"),
        ("wrong-key", {"batch": [track()]}, "write key unknown"),
        (None, {"batch": [track()], "writeKey": "wrong-key"}, "write key unknown"),
        (None, {"batch": [track()], "writeKey": 123}, "write key missing"),
    ],
)
def test_missing_or_unknown_write_key_is_401(
    harness: Harness, auth: str | None, body: Any, reason: str
) -> None:
    answer = harness.post("/v1/batch", body, auth=auth)
    assert answer.status_code == 401
    assert answer.body is not None and answer.body["reason"].startswith(reason)
    assert harness.publisher.events == [] and harness.rejected.rejections == []


def test_basic_header_wins_and_malformed_header_is_401(harness: Harness) -> None:
    answer = harness.post("/v1/batch", {"batch": [track()], "writeKey": WRITE_KEY}, auth="wrong-key")
    assert answer.status_code == 401
    request = IngestRequest("POST", "/v1/t", {"Authorization": "Basic %%%"}, json.dumps(track()))
    assert harness.handle(request).status_code == 401


# ----------------------------------------------------------------------------------- body forms


def test_text_plain_body_like_send_beacon(harness: Harness) -> None:
    answer = harness.post(
        "/v1/t",
        {**track(), "writeKey": WRITE_KEY},
        auth=None,
        headers={"content-type": "text/plain;charset=UTF-8"},
    )
    assert answer.status_code == 200 and len(harness.publisher.events) == 1


def test_gzip_and_base64_bodies(harness: Harness) -> None:
    raw = json.dumps({"batch": [track(), track()]}).encode()
    compressed = gzip.compress(raw)
    assert harness.post("/v1/batch", compressed, headers={"content-encoding": "gzip"}).status_code == 200
    as_base64 = base64.b64encode(compressed).decode()
    answer = harness.post("/v1/batch", as_base64, headers={"Content-Encoding": "gzip"}, is_base64=True)
    assert answer.status_code == 200
    assert harness.post("/v1/batch", base64.b64encode(raw).decode(), is_base64=True).status_code == 200
    assert len(harness.publisher.events) == 6


@pytest.mark.parametrize(
    ("body", "headers", "is_base64", "status", "reason"),
    [
        (b"not gzip", {"content-encoding": "gzip"}, False, 400, "body is not valid gzip"),
        (
            gzip.compress(b'{"batch": []}', mtime=0)[:-6],
            {"content-encoding": "gzip"},
            False,
            400,
            "body is truncated gzip",
        ),
        ("!!!", {}, True, 400, "body is flagged base64"),
        (b"{}", {"content-encoding": "br"}, False, 415, "Content-Encoding 'br' is not supported"),
        ("{not json", {}, False, 400, "body is not valid JSON"),
        ("", {}, False, 400, "body is empty"),
        (b"\xff\xfe{}", {}, False, 400, "body is not UTF-8"),
        ("[" * 100_000, {}, False, 400, "body is not valid JSON"),
        ('{"batch": {"type": "track"}}', {}, False, 400, '"batch" must be an array'),
        ("[1, 2]", {}, False, 400, 'body must be a JSON object with a "batch" array'),
    ],
)
def test_unreadable_bodies_are_4xx_with_a_reason(
    harness: Harness, body: Any, headers: dict[str, str], is_base64: bool, status: int, reason: str
) -> None:
    answer = harness.post("/v1/batch", body, headers=headers, is_base64=is_base64)
    assert answer.status_code == status
    assert answer.body is not None and answer.body["reason"].startswith(reason), answer.body
    assert answer.body["success"] is False and answer.body["accepted"] == 0
    # Authenticated senders' bad requests are kept for operators.
    assert [r.reason for r in harness.rejected.rejections] == [answer.body["reason"]]


# --------------------------------------------------------------------------------------- limits


def _assert_413(harness: Harness, answer: Any, limit: str, maximum: int) -> None:
    assert answer.status_code == 413
    assert answer.body["limit"] == limit and answer.body["max"] == maximum
    assert answer.body["error"] == "payload_too_large"
    assert harness.publisher.events == []


def test_request_size_limit(harness: Harness) -> None:
    padding = "x" * 1000
    body = {"batch": [track(properties={"p": padding}) for _ in range(520)]}
    assert len(json.dumps(body)) > MAX_REQUEST_BYTES
    _assert_413(harness, harness.post("/v1/batch", body), "request_bytes", MAX_REQUEST_BYTES)


def test_gzip_bomb_is_cut_off_at_the_request_limit(harness: Harness) -> None:
    bomb = gzip.compress(b'{"batch": [' + b" " * (50 * 1024 * 1024) + b"]}")
    assert len(bomb) < 100_000
    answer = harness.post("/v1/batch", bomb, headers={"content-encoding": "gzip"})
    _assert_413(harness, answer, "request_bytes", MAX_REQUEST_BYTES)
    assert "decompressed" in answer.body["reason"]  # type: ignore[index]


def test_batch_message_count_limit(harness: Harness) -> None:
    body = {"batch": [{"type": "page", "anonymousId": "a"}] * (MAX_BATCH_MESSAGES + 1)}
    _assert_413(harness, harness.post("/v1/batch", body), "batch_messages", MAX_BATCH_MESSAGES)
    assert harness.post("/v1/batch", {"batch": body["batch"][:MAX_BATCH_MESSAGES]}).status_code == 200


def test_message_size_limit_in_a_batch_and_alone(harness: Harness) -> None:
    big = track(properties={"blob": "y" * MAX_MESSAGE_BYTES})
    answer = harness.post("/v1/batch", {"batch": [track(), big]})
    _assert_413(harness, answer, "message_bytes", MAX_MESSAGE_BYTES)
    assert answer.body is not None and answer.body["index"] == 1
    _assert_413(harness, harness.post("/v1/track", big), "message_bytes", MAX_MESSAGE_BYTES)
    # Just under the limit passes.
    fits = track(properties={"blob": "y" * (MAX_MESSAGE_BYTES - 200)})
    assert harness.post("/v1/batch", {"batch": [fits, fits]}).status_code == 200


# ----------------------------------------------------------------------------------- stream failure


def test_stream_failure_is_503_and_counts_only_what_landed() -> None:
    harness = make_harness()
    harness.publisher.fail_indexes = {1}
    batch = [track(messageId="a"), {"type": "page"}, track(messageId="b"), track(messageId="c")]
    answer = harness.post("/v1/batch", {"batch": batch})
    assert answer.status_code == 503
    assert answer.body is not None
    assert answer.body["accepted"] == 2
    # Position 1 among published events is request index 2 (index 1 was rejected as invalid).
    assert answer.body["failed"] == [2]
    assert [r["index"] for r in answer.body["rejected"]] == [1]
    assert answer.headers["Retry-After"] == "1"
    assert [e.message_id for e in harness.publisher.events] == ["a", "c"]


# ------------------------------------------------------------------------------------- edge context


def test_edge_context_user_agent_geo_consent_and_batch_context(harness: Harness) -> None:
    body = {
        "batch": [
            track(context={"userAgent": "Browser/1.0", "consent": {"analytics": True, "marketing": False}}),
            track(context={"locale": "en-GB"}),
            track(),
        ],
        "context": {"locale": "pt-PT", "library": {"name": "analytics-python"}},
    }
    headers = {
        "user-agent": "analytics-python/2.4.0",
        "CloudFront-Viewer-Country": "PT",
        "CloudFront-Viewer-Country-Region": "11",
        "CloudFront-Viewer-City": "S%C3%A3o%20Domingos",
    }
    assert harness.post("/v1/batch", body, headers=headers).status_code == 200
    first, second, third = harness.publisher.events
    # A server SDK's header names the SDK, not a device: it is not taken as the visitor's user agent.
    assert first.user_agent == "Browser/1.0" and second.user_agent is None
    assert first.consent == {"analytics": True, "marketing": False} and second.consent is None
    assert first.geo.country == "PT" and first.geo.region == "11" and first.geo.city == "São Domingos"
    assert second.context["locale"] == "en-GB", "the message's own context keys win"
    assert second.context["library"] == {"name": "analytics-python"}
    assert third.context == {"locale": "pt-PT", "library": {"name": "analytics-python"}}


# ----------------------------------------------------------------------------------------- CORS


def test_cors_preflight_and_origins() -> None:
    harness = make_harness(origins=("https://www.revivatech.example",))
    preflight = IngestRequest(
        "OPTIONS",
        "/v1/batch",
        {"Origin": "https://www.revivatech.example", "Access-Control-Request-Headers": "content-type"},
    )
    answer = harness.handle(preflight)
    assert answer.status_code == 204 and answer.body is None
    assert answer.headers["Access-Control-Allow-Origin"] == "https://www.revivatech.example"
    assert answer.headers["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert answer.headers["Access-Control-Allow-Headers"] == "content-type"
    assert answer.headers["Vary"] == "Origin"
    stranger = harness.handle(IngestRequest("OPTIONS", "/v1/t", {"origin": "https://evil.example"}))
    assert stranger.status_code == 204 and "Access-Control-Allow-Origin" not in stranger.headers
    post = harness.post("/v1/t", track(), headers={"origin": "https://www.revivatech.example"})
    assert post.headers["Access-Control-Allow-Origin"] == "https://www.revivatech.example"
    assert "Access-Control-Allow-Origin" not in harness.post("/v1/t", track()).headers
    wildcard = make_harness().handle(IngestRequest("OPTIONS", "/v1/t", {"origin": "https://any.example"}))
    assert wildcard.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in wildcard.headers["Access-Control-Allow-Headers"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_number_refuses_its_message_naming_it(harness: Harness, literal: str) -> None:
    """NaN is not JSON: the message holding one is refused with a reason, its neighbours accepted."""
    good = json.dumps(track(messageId="m-1"))
    bad = json.dumps(track(messageId="m-2", properties={"price": {"amount": 0}})).replace(
        "0}}", literal + "}}"
    )
    answer = harness.post("/v1/batch", f'{{"batch": [{good}, {bad}, {good.replace("m-1", "m-3")}]}}')
    assert answer.status_code == 400
    assert answer.body is not None and answer.body["accepted"] == 2
    [refused] = answer.body["rejected"]
    assert refused["index"] == 1 and refused["messageId"] == "m-2"
    assert refused["reason"] == f"message holds {literal}, which is not a JSON number"
    assert [event.message_id for event in harness.publisher.events] == ["m-1", "m-3"]
    assert harness.rejected.rejections[0].reason == refused["reason"]

    alone = harness.post("/v1/track", bad)
    assert alone.status_code == 400 and alone.body is not None
    assert alone.body["rejected"][0]["reason"] == refused["reason"]


def test_a_non_finite_number_in_the_batch_context_refuses_the_request(harness: Harness) -> None:
    """The batch's context belongs to every message, so none of them can be taken."""
    body = f'{{"batch": [{json.dumps(track())}], "context": {{"screen": {{"density": NaN}}}}}}'
    answer = harness.post("/v1/batch", body)
    assert answer.status_code == 400 and answer.body is not None
    assert answer.body["error"] == "bad_request"
    assert answer.body["reason"] == "context: holds NaN, which is not a JSON number"
    assert harness.publisher.events == []


def test_the_word_nan_in_text_is_just_text(harness: Harness) -> None:
    answer = harness.post("/v1/batch", {"batch": [track(properties={"note": "NaN Infinity"})]})
    assert answer.status_code == 200
    assert harness.publisher.events[0].properties == {"note": "NaN Infinity"}


def test_user_agent_header_passes_the_privacy_policy(harness: Harness) -> None:
    headers = {"user-agent": "Mozilla/5.0 (contact ana@example.com; +44 20 7946 0958) from 198.51.100.23"}
    assert harness.post("/v1/batch", {"batch": [track()]}, headers=headers).status_code == 200
    [event] = harness.publisher.events
    assert event.user_agent is not None
    assert "ana@example.com" not in event.user_agent and "7946" not in event.user_agent
    assert event.user_agent.endswith("from 198.51.100.0")
