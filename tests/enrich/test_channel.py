"""classify_traffic and campaign_key: channels, UTM tags, click ids, never raising."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviva.enrich.channel import (
    DIRECT,
    MAX_TAG_LENGTH,
    TrafficSource,
    campaign_key,
    classify_traffic,
    clear_traffic_cache,
)

SITE = frozenset({"revivatech.co.uk"})
HOME = "https://revivatech.co.uk/"
PRICING = "https://revivatech.co.uk/pricing"

# (page url, referrer, Segment context.campaign, expected channel)
CHANNEL_CASES: list[tuple[str | None, str | None, dict[str, Any] | None, str]] = [
    # direct: nothing at all
    (HOME, None, None, "direct"),
    (HOME, "", {}, "direct"),
    (None, None, None, "direct"),
    # organic search, under any country domain, web and app referrers
    (HOME, "https://www.google.com/", None, "organic_search"),
    (HOME, "https://www.google.co.uk/", None, "organic_search"),
    (HOME, "https://www.google.com.br/search?q=x", None, "organic_search"),
    (HOME, "https://www.bing.com/search?q=screen+repair", None, "organic_search"),
    (HOME, "https://duckduckgo.com/", None, "organic_search"),
    (HOME, "https://search.yahoo.com/", None, "organic_search"),
    (HOME, "https://www.ecosia.org/", None, "organic_search"),
    (HOME, "https://yandex.ru/", None, "organic_search"),
    (HOME, "https://www.baidu.com/", None, "organic_search"),
    (HOME, "android-app://com.google.android.googlequicksearchbox/", None, "organic_search"),
    (HOME + "?utm_source=newsblog&utm_medium=organic", None, None, "organic_search"),
    # paid search: ad click ids, or a paid medium with a search source
    (HOME + "?gclid=Cj0KCQ", "https://www.google.com/", None, "paid_search"),
    (HOME + "?gbraid=0AAAA", None, None, "paid_search"),
    (HOME + "?msclkid=abc123", "https://www.bing.com/", None, "paid_search"),
    (HOME + "?utm_source=google&utm_medium=cpc&utm_campaign=screens", None, None, "paid_search"),
    (HOME + "?utm_source=Bing&utm_medium=PPC", None, None, "paid_search"),
    (HOME + "?utm_source=google&utm_medium=paidsearch", None, None, "paid_search"),
    (HOME, None, {"source": "google", "medium": "cpc", "name": "spring"}, "paid_search"),
    # social: referrers (fbclid alone is organic: Facebook tags every outbound link)
    (HOME, "https://l.facebook.com/", None, "social"),
    (HOME, "https://www.instagram.com/", None, "social"),
    (HOME, "https://t.co/xyz", None, "social"),
    (HOME, "https://x.com/revivatech", None, "social"),
    (HOME, "https://www.linkedin.com/feed/", None, "social"),
    (HOME, "https://www.reddit.com/r/iphone", None, "social"),
    (HOME, "https://www.youtube.com/", None, "social"),
    (HOME, "https://www.tiktok.com/", None, "social"),
    (HOME, "https://www.pinterest.co.uk/", None, "social"),
    (HOME + "?fbclid=IwAR0", "https://l.facebook.com/", None, "social"),
    (HOME + "?utm_source=facebook&utm_medium=social", None, None, "social"),
    # paid social: a paid medium with a social source or with fbclid, or a social ad click id
    (HOME + "?fbclid=IwAR0&utm_source=fb&utm_medium=paid", "https://l.facebook.com/", None, "paid_social"),
    (HOME + "?utm_source=instagram&utm_medium=cpc", None, None, "paid_social"),
    (HOME + "?ttclid=E.C.P", None, None, "paid_social"),
    (HOME + "?li_fat_id=abc", None, None, "paid_social"),
    # email: medium or source tags, webmail referrers
    (HOME + "?utm_source=newsletter&utm_medium=email&utm_campaign=may", None, None, "email"),
    (HOME + "?utm_source=mailchimp&utm_medium=e-mail", None, None, "email"),
    (HOME + "?utm_source=crm&utm_medium=Newsletter", None, None, "email"),
    (HOME, None, {"source": "newsletter", "medium": "email"}, "email"),
    (HOME, "https://mail.google.com/", None, "email"),
    (HOME, "android-app://com.google.android.gm/", None, "email"),
    # display: display media, or paid traffic that is neither search nor social
    (HOME + "?utm_source=gdn&utm_medium=display", None, None, "display"),
    (HOME + "?utm_source=partnersite&utm_medium=cpm", None, None, "display"),
    (HOME + "?utm_source=outbrain&utm_medium=cpc", None, None, "display"),
    # referral: other sites, unknown tagged sources
    (HOME, "https://www.trustpilot.com/review/revivatech.co.uk", None, "referral"),
    (HOME, "https://docs.google.com/document/d/1", None, "referral"),
    (HOME + "?utm_source=localdirectory", None, None, "referral"),
    (HOME + "?utm_source=partner&utm_medium=affiliate", None, None, "referral"),
    # internal: the store's own pages, subdomains, or a payment provider sending the buyer back
    (PRICING, "https://revivatech.co.uk/", None, "internal"),
    (PRICING, "https://www.revivatech.co.uk/services", None, "internal"),
    (PRICING, "https://shop.revivatech.co.uk/", None, "internal"),
    ("https://revivatech.co.uk/booking/done", "https://www.paypal.com/checkoutnow", None, "internal"),
]


@pytest.mark.parametrize(("page_url", "referrer", "campaign", "channel"), CHANNEL_CASES)
def test_channel(
    page_url: str | None, referrer: str | None, campaign: dict[str, Any] | None, channel: str
) -> None:
    assert classify_traffic(page_url, referrer, campaign, site_hosts=SITE).channel == channel


@pytest.mark.parametrize("configured", ["www.revivatech.co.uk", "REVIVATECH.co.uk", "revivatech.co.uk"])
@pytest.mark.parametrize("referrer", ["https://www.revivatech.co.uk/", "https://revivatech.co.uk/x"])
def test_site_hosts_match_with_or_without_www(configured: str, referrer: str) -> None:
    # The page is on another host (a booking subdomain), so only the configured list can tell.
    source = classify_traffic("https://book.example.net/", referrer, None, site_hosts=frozenset({configured}))
    assert source.channel == "internal"


def test_same_host_as_the_page_is_internal_without_configured_site_hosts() -> None:
    source = classify_traffic("https://www.example.org/b", "https://example.org/a", None)
    assert source.channel == "internal"


def test_utm_tags_are_read_from_the_page_url() -> None:
    source = classify_traffic(
        HOME + "?utm_source=Google&utm_medium=CPC&utm_campaign=Screen%20Repair"
        "&utm_term=iphone+13&utm_content=ad-b",
        "https://www.google.com/",
        None,
        site_hosts=SITE,
    )
    assert source == TrafficSource(
        channel="paid_search",
        referrer_host="google.com",
        utm_source="google",  # source and medium are lower-cased: one source whatever the typing
        utm_medium="cpc",
        utm_campaign="Screen Repair",
        utm_term="iphone 13",
        utm_content="ad-b",
    )


def test_url_tags_take_precedence_over_the_segment_campaign_object() -> None:
    source = classify_traffic(
        HOME + "?utm_source=newsletter&utm_medium=email",
        None,
        {"source": "google", "medium": "cpc", "name": "stale"},
        site_hosts=SITE,
    )
    assert (source.channel, source.utm_source, source.utm_campaign) == ("email", "newsletter", None)


def test_segment_campaign_object_fills_in_when_the_url_has_no_tags() -> None:
    campaign = {"name": "Spring Sale", "source": "bing", "medium": "cpc", "term": "screen", "content": "v2"}
    source = classify_traffic(PRICING, None, campaign, site_hosts=SITE)
    assert source.channel == "paid_search"
    assert (
        source.utm_source,
        source.utm_medium,
        source.utm_campaign,
        source.utm_term,
        source.utm_content,
    ) == (
        "bing",
        "cpc",
        "Spring Sale",
        "screen",
        "v2",
    )


def test_tags_beat_a_same_site_referrer() -> None:
    source = classify_traffic(PRICING + "?utm_source=google&utm_medium=cpc", HOME, None, site_hosts=SITE)
    assert source.channel == "paid_search"


@pytest.mark.parametrize(
    ("query", "click_id_type"),
    [
        ("gclid=a", "gclid"),
        ("wbraid=a", "gclid"),
        ("msclkid=a", "msclkid"),
        ("fbclid=a", "fbclid"),
        ("ttclid=a", "ttclid"),
        ("li_fat_id=a", "li_fat_id"),
        ("fbclid=a&gclid=b", "gclid"),  # an ad click id beats Facebook's link decoration
        ("GCLID=a", "gclid"),
        ("gclid=", None),  # present but empty is no click
        ("other=1", None),
    ],
)
def test_click_ids(query: str, click_id_type: str | None) -> None:
    source = classify_traffic(f"{HOME}?{query}", None, None, site_hosts=SITE)
    assert source.click_id_type == click_id_type
    assert source.has_click_id is (click_id_type is not None)


def test_medium_only_tag_uses_the_referrer_as_source() -> None:
    source = classify_traffic(HOME + "?utm_medium=cpc", "https://www.google.com/", None, site_hosts=SITE)
    assert source.channel == "paid_search"
    assert source.utm_source is None  # the recorded tags stay what the URL said


def test_referrer_host_is_normalised() -> None:
    source = classify_traffic(HOME, "HTTPS://WWW.Trustpilot.COM:443/review/x", None, site_hosts=SITE)
    assert source.referrer_host == "trustpilot.com"


def test_overlong_and_odd_tag_values_are_cut_or_dropped() -> None:
    source = classify_traffic(
        HOME + "?utm_campaign=" + "x" * 1000,
        None,
        {"source": ["not", "scalar"], "medium": True, "term": 42},
        site_hosts=SITE,
    )
    assert source.utm_campaign == "x" * MAX_TAG_LENGTH
    assert source.utm_source is None and source.utm_medium is None


@pytest.mark.parametrize(
    ("page_url", "referrer", "campaign", "key"),
    [
        (HOME, None, None, None),
        (PRICING, HOME, None, None),
        (HOME + "?utm_source=Google&utm_medium=cpc&utm_campaign=Spring", None, None, "utm:google|cpc|spring"),
        (HOME + "?utm_source=newsletter&utm_medium=email", None, None, "utm:newsletter|email|"),
        (HOME + "?gclid=abc", "https://www.google.com/", None, "click:gclid"),
        (HOME, "https://www.google.co.uk/", None, "organic_search:google.co.uk"),
        (HOME, "https://www.trustpilot.com/", None, "referral:trustpilot.com"),
    ],
)
def test_campaign_key(
    page_url: str, referrer: str | None, campaign: dict[str, Any] | None, key: str | None
) -> None:
    assert campaign_key(classify_traffic(page_url, referrer, campaign, site_hosts=SITE)) == key


def test_campaign_key_tells_campaigns_apart_and_ignores_click_id_values() -> None:
    def key(url: str) -> str | None:
        return campaign_key(classify_traffic(url, None, None, site_hosts=SITE))

    assert key(HOME + "?gclid=first") == key(PRICING + "?gclid=second")
    assert key(HOME + "?utm_source=google&utm_medium=cpc&utm_campaign=a") != key(
        HOME + "?utm_source=google&utm_medium=cpc&utm_campaign=b"
    )


@pytest.mark.parametrize(
    ("page_url", "referrer"),
    [
        ("http://[::1", "http://[bad"),
        ("https://revivatech.co.uk:99999/", "https://example.com:notaport/"),
        ("not a url at all", "also not"),
        ("https://revivatech.co.uk/?utm_source=%ZZ&gclid=%", "javascript:alert(1)"),
    ],
)
def test_malformed_urls_do_not_raise(page_url: str, referrer: str) -> None:
    assert isinstance(classify_traffic(page_url, referrer, None, site_hosts=SITE), TrafficSource)


def test_results_are_cached() -> None:
    clear_traffic_cache()
    first = classify_traffic(HOME + "?gclid=x", "https://www.google.com/", None, site_hosts=SITE)
    assert classify_traffic(HOME + "?gclid=x", "https://www.google.com/", None, site_hosts=SITE) is first
    assert classify_traffic(None, None, None) is DIRECT


_text = st.one_of(st.none(), st.text(max_size=300))
_url_like = st.one_of(
    _text,
    st.builds(
        lambda scheme, host, query: f"{scheme}://{host}/?{query}",
        st.sampled_from(["http", "https", "android-app", ""]),
        st.text(max_size=40),
        st.text(max_size=120),
    ),
)
_campaign_value = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
)
_campaign = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["name", "campaign", "source", "medium", "term", "content", "other"]),
        _campaign_value,
        max_size=7,
    ),
)


@settings(max_examples=400, deadline=None)
@given(
    page_url=_url_like,
    referrer=_url_like,
    campaign=_campaign,
    hosts=st.frozensets(st.text(max_size=20), max_size=3),
)
def test_classify_traffic_never_raises(
    page_url: str | None, referrer: str | None, campaign: dict[str, Any] | None, hosts: frozenset[str]
) -> None:
    source = classify_traffic(page_url, referrer, campaign, site_hosts=hosts)
    assert source.channel in {
        "direct",
        "organic_search",
        "paid_search",
        "social",
        "paid_social",
        "email",
        "referral",
        "display",
        "internal",
    }
    assert source.has_click_id is (source.click_id_type is not None)
    key = campaign_key(source)
    assert (key is None) is (source.channel in ("direct", "internal"))
