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
    # National formats are found in free text too (libphonenumber's matcher, region GB), and "+"
    # in URLs is not a phone.
    assert scrub({"x": "(555) 123-4567"}, KEY)["x"] == pseudonymize("5551234567", KEY)
    assert scrub({"x": "ring 555 123 4567"}, KEY)["x"] == "ring " + pseudonymize("5551234567", KEY)
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


# ------------------------------------------------- detected by structure (issue 10, section 3)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("jöhn.dœ@exämple.de", "jöhn.dœ@exämple.de"),
        ("write to 用户@例え.テスト today", "用户@例え.テスト"),
        ("ana@xn--mnchen-3ya.de", "ana@xn--mnchen-3ya.de"),
        ("https://s.example/?next=%2Fa%3Fe%3Dbob%2540example.com", "bob@example.com"),
        ("https://s.example/?to=bob%40example.com&x=1", "bob@example.com"),
    ],
)
def test_unicode_idn_and_double_encoded_emails_are_pseudonymized(text: str, address: str) -> None:
    out = scrub({"note": text}, KEY)["note"]
    assert pseudonymize(address.lower(), KEY) in out
    local = address.split("@", 1)[0]
    assert local not in out and "%2540" not in out


@pytest.mark.parametrize("number", ["07700900123", "020 7946 0999", "(020) 7946 0999", "+33 6 12 34 56 78"])
def test_national_and_international_phones_in_free_text(number: str) -> None:
    out = scrub({"comment": f"please ring {number} after 5"}, KEY)["comment"]
    digits = "".join(ch for ch in number if ch.isdigit())
    assert out.startswith("please ring h_") and out.endswith(" after 5")
    assert digits not in "".join(ch for ch in out if ch.isdigit())


@pytest.mark.parametrize(
    "key", ["contact_number", "contactNumber", "home_phone", "mobile_number", "cell", "contact", "work_email"]
)
def test_contact_keys_are_pseudonymized_whatever_the_value(key: str) -> None:
    assert scrub({key: "0770 09 00123"}, KEY)[key] == pseudonymize("07700900123", KEY)


@pytest.mark.parametrize("parameter", ["mobile_number", "cell", "contact", "contact_number", "phone_no"])
def test_phone_url_parameters(parameter: str) -> None:
    url = f"https://shop.example/callback?{parameter}=07700900123&utm_source=mail"
    out = scrub({"url": url}, KEY)["url"]
    assert (
        out == f"https://shop.example/callback?{parameter}={pseudonymize('07700900123', KEY)}&utm_source=mail"
    )


def test_ip_addresses_anywhere_are_truncated() -> None:
    out = scrub(
        {
            "note": "from 2001:db8:85a3::8a2e:370:7334 via [2001:db8::1]:443",
            "origin": "198.51.100.23",
            "url": "http://192.0.2.77:8080/admin?x=1",
            "nested": {"list": ["fe80::1ff:fe23:4567:890a"]},
        },
        KEY,
    )
    assert out["note"] == "from 2001:db8:85a3:: via [2001:db8::]:443"
    assert out["origin"] == "198.51.100.0"
    assert out["url"] == "http://192.0.2.0:8080/admin?x=1"
    assert out["nested"]["list"] == ["fe80::"]


def test_user_ids_under_any_user_id_key_get_the_user_pseudonym() -> None:
    out = scrub({"user_id": "cust-42", "traits": {"userId": 42}, "previousId": "cust-41"}, KEY)
    assert out["user_id"] == pseudonymize_user_id("cust-42", KEY)
    assert out["traits"]["userId"] == pseudonymize_user_id("42", KEY)
    assert out["previousId"] == pseudonymize_user_id("cust-41", KEY)


@pytest.mark.parametrize(
    "value",
    [
        "550e8400-e29b-41d4-a716-446655440000",
        "2026-01-02T12:30:45.123Z",
        "order 1712345678",
        "price 1234567.89",
        "12:30:45",
        "Chrome/131.0.6778.85",
        "sku-00012345678",
        pseudonymize("x", KEY),
    ],
)
def test_ids_times_versions_and_prices_are_not_personal_data(value: str) -> None:
    assert scrub({"x": value}, KEY)["x"] == value
    assert scrub_identifier(value, KEY) == value


def test_identifiers_holding_personal_data_become_pseudonyms() -> None:
    assert scrub_identifier("jöhn@exämple.de", KEY) == pseudonymize("jöhn@exämple.de", KEY)
    assert scrub_identifier("07700900123", KEY) == pseudonymize("07700900123", KEY)
    assert scrub_identifier("2001:db8::7", KEY) == pseudonymize("2001:db8::7", KEY)
    assert scrub_identifier("m-198.51.100.23", KEY) == "m-198.51.100.0"
