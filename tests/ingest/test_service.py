"""The ingest service end to end on in-memory adapters: HTTP semantics, limits, time, privacy."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from reviva.api.ingest_http import IngestRequest
from reviva.contracts.events import CollectedEvent
from reviva.privacy import pseudonymize, pseudonymize_user_id
from reviva.segment.limits import MAX_BATCH_MESSAGES, MAX_MESSAGE_BYTES, MAX_REQUEST_BYTES
from reviva.topology import INGEST_PATHS

from .conftest import HMAC_KEY, NOW, WRITE_KEY, Harness, basic_auth, load_sample, make_harness, track

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


# ------------------------------------------------------------------------- partial acceptance


def test_mixed_batch_rejects_the_invalid_and_accepts_the_rest(harness: Harness) -> None:
    batch = [
        track(messageId="ok-0"),
        {"type": "track", "anonymousId": "a", "messageId": "bad-1"},  # no event
        {"type": "page", "messageId": "bad-2"},  # no identity
        track(messageId="ok-3", userId="cust-9"),
        "not an object",
        {"type": "alias", "userId": "u", "messageId": 77},  # no previousId
    ]
    answer = harness.post("/v1/batch", {"batch": batch})
    assert answer.status_code == 400
    assert answer.body == {
        "success": False,
        "accepted": 2,
        "rejected": [
            {"index": 1, "messageId": "bad-1", "reason": "event: Field required"},
            {"index": 2, "messageId": "bad-2", "reason": "anonymousId or userId is required"},
            {"index": 4, "messageId": None, "reason": "message must be a JSON object, not a string"},
            {"index": 5, "messageId": "77", "reason": "previousId: Field required"},
        ],
    }
    assert [e.message_id for e in harness.publisher.events] == ["ok-0", "ok-3"]
    stored = harness.rejected.rejections
    assert [(r.index, r.stage, r.raw) for r in stored] == [(i, "ingest", batch[i]) for i in (1, 2, 4, 5)]
    assert all(r.source_id == hashlib.sha256(WRITE_KEY.encode()).hexdigest()[:12] for r in stored)


def test_duplicate_message_ids_pass_through(harness: Harness) -> None:
    answer = harness.post("/v1/batch", {"batch": [track(messageId="same"), track(messageId="same")]})
    assert answer.status_code == 200
    assert [e.message_id for e in harness.publisher.events] == ["same", "same"]


def test_message_id_is_generated_when_absent(harness: Harness) -> None:
    harness.post("/v1/batch", {"batch": [track(), track(messageId="")]})
    ids = [e.message_id for e in harness.publisher.events]
    assert len(set(ids)) == 2 and all(uuid.UUID(i).version == 4 for i in ids)


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


def test_a_failing_rejected_store_does_not_change_the_answer(harness: Harness) -> None:
    def broken(_: Any) -> None:
        raise RuntimeError("table unavailable")

    harness.rejected.record = broken  # type: ignore[method-assign,assignment]
    answer = harness.post("/v1/batch", {"batch": [track(), {"type": "page"}]})
    assert answer.status_code == 400 and answer.body is not None and answer.body["accepted"] == 1


def test_lone_surrogates_reject_only_their_message(harness: Harness) -> None:
    body = '{"batch": [{"type": "track", "event": "bad \\ud800", "anonymousId": "a"},'
    body += '{"type": "track", "event": "emoji \\ud83d\\ude00", "anonymousId": "a"}]}'
    answer = harness.post("/v1/batch", body)
    assert answer.status_code == 400 and answer.body is not None
    assert answer.body["rejected"][0]["index"] == 0
    assert "lone surrogate" in answer.body["rejected"][0]["reason"]
    assert [e.event for e in harness.publisher.events] == ["emoji \U0001f600"]


# ----------------------------------------------------------------------------------------- time


def _stamp(at: timedelta) -> str:
    return (NOW + at).isoformat().replace("+00:00", "Z")


def test_clock_skew_is_corrected_from_sent_at(harness: Harness) -> None:
    # The client's clock runs 2 hours fast; the event happened 10 s before the batch was sent.
    client_offset = timedelta(hours=2)
    batch = {
        "batch": [
            track(timestamp=_stamp(client_offset - timedelta(seconds=10))),
            track(
                originalTimestamp=_stamp(client_offset - timedelta(seconds=30)),
                timestamp=_stamp(timedelta(0)),
            ),
            track(timestamp=_stamp(client_offset - timedelta(seconds=5)), sentAt=_stamp(client_offset)),
        ],
        "sentAt": _stamp(client_offset),
    }
    assert harness.post("/v1/batch", batch).status_code == 200
    first, second, third = harness.publisher.events
    assert first.received_at == NOW
    assert first.timestamp == NOW - timedelta(seconds=10)
    assert first.sent_at == NOW + client_offset
    assert first.original_timestamp == NOW + client_offset - timedelta(seconds=10)
    assert second.timestamp == NOW - timedelta(seconds=30), "originalTimestamp is the client time when sent"
    assert third.timestamp == NOW - timedelta(seconds=5), "a message's own sentAt is honoured"


def test_timestamp_without_sent_at_is_taken_as_is_else_received_at(harness: Harness) -> None:
    harness.post(
        "/v1/batch",
        {
            "batch": [
                track(timestamp="2025-03-10T08:00:00+02:00"),
                track(),
                track(originalTimestamp=_stamp(-timedelta(hours=1))),
            ]
        },
    )
    imported, bare, original = harness.publisher.events
    assert imported.timestamp.isoformat() == "2025-03-10T06:00:00+00:00"
    assert bare.timestamp == NOW and bare.original_timestamp is None
    assert original.timestamp == NOW - timedelta(hours=1)


def test_events_far_outside_the_window_are_rejected(harness: Harness) -> None:
    answer = harness.post(
        "/v1/batch",
        {
            "batch": [
                track(timestamp=_stamp(-timedelta(days=31))),
                track(timestamp=_stamp(timedelta(days=2))),
                track(timestamp=_stamp(-timedelta(days=29))),
                track(timestamp="0001-01-01T00:00:00Z", sentAt="9999-12-31T00:00:00Z"),
            ]
        },
    )
    assert answer.status_code == 400 and answer.body is not None
    reasons = {r["index"]: r["reason"] for r in answer.body["rejected"]}
    assert "more than 30 days before receipt" in reasons[0]
    assert "more than 1 day after receipt" in reasons[1]
    assert 3 in reasons and 2 not in reasons
    assert answer.body["accepted"] == 1


# -------------------------------------------------------------------------------------- privacy


def test_no_raw_ip_email_or_phone_in_any_record(harness: Harness) -> None:
    batch = {
        "batch": [
            {
                "type": "identify",
                "userId": "ana.silva@example.com",
                "anonymousId": "anon-77",
                "traits": {"email": "ana.silva@example.com", "phone": "+351 912 345 678", "firstName": "Ana"},
                "context": {
                    "ip": "198.51.100.23",
                    "traits": {"mobile": "912345678"},
                    "page": {"url": "https://shop.example/done?email=ana.silva%40example.com"},
                },
            },
            track(properties={"contact": "reach me: ana.silva@example.com or +351 912 345 678"}),
            {"type": "alias", "previousId": "ana.silva@example.com", "userId": "cust-1"},
            {"type": "group", "groupId": "+351 912 345 678", "anonymousId": "ana.silva@example.com"},
        ]
    }
    answer = harness.post("/v1/batch", batch, headers={"x-forwarded-for": "203.0.113.200, 10.0.0.1"})
    assert answer.status_code == 200
    blob = b"\n".join(harness.publisher.records)
    for secret in (b"198.51.100.23", b"203.0.113.200", b"ana.silva", b"912 345 678", b"912345678", b"%40"):
        assert secret not in blob, secret
    identify = harness.publisher.events[0]
    assert identify.ip_truncated == "203.0.113.0"
    assert "ip" not in identify.context
    assert identify.user_id == pseudonymize_user_id("ana.silva@example.com", HMAC_KEY)
    assert identify.traits["email"] == pseudonymize("ana.silva@example.com", HMAC_KEY)
    assert identify.traits["firstName"] == "Ana"
    alias = harness.publisher.events[2]
    assert alias.previous_id == pseudonymize_user_id("ana.silva@example.com", HMAC_KEY)
    assert alias.previous_anonymous_id is None, "an e-mail address is not kept as an anonymous id"
    group = harness.publisher.events[3]
    assert group.visitor_key == "a:" + pseudonymize("ana.silva@example.com", HMAC_KEY)


def test_ip_truncation_v6_and_source_ip(harness: Harness) -> None:
    harness.post("/v1/t", track(), source_ip="2001:db8:1234:5678::9")
    harness.post("/v1/t", track(), source_ip=None)
    assert [e.ip_truncated for e in harness.publisher.events] == ["2001:db8:1234::", None]


def test_identity_keys_and_alias(harness: Harness) -> None:
    harness.post(
        "/v1/batch",
        {
            "batch": [
                track(anonymousId="anon-1", userId="cust-1"),
                track(anonymousId=None, userId="cust-1"),
                {"type": "alias", "previousId": "anon-1", "userId": "cust-1"},
            ]
        },
    )
    both, known, alias = harness.publisher.events
    user = pseudonymize_user_id("cust-1", HMAC_KEY)
    assert (both.visitor_key, both.anonymous_id, both.user_id) == ("a:anon-1", "anon-1", user)
    assert (known.visitor_key, known.anonymous_id) == ("u:" + user, None)
    assert alias.previous_id == pseudonymize_user_id("anon-1", HMAC_KEY)
    assert alias.previous_anonymous_id == "anon-1"
    assert alias.visitor_key == "u:" + user


def test_edge_context_user_agent_geo_consent_and_batch_context(harness: Harness) -> None:
    body = {
        "batch": [
            track(context={"userAgent": "Browser/1.0", "consent": {"analytics": True, "marketing": False}}),
            track(context={"locale": "en-GB", "consent": {"analytics": "yes"}}),
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


def test_records_are_valid_collected_events(harness: Harness) -> None:
    harness.post("/v1/batch", load_sample("segment/batch.json"))
    assert len(harness.publisher.records) == 5
    for record in harness.publisher.records:
        event = CollectedEvent.model_validate_json(record)
        assert event.source_id and event.visitor_key.startswith("a:")
        assert b'", "' not in record and b'": ' not in record, "records are compact JSON"


@pytest.mark.parametrize("name", ["track", "page", "screen", "identify", "alias", "group", "batch"])
def test_samples_are_accepted(harness: Harness, name: str) -> None:
    body = load_sample(f"segment/{name}.json")
    path = "/v1/batch" if name == "batch" else f"/v1/{name}"
    answer = harness.post(path, body)
    assert answer.status_code == 200, answer.body


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


def test_header_user_agent_describes_browsers_not_server_sdks(harness: Harness) -> None:
    browser_ua = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
    )
    harness.post("/v1/track", track(), headers={"user-agent": browser_ua})
    harness.post(
        "/v1/track",
        track(context={"library": {"name": "analytics-python", "version": "2.4.0"}}),
        headers={"user-agent": "analytics-python/2.4.0"},
    )
    assert [event.user_agent for event in harness.publisher.events] == [browser_ua, None]
