"""The collector behind the ingest edge, on in-memory adapters: partial acceptance, time, privacy and
identity of the events it publishes."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

import pytest

from reviva.contracts.events import CollectedEvent
from reviva.privacy import pseudonymize, pseudonymize_user_id
from tests.ingest.harness import HMAC_KEY, NOW, WRITE_KEY, Harness, load_sample, track

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


# An anonymousId as analytics.js makes it (a UUID).
BROWSER_ID = "5b2c1f4e-8a43-4d0b-9e61-2f7c3a9d0e18"


def test_identity_keys_and_alias(harness: Harness) -> None:
    harness.post(
        "/v1/batch",
        {
            "batch": [
                track(anonymousId="anon-1", userId="cust-1"),
                track(anonymousId=None, userId="cust-1"),
                {"type": "alias", "previousId": BROWSER_ID, "userId": "cust-1"},
            ]
        },
    )
    both, known, alias = harness.publisher.events
    user = pseudonymize_user_id("cust-1", HMAC_KEY)
    assert (both.visitor_key, both.anonymous_id, both.user_id) == ("a:anon-1", "anon-1", user)
    assert (known.visitor_key, known.anonymous_id) == ("u:" + user, None)
    assert alias.previous_id == pseudonymize_user_id(BROWSER_ID, HMAC_KEY)
    assert alias.previous_anonymous_id == BROWSER_ID
    assert alias.visitor_key == "u:" + user


@pytest.mark.parametrize(
    ("previous", "anonymous", "kept"),
    [
        ("cust-41", None, False),  # an old user id: as identifying as userId
        ("cust-41", "anon-9", False),
        ("anon-9", "anon-9", True),  # the message's own anonymous id (analytics.js)
        ("0b680d63-7e6f-4619-bbb0-cd666b3c0e09", None, True),  # a server SDK aliasing a browser's id
        ("ana.silva@example.com", "ana.silva@example.com", False),
    ],
)
def test_an_alias_keeps_previous_id_raw_only_when_it_is_an_anonymous_id(
    harness: Harness, previous: str, anonymous: str | None, kept: bool
) -> None:
    message = {"type": "alias", "previousId": previous, "userId": "cust-42"}
    if anonymous:
        message["anonymousId"] = anonymous
    harness.post("/v1/batch", {"batch": [message]})
    (alias,) = harness.publisher.events
    assert alias.previous_id == pseudonymize_user_id(previous, HMAC_KEY)
    assert alias.previous_anonymous_id == (previous if kept else None)
    if not kept:
        assert all(previous.encode() not in record for record in harness.publisher.records)


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
