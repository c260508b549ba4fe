"""Server-side consent: cookieless keys, the daily salt, and the refusal rules of docs/privacy.md."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviva.privacy.consent import effective_consent, strip_click_ids_from_url
from reviva.privacy.cookieless import DailySalt, MemorySaltStore, cookieless_id
from tests.ingest.harness import NOW, Harness, make_harness

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def _harness(clock: list[datetime]) -> Harness:
    return make_harness(clock=lambda: clock[0])


def _message(consent: dict[str, Any] | None, **fields: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "page": {"url": "https://revivatech.co.uk/pricing?gclid=ad1&x=1"},
        "userAgent": BROWSER,
    }
    if consent is not None:
        context["consent"] = consent
    return {"type": "track", "event": "Pricing Viewed", "context": context, **fields}


REFUSED = {"analytics": False, "marketing": False, "personalization": False}
GRANTED = {"analytics": True, "marketing": True, "personalization": True}


def test_cookieless_messages_get_the_days_key_and_keep_the_consent() -> None:
    clock = [NOW]
    harness = _harness(clock)
    headers = {"x-forwarded-for": "203.0.113.77", "user-agent": BROWSER}
    assert (
        harness.post(
            "/v1/batch", {"batch": [_message(REFUSED), _message(REFUSED)]}, headers=headers
        ).status_code
        == 200
    )
    first, second = harness.publisher.events
    assert first.anonymous_id is not None and first.anonymous_id.startswith("c_")
    assert first.anonymous_id == second.anonymous_id, "stable within the day"
    assert first.visitor_key == "a:" + first.anonymous_id
    assert first.consent == REFUSED and first.context["consent"] == REFUSED
    # Another /24 is another visitor; the next day the same browser gets an unrelated key.
    harness.post(
        "/v1/batch", {"batch": [_message(REFUSED)]}, headers={**headers, "x-forwarded-for": "198.51.100.1"}
    )
    clock[0] = NOW + timedelta(days=1)
    harness.post("/v1/batch", {"batch": [_message(REFUSED)]}, headers=headers)
    _, _, other_network, tomorrow = harness.publisher.events
    assert other_network.anonymous_id != first.anonymous_id
    assert tomorrow.anonymous_id is not None and tomorrow.anonymous_id != first.anonymous_id
    assert tomorrow.anonymous_id.startswith("c_")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"anonymousId": "persistent-1"}, "anonymousId needs analytics consent"),
        ({"userId": "cust-1"}, "userId needs analytics consent"),
        ({"type": "identify"}, "identify message needs analytics consent"),
    ],
)
def test_without_analytics_consent_identifiers_are_refused(fields: dict[str, Any], reason: str) -> None:
    harness = _harness([NOW])
    response = harness.post("/v1/batch", {"batch": [_message(REFUSED, **fields)]})
    assert response.status_code == 400
    assert response.body is not None and reason in response.body["rejected"][0]["reason"]
    assert harness.publisher.events == []
    assert len(harness.rejected.rejections) == 1


def test_without_marketing_consent_marketing_fields_are_removed() -> None:
    harness = _harness([NOW])
    consent = {"analytics": True, "marketing": False}
    identify = {
        "type": "identify",
        "anonymousId": "a-1",
        "userId": "cust-1",
        "traits": {"email": "jo@example.com", "first_name": "Jo", "plan": "care"},
        "context": {"consent": consent, "campaign": {"source": "google", "gclid": "ad1"}},
    }
    response = harness.post("/v1/batch", {"batch": [_message(consent, anonymousId="a-1"), identify]})
    assert response.status_code == 200
    track, identified = harness.publisher.events
    assert track.context["page"]["url"] == "https://revivatech.co.uk/pricing?x=1"
    assert identified.traits == {"plan": "care"}
    assert identified.context["campaign"] == {"source": "google"}
    assert identified.consent == consent


def test_with_every_consent_nothing_is_removed() -> None:
    harness = _harness([NOW])
    harness.post("/v1/batch", {"batch": [_message(GRANTED, anonymousId="a-2")]})
    (event,) = harness.publisher.events
    assert "gclid=ad1" in event.context["page"]["url"] and event.anonymous_id == "a-2"
    assert event.consent == GRANTED


def test_gpc_and_dnt_headers_refuse_marketing_whatever_the_banner_said() -> None:
    harness = _harness([NOW])
    harness.post("/v1/batch", {"batch": [_message(GRANTED, anonymousId="a-3")]}, headers={"Sec-GPC": "1"})
    harness.post("/v1/batch", {"batch": [_message(None, anonymousId="a-4")]}, headers={"DNT": "1"})
    gpc, dnt = harness.publisher.events
    assert gpc.consent == {"analytics": True, "marketing": False, "personalization": False, "gpc": True}
    assert "gclid" not in gpc.context["page"]["url"]
    assert dnt.consent == {"marketing": False, "personalization": False, "dnt": True}
    assert dnt.anonymous_id == "a-4", "a signal alone does not make a message cookieless"


def test_messages_stating_no_consent_are_unchanged() -> None:
    assert effective_consent({"consent": None}) is None
    assert effective_consent({}) is None
    state = effective_consent({"consent": {"analytics": True, "gpc": True}})
    assert state is not None and state.analytics and not state.marketing and state.gpc


def test_the_cookieless_prefix_is_reserved() -> None:
    harness = _harness([NOW])
    response = harness.post("/v1/batch", {"batch": [_message(GRANTED, anonymousId="c_forged")]})
    assert response.status_code == 400 and response.body is not None
    assert "reserved" in response.body["rejected"][0]["reason"]


def test_click_ids_are_stripped_from_urls_and_query_strings() -> None:
    assert strip_click_ids_from_url("https://s.example/p?a=1&fbclid=z#top") == "https://s.example/p?a=1#top"
    assert strip_click_ids_from_url("?gclid=1") == ""
    assert strip_click_ids_from_url("/plain/path") == "/plain/path"
    # However many there are (one pass, no cap that would let the rest through).
    many = "https://s.example/p?" + "&".join(["gclid=1", "fbclid=2"] * 5_000) + "&keep=1#gclid=3"
    assert strip_click_ids_from_url(many) == "https://s.example/p?keep=1"


def test_cookieless_id_is_keyed_by_salt_network_browser_and_site() -> None:
    base = cookieless_id(b"s" * 32, "203.0.113.0", BROWSER, "revivatech.co.uk")
    assert base == cookieless_id(b"s" * 32, "203.0.113.0", BROWSER, "RevivaTech.co.uk")
    assert len(base) == 34
    assert base != cookieless_id(b"t" * 32, "203.0.113.0", BROWSER, "revivatech.co.uk")
    assert base != cookieless_id(b"s" * 32, "203.0.113.0", BROWSER + "x", "revivatech.co.uk")
    assert base != cookieless_id(b"s" * 32, "203.0.113.0", BROWSER, "other.example")


def test_memory_salt_store_forgets_earlier_days() -> None:
    store = MemorySaltStore()
    salts = DailySalt(store)
    salts.salt_for(datetime(2025, 1, 1, tzinfo=UTC))
    salts.salt_for(datetime(2025, 1, 2, tzinfo=UTC))
    assert list(store.salts) == [date(2025, 1, 2)]


# ------------------------------------------------------------------- consent fails closed (issue 10)


@pytest.mark.parametrize(
    "consent",
    [
        {"analytics": False, "updatedAt": "2026-12-01"},
        {"analytics": 0},
        {"analytics": "false"},
        {"analytics": "yes"},
        {"analytics": 1, "marketing": True},
        {"analytics": {"granted": True}},
        {"analytics": [True]},
        {},
        {"updatedAt": "2026-12-01"},
        {"analytics_storage": "denied", "ad_storage": "granted"},
        {"categoryPreferences": "all"},
        ["marketing"],
        "granted",
        True,
    ],
)
def test_an_unclear_consent_object_is_a_refusal_not_an_absence(consent: Any) -> None:
    """Every consent object is stated consent: analytics is refused unless clearly granted."""
    harness = _harness([NOW])
    identify = {
        "type": "identify",
        "anonymousId": "persistent-7",
        "traits": {"first_name": "Jo", "email": "jo@example.com"},
        "context": {"consent": consent},
    }
    response = harness.post("/v1/batch", {"batch": [identify, _message(consent)]})
    assert response.status_code == 400 and response.body is not None
    assert [rejection["index"] for rejection in response.body["rejected"]] == [0]
    (event,) = harness.publisher.events
    assert event.anonymous_id is not None and event.anonymous_id.startswith("c_")
    assert event.consent is not None and event.consent.get("analytics") is not True


@pytest.mark.parametrize(
    ("consent", "expected"),
    [
        ({"analytics": True, "marketing": "false", "personalization": True}, (True, False, True)),
        ({"analytics": True, "marketing": 1}, (True, False, False)),
        ({"analytics": "granted", "marketing": "GRANTED"}, (True, True, False)),
        (
            {"analytics_storage": "granted", "ad_storage": "granted", "ad_user_data": "granted"},
            (True, True, False),
        ),
        (
            {"analytics_storage": "granted", "ad_storage": "granted", "ad_personalization": "denied"},
            (True, False, False),
        ),
        ({"analytics_storage": "granted", "personalization_storage": "granted"}, (True, False, True)),
        ({"analytics": True, "analytics_storage": "denied"}, (False, False, False)),
        (
            {"categoryPreferences": {"Analytics": True, "Advertising": False, "Functional": True}},
            (True, False, True),
        ),
        ({"categoryPreferences": {"Statistics": True, "Targeting": "true"}}, (True, False, False)),
        (
            {"categoryPreferences": {"Performance": True, "Marketing": True, "Preferences": 1}},
            (True, True, False),
        ),
        ({"categories": ["analytics", "Marketing"]}, (True, True, False)),
        (["analytics", "personalization", 7, None], (True, False, True)),
        ({"categories": "analytics"}, (False, False, False)),
        ({"analytics": True, "marketing": True, "gpc": "1"}, (True, False, False)),
        ({"analytics": True, "marketing": True, "dnt": 0}, (True, False, False)),
        ({"analytics": True, "marketing": True, "gpc": False, "dnt": None}, (True, True, False)),
    ],
)
def test_consent_is_read_category_by_category_in_every_vocabulary(
    consent: Any, expected: tuple[bool, bool, bool]
) -> None:
    state = effective_consent({"consent": consent})
    assert state is not None
    assert (state.analytics, state.marketing, state.personalization) == expected


def test_the_stored_consent_names_our_categories_only() -> None:
    state = effective_consent(
        {"consent": {"analytics_storage": "granted", "ad_storage": "denied", "updatedAt": "2026-12-01"}}
    )
    assert state is not None and state.as_dict() == {"analytics": True, "marketing": False}
    listed = effective_consent({"consent": ["analytics"]})
    assert listed is not None
    assert listed.as_dict() == {"analytics": True, "marketing": False, "personalization": False}


def test_a_batch_consent_is_read_the_same_way_and_a_null_consent_does_not_cancel_it() -> None:
    harness = _harness([NOW])
    batch = {
        "batch": [
            {"type": "track", "event": "A", "anonymousId": "persistent-8", "context": {"consent": None}},
            {"type": "track", "event": "B", "context": {"consent": None}},
        ],
        "context": {"consent": {"analytics": "false"}},
    }
    response = harness.post("/v1/batch", batch)
    assert response.status_code == 400 and response.body is not None
    assert [rejection["index"] for rejection in response.body["rejected"]] == [0]
    (event,) = harness.publisher.events
    assert event.anonymous_id is not None and event.anonymous_id.startswith("c_")
    assert event.consent == {"analytics": False}


def test_without_marketing_consent_click_ids_go_everywhere() -> None:
    harness = _harness([NOW])
    consent = {"analytics": True, "marketing": False}
    message = _message(
        consent,
        anonymousId="a-9",
        properties={
            "landing": "https://revivatech.co.uk/#gclid=AbC&tab=2",
            "spa_route": "https://revivatech.co.uk/app#/pricing?fbclid=f1&x=1",
            "redirect": "https://go.example/r?to=https%3A%2F%2Frevivatech.co.uk%2F%3Fmsclkid%3Dm1%26y%3D2",
            "query": "wbraid=w1&utm_source=google",
            "ad": {"click": {"GCLID": "g2", "ttclid": "t1", "Li-Fat-Id": "l1"}, "_kx": "k1"},
            "clicks": [{"irclid": "i1"}, "see ?dclid=d1 there"],
            "note": "Q&A about gclid pricing",
        },
    )
    message["context"]["page"]["url"] = "https://revivatech.co.uk/p?x=1#yclid=y1"
    message["context"]["page"]["referrer"] = "https://t.example/?twclid=tw&gbraid=gb"
    assert harness.post("/v1/batch", {"batch": [message]}).status_code == 200
    (event,) = harness.publisher.events
    stored = json.dumps([event.context, event.properties])
    for click_id in ("AbC", "f1", "m1", "w1", "g2", "t1", "l1", "k1", "i1", "d1", "y1", "tw", "gb"):
        assert (
            f'"{click_id}"' not in stored and f"={click_id}" not in stored and f"3D{click_id}" not in stored
        )
    assert event.properties["landing"] == "https://revivatech.co.uk/#tab=2"
    assert event.properties["spa_route"] == "https://revivatech.co.uk/app#/pricing?x=1"
    assert event.properties["redirect"] == "https://go.example/r?to=https%3A%2F%2Frevivatech.co.uk%2F%3Fy%3D2"
    assert event.properties["query"] == "utm_source=google"
    assert event.properties["ad"] == {"click": {}}
    assert event.properties["clicks"] == [{}, "see  there"]
    assert event.properties["note"] == "Q&A about gclid pricing", "text without a click-id parameter is kept"
    assert event.context["page"]["url"] == "https://revivatech.co.uk/p?x=1"
    assert event.context["page"]["referrer"] == "https://t.example/"


def test_without_marketing_consent_personal_fields_go_everywhere() -> None:
    harness = _harness([NOW])
    consent = {"analytics": True, "marketing": False}
    message = _message(
        consent,
        anonymousId="a-10",
        properties={
            "name": "Screen repair",
            "first_name": "Jo",
            "customer": {"name": "Jo Bloggs", "id": "c-1", "phone": "+44 20 7946 0999"},
            "billing_full_name": "Jo Bloggs",
            "contactName": "Jo Bloggs",
            "form": {"fields": [{"lastName": "Bloggs", "type": "text"}], "title": "Booking"},
        },
    )
    message["context"]["campaign"] = {"name": "spring", "source": "google"}
    message["context"]["traits"] = {"name": "Jo Bloggs", "title": "Dr", "company": {"name": "Acme"}}
    assert harness.post("/v1/batch", {"batch": [message]}).status_code == 200
    (event,) = harness.publisher.events
    assert "Jo" not in json.dumps([event.context, event.properties, event.traits])
    assert event.properties == {
        "name": "Screen repair",
        "customer": {"id": "c-1"},
        "form": {"fields": [{"type": "text"}], "title": "Booking"},
    }
    assert event.context["campaign"] == {"name": "spring", "source": "google"}
    assert event.context["traits"] == {"company": {"name": "Acme"}}


def test_without_analytics_consent_no_stable_identifier_is_stored() -> None:
    harness = _harness([NOW])
    digest = "5d41402abc4b2a76b9719d911017c592"
    message = _message(
        {"analytics": False, "marketing": True},
        properties={
            "email": "jo@example.com",
            "email_sha256": "a" * 64,
            "hashed": "b" * 40,
            "customer": {"id": "c-1", "plan": "care"},
            "user_id": 42,
            "ajs_anonymous_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
            "visitorId": "v-1",
            "device": {"advertisingId": "ad-1", "idfv": "v-2", "model": "iPhone"},
            "ids": [digest, "plain"],
            "note": f"u_{digest} wrote",
            "link": f"https://revivatech.co.uk/?ajs_uid=cust-1&uid=7&_ga=2.1.2.3&x=1#email={digest}",
        },
    )
    message["context"]["device"] = {"id": "dev-1", "type": "mobile", "adTrackingEnabled": False}
    assert harness.post("/v1/batch", {"batch": [message]}).status_code == 200
    (event,) = harness.publisher.events
    assert event.user_id is None and event.anonymous_id is not None and event.anonymous_id.startswith("c_")
    assert event.properties == {
        "customer": {"plan": "care"},
        "device": {"model": "iPhone"},
        "ids": ["plain"],
        "note": " wrote",
        "link": "https://revivatech.co.uk/?x=1",
    }
    assert event.context["device"] == {"type": "mobile", "adTrackingEnabled": False}


# The documented mapping (docs/privacy.md), written out independently of the module's table.
DOCUMENTED_NAMES = {
    "analytics": "analytics",
    "Analytics": "analytics",
    "analytics_storage": "analytics",
    "Performance": "analytics",
    "statistics": "analytics",
    "marketing": "marketing",
    "Advertising": "marketing",
    "targeting": "marketing",
    "ad_storage": "marketing",
    "ad_user_data": "marketing",
    "ad_personalization": "marketing",
    "personalization": "personalization",
    "Functional": "personalization",
    "preferences": "personalization",
    "personalization_storage": "personalization",
}
FLAGS = st.one_of(
    st.sampled_from([True, False, "granted", "denied", "GRANTED", "true", "false", "yes", 0, 1, None, ""]),
    st.text(max_size=6),
    st.integers(),
    st.floats(allow_nan=False),
    st.lists(st.booleans(), max_size=2),
    st.dictionaries(st.sampled_from(["granted", "analytics", "x"]), st.booleans(), max_size=2),
)
NAMES = st.sampled_from([*DOCUMENTED_NAMES, "updatedAt", "necessary", "version", "x"])


def _clear_grant(flag: Any) -> bool:
    return flag is True or (isinstance(flag, str) and flag.strip().lower() == "granted")


@st.composite
def consent_objects(draw: st.DrawFn) -> tuple[Any, dict[str, list[bool]]]:
    """A consent object in a random mix of vocabularies, and each category's statements in it."""
    statements: dict[str, list[bool]] = {
        category: [] for category in ("analytics", "marketing", "personalization")
    }
    if draw(st.booleans()):
        listed = draw(st.lists(st.sampled_from([*DOCUMENTED_NAMES, "necessary", 7, None]), max_size=4))
        granted = {DOCUMENTED_NAMES.get(item) for item in listed if isinstance(item, str)}
        for category, said in statements.items():
            said.append(category in granted)
        return (listed if draw(st.booleans()) else {"categories": listed}), statements
    flat = draw(st.dictionaries(NAMES, FLAGS, max_size=5))
    preferences = draw(st.dictionaries(NAMES, FLAGS, max_size=4))
    for name, flag in [*flat.items(), *preferences.items()]:
        if name in DOCUMENTED_NAMES:
            statements[DOCUMENTED_NAMES[name]].append(_clear_grant(flag))
    value = {**flat, "categoryPreferences": preferences} if preferences else flat
    return value, statements


@given(consent_objects())
def test_no_category_is_granted_unless_every_statement_clearly_grants_it(
    drawn: tuple[Any, dict[str, list[bool]]],
) -> None:
    value, statements = drawn
    state = effective_consent({"consent": value})
    assert state is not None, "a consent object is never 'no consent stated'"
    for category, said in statements.items():
        clearly_granted = bool(said) and all(said)
        assert getattr(state, category) == clearly_granted, (category, value)
        assert state.as_dict().get(category, False) == clearly_granted
