"""The privacy policy as a property: a message without analytics consent never yields an event
with a stable identifier, whatever the consent object says and wherever the identifier hides."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviva.contracts.events import MessageType
from reviva.privacy.policy import PrivacyPolicy
from reviva.segment.messages import MessageRejectedError
from tests.ingest.harness import HMAC_KEY, NOW

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
# Any run of 32 or more hex digits: a digest, a pseudonym's tail, a UUID without dashes.
HEX_RUN = re.compile(r"[0-9a-fA-F]{32,}")


@dataclass(frozen=True)
class Signals:
    """The request signals the policy reads (ingest's RequestContext carries the same)."""

    received_at: datetime = NOW
    implied_type: MessageType | None = None
    ip_truncated: str | None = "203.0.113.0"
    header_user_agent: str | None = BROWSER
    site_host: str | None = "revivatech.co.uk"
    gpc: bool = False
    dnt: bool = False


# What a consent tool might put under analytics when it does not clearly grant it.
UNCLEAR = st.one_of(
    st.sampled_from([False, None, 0, 1, 0.0, 1.0, "false", "true", "yes", "1", "denied", "", "grant", "on"]),
    st.text(max_size=8).filter(lambda text: text.strip().lower() != "granted"),
    st.integers(),
    st.lists(st.booleans(), max_size=2),
    st.dictionaries(st.sampled_from(["granted", "value", "analytics"]), st.booleans(), max_size=2),
)
ANY_FLAG = st.one_of(UNCLEAR, st.sampled_from([True, "granted", "GRANTED"]))
OTHER_CATEGORY = st.sampled_from(
    ["marketing", "ad_storage", "personalization", "functional", "updatedAt", "necessary", "gpc", "dnt"]
)
ANALYTICS_NAME = st.sampled_from(["analytics", "Analytics", "analytics_storage", "performance", "Statistics"])


@st.composite
def consent_without_analytics(draw: st.DrawFn) -> Any:
    """A consent object in any vocabulary whose analytics statements never clearly grant."""
    statements = draw(st.dictionaries(ANALYTICS_NAME, UNCLEAR, max_size=2))
    others = draw(st.dictionaries(OTHER_CATEGORY, ANY_FLAG, max_size=3))
    shape = draw(st.sampled_from(["flat", "segment", "list", "scalar"]))
    if shape == "flat":
        return {**others, **statements}
    if shape == "segment":
        return {"categoryPreferences": {**others, **statements}, "updatedAt": "2026-12-01"}
    if shape == "list":
        return draw(
            st.lists(st.sampled_from(["marketing", "personalization", "necessary", 3, None]), max_size=3)
        )
    return draw(st.sampled_from(["granted", True, 1, "analytics", 0.5]))


HEX_DIGEST = (
    st.sampled_from([16, 20, 32]).flatmap(lambda size: st.binary(min_size=size, max_size=size)).map(bytes.hex)
)
PLANTED_VALUE = st.one_of(
    HEX_DIGEST,
    HEX_DIGEST.map(str.upper),
    HEX_DIGEST.map(lambda digest: "u_" + digest[:32]),
    HEX_DIGEST.map(lambda digest: "h_" + digest[:32]),
    HEX_DIGEST.map(lambda digest: "sha256_" + digest),
    st.sampled_from(["jo.bloggs@example.com", "+44 20 7946 0999"]),
)
IDENTIFIER_KEY = st.sampled_from(
    [
        "userId",
        "user_id",
        "anonymousId",
        "anonymous_id",
        "ajs_anonymous_id",
        "deviceId",
        "device_id",
        "advertisingId",
        "idfa",
        "gaid",
        "visitorId",
        "customer_id",
        "clientId",
        "external_id",
        "email_sha256",
        "hashed_email",
        "fingerprint",
    ]
)
INNOCUOUS_KEY = st.sampled_from(["plan", "items", "meta", "ref", "info", "tags", "details"])
KEYED_VALUE = st.integers(min_value=1000, max_value=9999).map(lambda number: f"zz-{number}-zz")


@st.composite
def planted_payload(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    """Properties hiding identifiers at random depths, in lists, URLs and text; and what to look for."""
    planted: list[str] = []
    payload: dict[str, Any] = {"plan": "care"}
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        position = draw(st.sampled_from(["value", "keyed", "list", "query", "fragment", "text", "keyed_url"]))
        path = draw(st.lists(INNOCUOUS_KEY, max_size=3))
        if position == "keyed":
            value: Any = draw(KEYED_VALUE)
            planted.append(value)
            leaf: Any = {draw(IDENTIFIER_KEY): value}
        elif position == "keyed_url":
            value = draw(KEYED_VALUE)
            planted.append(value)
            parameter = draw(st.sampled_from(["uid", "ajs_uid", "ajs_aid", "_ga", "user_id", "_rvl", "cid"]))
            leaf = {"url": f"https://revivatech.co.uk/p?{parameter}={value}&x=1"}
        else:
            value = draw(PLANTED_VALUE)
            planted.append(value)
            if position == "value":
                leaf = {draw(INNOCUOUS_KEY): value}
            elif position == "list":
                leaf = {"list": ["plain", value]}
            elif position == "query":
                leaf = {"url": f"https://revivatech.co.uk/p?ref={value}&x=1"}
            elif position == "fragment":
                leaf = {"url": f"https://revivatech.co.uk/p#ref={value}"}
            else:
                leaf = {"text": f"sent by {value} today"}
        node = payload
        for key in path:
            node = node.setdefault(key, {}) if isinstance(node.get(key, {}), dict) else node
        node.update(leaf)
    return payload, planted


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    consent=consent_without_analytics(),
    payload=planted_payload(),
    message_type=st.sampled_from(["track", "page"]),
    name=st.one_of(st.none(), PLANTED_VALUE),
    in_page_url=PLANTED_VALUE,
)
def test_without_analytics_consent_no_event_carries_a_stable_identifier(
    consent: Any,
    payload: tuple[dict[str, Any], list[str]],
    message_type: str,
    name: str | None,
    in_page_url: str,
) -> None:
    properties, planted = payload
    message: dict[str, Any] = {
        "type": message_type,
        "properties": properties,
        "context": {
            "consent": consent,
            "page": {"url": f"https://revivatech.co.uk/p?x=1#u={in_page_url}"},
            "device": {"id": "dev-1", "advertisingId": "ad-1"},
            "traits": {"email": "jo@example.com"},
        },
    }
    if message_type == "track":
        message["event"] = "Viewed " + name if name else "Viewed"
    elif name:
        message["name"] = name
    policy = PrivacyPolicy(HMAC_KEY)
    try:
        protected = policy.apply(message, Signals())
    except MessageRejectedError:
        return  # refusing the message keeps nothing, which is always allowed
    assert protected.user_id is None
    assert protected.anonymous_id is not None and protected.anonymous_id.startswith("c_")
    assert protected.consent is not None and protected.consent.get("analytics") is not True
    stored = json.dumps(
        [protected.context, protected.properties, protected.traits, protected.type_fields], ensure_ascii=False
    )
    assert HEX_RUN.search(stored) is None, stored
    assert re.search(r"\b[uh]_[0-9a-f]", stored) is None, stored
    for value in [*planted, in_page_url, "dev-1", "ad-1", "jo@example.com", "jo.bloggs@example.com"]:
        assert value not in stored, (value, stored)


def test_one_policy_for_every_field_of_a_message() -> None:
    """User ids, national phones, IDN e-mails and IP addresses found by structure in every field."""
    from reviva.privacy import pseudonymize, pseudonymize_user_id

    policy = PrivacyPolicy(HMAC_KEY)
    raw = {
        "type": "track",
        "event": "Called 07700900123",
        "anonymousId": "anon-1",
        "messageId": "jöhn@exämple.de",
        "properties": {"user_id": "cust-7", "contact_number": "07700 900123", "origin": "2001:db8::9"},
        "traits": {"userId": "cust-7"},
        "context": {
            "page": {"url": "https://s.example/?cell=07700900123&next=%2F%3Fe%3Dbob%2540example.com"}
        },
    }
    protected = policy.apply(raw, Signals())
    user = pseudonymize_user_id("cust-7", HMAC_KEY)
    phone = pseudonymize("07700900123", HMAC_KEY)
    assert protected.properties["user_id"] == user and protected.traits["userId"] == user
    assert protected.properties["contact_number"] == phone
    assert protected.properties["origin"] == "2001:db8::"
    assert protected.type_fields["event"] == f"Called {phone}"
    assert protected.message_id == pseudonymize("jöhn@exämple.de", HMAC_KEY)
    dumped = json.dumps([protected.context, protected.properties, protected.type_fields], ensure_ascii=False)
    assert "07700900123" not in dumped and "bob" not in dumped and "cust-7" not in dumped
    assert (
        policy.protect_header("Agent/1.0 (ana@example.com)")
        == f"Agent/1.0 ({pseudonymize('ana@example.com', HMAC_KEY)})"
    )
