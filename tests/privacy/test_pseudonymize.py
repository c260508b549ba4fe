"""Pseudonyms and PII scrubbing."""

from __future__ import annotations

import hmac

import pytest

from reviva.privacy import (
    looks_like_email,
    looks_like_phone,
    mask_pii,
    pseudonymize,
    pseudonymize_user_id,
    scrub,
    scrub_identifier,
)
from reviva.privacy.pseudonymize import NestingTooDeepError
from reviva.segment.limits import MAX_NESTING_DEPTH

KEY = b"k" * 32


def test_pseudonyms_are_keyed_hmacs() -> None:
    expected = hmac.new(KEY, b"cust-1", "sha256").hexdigest()[:32]
    assert pseudonymize_user_id("cust-1", KEY) == "u_" + expected
    assert pseudonymize("cust-1", KEY) == "h_" + expected
    assert pseudonymize_user_id("cust-1", b"other-key") != pseudonymize_user_id("cust-1", KEY)
    assert pseudonymize_user_id("Cust-1", KEY) != pseudonymize_user_id("cust-1", KEY)


def test_scrub_replaces_pii_keys_with_normalized_pseudonyms() -> None:
    traits = {
        "email": " Ana.Silva@Example.com ",
        "Phone_Number": "+351 912-345-678",
        "mobile": 912345678,
        "name": "Ana",
        "nested": {"e-mail": "ana.silva@example.com", "contact": {"phone": "+351912345678"}},
        "optional_email": None,
    }
    out = scrub(traits, KEY)
    assert out["email"] == pseudonymize("ana.silva@example.com", KEY)
    assert out["nested"]["e-mail"] == out["email"]
    assert out["Phone_Number"] == pseudonymize("+351912345678", KEY)
    assert out["nested"]["contact"]["phone"] == out["Phone_Number"]
    assert out["mobile"] == pseudonymize("912345678", KEY)
    assert out["name"] == "Ana"
    assert out["optional_email"] is None
    assert traits["email"] == " Ana.Silva@Example.com ", "scrub must not mutate its input"


def test_scrub_finds_emails_and_phones_in_any_string() -> None:
    pseudonym = pseudonymize("joe@example.org", KEY)
    out = scrub(
        {
            "note": "call me at +44 20 7946 0958",
            "comment": "write to Joe@Example.org please",
            "url": "https://shop.example/thanks?email=joe%40example.org&utm_source=mail",
            "tags": ["joe@example.org", "vip"],
        },
        KEY,
    )
    assert out["comment"] == f"write to {pseudonym} please"
    assert out["url"] == f"https://shop.example/thanks?email={pseudonym}&utm_source=mail"
    assert out["tags"] == [pseudonym, "vip"]
    phone = pseudonymize("+442079460958", KEY)
    assert out["note"] == f"call me at {phone}"
    assert scrub({"x": "+44 20 7946 0958"}, KEY)["x"] == phone
    # National formats are only recognised as whole values, and "+" in URLs is not a phone.
    assert scrub({"x": "(555) 123-4567"}, KEY)["x"] == pseudonymize("5551234567", KEY)
    assert scrub({"x": "ring 555 123 4567"}, KEY)["x"] == "ring 555 123 4567"
    assert scrub({"q": "/search?q=screen+repair+2024"}, KEY)["q"] == "/search?q=screen+repair+2024"


@pytest.mark.parametrize(
    "value", ["+351 912 345 678", "(555) 123-4567", "020 7946 0958", "555.123.4567", "+14155550100"]
)
def test_phone_like_values(value: str) -> None:
    assert looks_like_phone(value)


@pytest.mark.parametrize(
    "value",
    [
        "2025-03-14",
        "14/03/2025",
        "1234567890",
        "order-123456",
        "129.99",
        "1.2.3",
        "12:30",
        "v1.20.300",
        "1 2",
    ],
)
def test_not_phone_like_values(value: str) -> None:
    assert not looks_like_phone(value)


def test_email_detection() -> None:
    assert looks_like_email("a.b+c@sub.example.co.uk")
    assert looks_like_email("x%40example.com")
    assert not looks_like_email("@handle")
    assert not looks_like_email("no at sign")


def test_scrub_truncates_ip_keys_and_limits_depth() -> None:
    assert scrub({"ip_address": "203.0.113.5", "ip": "garbage"}, KEY) == {
        "ip_address": "203.0.113.0",
        "ip": None,
    }
    deep: dict[str, object] = {}
    cursor = deep
    for _ in range(MAX_NESTING_DEPTH + 1):
        cursor["a"] = {}
        cursor = cursor["a"]  # type: ignore[assignment]
    with pytest.raises(NestingTooDeepError):
        scrub(deep, KEY)
    assert "[too deeply nested]" in str(mask_pii(deep))


def test_scrub_identifier() -> None:
    assert scrub_identifier("anon-123", KEY) == "anon-123"
    assert scrub_identifier("Ana@Example.com", KEY) == pseudonymize("ana@example.com", KEY)
    assert scrub_identifier("+351 912 345 678", KEY) == pseudonymize("+351912345678", KEY)


def test_mask_pii_without_key_uses_markers_and_masks_user_ids() -> None:
    raw = {
        "userId": "cust-1",
        "context": {"ip": "203.0.113.5"},
        "traits": {"email": "a@b.example"},
        "x": "a@b.co",
    }
    masked = mask_pii(raw)
    assert masked == {
        "userId": "[user id]",
        "context": {"ip": "203.0.113.0"},
        "traits": {"email": "[masked]"},
        "x": "[email]",
    }
    keyed = mask_pii(raw, KEY)
    assert keyed["userId"] == pseudonymize_user_id("cust-1", KEY)
    assert keyed["x"] == pseudonymize("a@b.co", KEY)


def test_keys_holding_pii_are_scrubbed_too() -> None:
    out = scrub({"ana@example.com": {"visits": 2}, "+351 912 345 678": 1, "plain": 3}, KEY)
    assert out == {
        pseudonymize("ana@example.com", KEY): {"visits": 2},
        pseudonymize("+351912345678", KEY): 1,
        "plain": 3,
    }
    assert mask_pii({1: "x"}) == {1: "x"}
