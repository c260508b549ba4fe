"""Server-side consent: cookieless keys, the daily salt, and the refusal rules of docs/privacy.md."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

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
    assert effective_consent({"consent": {"analytics": "yes"}}) is None
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
