"""Traffic source: which marketing channel brought a visitor, with UTM tags and ad click ids.

Inputs are what the tracker reports for a page: its URL (UTM parameters and click ids are read
from its query string), `document.referrer`, and the Segment `context.campaign` object (`name` or
`campaign`, `source`, `medium`, `term`, `content`; used only when the URL carries no `utm_*`
parameter, since analytics.js derives it from the same URL).

Channels, decided in this order (a simplification of GA4's default channel grouping; tags beat
the referrer, as in GA4):

1. `paid_search`  — a Google Ads (gclid, gbraid, wbraid) or Microsoft Ads (msclkid) click id, or a
   paid medium (cpc, ppc, paid*, retargeting, ...) with a search-engine source.
2. `paid_social`  — a TikTok (ttclid) or LinkedIn (li_fat_id) ad click id, or a paid medium with
   a social source (fbclid with a paid medium lands here; fbclid alone does not, because Facebook
   adds it to every outbound link, organic posts included).
3. `display`      — medium display/banner/cpm/interstitial/native, or a paid medium from a source
   that is neither a search engine nor a social network (GA4's "Display" and "Paid Other": paid
   placements that are not search or social ads). Kept apart so paid money is never counted as
   organic referral traffic.
4. `email`        — medium or source email/e-mail/newsletter, or a webmail referrer.
5. `organic_search` — medium organic, or a search-engine source or referrer.
6. `social`       — medium social/sm/social-media, or a social source or referrer (fbclid alone).
7. `referral`     — any other tagged source or other site's referrer (medium affiliate too).
8. `internal`     — a referrer on the store's own site (or a payment provider sending the buyer
   back, GA's "unwanted referrals"): navigation inside a visit, not a new source. Kept apart from
   `direct` so sessionization can tell "still browsing" from "came back by typing the address".
9. `direct`       — nothing at all.

Host lists are data (the frozensets below): a host matches an entry when it equals it or is a
subdomain of it; a "brand" entry matches the brand under any country domain (google.co.uk,
yandex.ru).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

Channel = Literal[
    "direct",
    "organic_search",
    "paid_search",
    "social",
    "paid_social",
    "email",
    "referral",
    "display",
    "internal",
]
ClickIdType = Literal["gclid", "fbclid", "msclkid", "ttclid", "li_fat_id"]

# Query parameter → click id type, in precedence order when a URL carries several. Google's
# app/iOS variants (gbraid, wbraid) and DoubleClick's dclid count as gclid: all are Google Ads.
CLICK_ID_PARAMETERS: tuple[tuple[str, ClickIdType], ...] = (
    ("gclid", "gclid"),
    ("gbraid", "gclid"),
    ("wbraid", "gclid"),
    ("dclid", "gclid"),
    ("msclkid", "msclkid"),
    ("ttclid", "ttclid"),
    ("li_fat_id", "li_fat_id"),
    ("fbclid", "fbclid"),
)
CLICK_ID_NAMES = frozenset(param for param, _ in CLICK_ID_PARAMETERS)
SEARCH_AD_CLICK_IDS = frozenset({"gclid", "msclkid"})
SOCIAL_AD_CLICK_IDS = frozenset({"ttclid", "li_fat_id"})

# Search engines present under many country domains: the brand is the registrable name.
SEARCH_ENGINE_BRANDS = frozenset(
    {
        "google",
        "bing",
        "yahoo",
        "yandex",
        "baidu",
        "duckduckgo",
        "ecosia",
        "qwant",
        "startpage",
        "naver",
        "seznam",
        "ask",
        "aol",
        "sogou",
        "so",
        "daum",
        "mojeek",
    }
)
SEARCH_ENGINE_HOSTS = frozenset(
    {
        "search.brave.com",
        "kagi.com",
        "search.yahoo.co.jp",
        "yahoo.co.jp",
        "msn.com",
        "search.aol.com",
        "ya.ru",
        "perplexity.ai",
        "you.com",
        "chatgpt.com",
        "search.lycos.com",
        "dogpile.com",
        "metager.org",
        "swisscows.com",
        "presearch.com",
        "search.seznam.cz",
        "android-app:com.google.android.googlequicksearchbox",
    }
)
# Hosts under a search brand that are not its search engine.
NOT_SEARCH_HOSTS = frozenset(
    {
        "docs.google.com",
        "drive.google.com",
        "sites.google.com",
        "accounts.google.com",
        "calendar.google.com",
        "play.google.com",
        "groups.google.com",
        "business.google.com",
        "ads.google.com",
        "analytics.google.com",
        "meet.google.com",
    }
)
SOCIAL_BRANDS = frozenset(
    {"facebook", "instagram", "pinterest", "linkedin", "reddit", "tiktok", "youtube", "vk"}
)
SOCIAL_HOSTS = frozenset(
    {
        "fb.com",
        "fb.me",
        "messenger.com",
        "t.co",
        "twitter.com",
        "x.com",
        "lnkd.in",
        "youtu.be",
        "pin.it",
        "snapchat.com",
        "whatsapp.com",
        "wa.me",
        "t.me",
        "telegram.org",
        "threads.net",
        "tumblr.com",
        "quora.com",
        "discord.com",
        "mastodon.social",
        "bsky.app",
        "nextdoor.com",
        "ok.ru",
        "weibo.com",
        "line.me",
        "android-app:com.facebook.katana",
        "android-app:com.instagram.android",
        "android-app:com.twitter.android",
        "android-app:com.linkedin.android",
        "android-app:com.reddit.frontpage",
        "android-app:com.zhiliaoapp.musically",
    }
)
# Utm sources people type for social networks ("fb", "ig") that are not host names.
SOCIAL_SOURCE_ALIASES = frozenset(
    {
        "fb",
        "ig",
        "facebook",
        "instagram",
        "twitter",
        "x",
        "linkedin",
        "tiktok",
        "pinterest",
        "youtube",
        "meta",
    }
)
SEARCH_SOURCE_ALIASES = frozenset(
    {"google", "bing", "yahoo", "duckduckgo", "ecosia", "baidu", "yandex", "adwords"}
)
WEBMAIL_HOSTS = frozenset(
    {
        "mail.google.com",
        "mail.yahoo.com",
        "outlook.live.com",
        "outlook.office.com",
        "outlook.office365.com",
        "mail.proton.me",
        "mail.yandex.ru",
        "mail.aol.com",
        "icloud.com",
        "mail.zoho.com",
        "gmx.net",
        "web.de",
        "android-app:com.google.android.gm",
        "android-app:com.microsoft.office.outlook",
    }
)
# Payment and booking providers that send a buyer back to the store: not a new source.
RETURN_REFERRAL_HOSTS = frozenset(
    {
        "paypal.com",
        "checkout.stripe.com",
        "hooks.stripe.com",
        "pay.google.com",
        "klarna.com",
        "sumup.com",
        "checkout.sumup.com",
        "pay.amazon.com",
        "3dsecure.io",
        "secure5.arcot.com",
        "acs.revolut.com",
    }
)

EMAIL_TAGS = frozenset({"email", "e-mail", "e_mail", "e mail", "newsletter", "mail"})
ORGANIC_MEDIA = frozenset({"organic"})
SOCIAL_MEDIA = frozenset({"social", "social-network", "social-media", "social_media", "sm", "social network"})
DISPLAY_MEDIA = frozenset({"display", "banner", "expandable", "interstitial", "cpm", "native"})
# GA4's paid medium pattern: ^(.*cp.*|ppc|retargeting|paid.*)$
PAID_MEDIUM = re.compile(r"^(?:.*cp.*|ppc|retargeting|paid.*)$")

MAX_TAG_LENGTH = 256
# Longer URLs are cut before parsing: browsers' practical limit, and it bounds the cache's memory.
MAX_URL_LENGTH = 2048
TRAFFIC_CACHE_SIZE = 8192

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


@dataclass(frozen=True, slots=True)
class TrafficSource:
    """Where a page view came from."""

    channel: Channel
    referrer_host: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    click_id_type: ClickIdType | None = None
    has_click_id: bool = False


DIRECT = TrafficSource("direct")


def _tag(value: Any) -> str | None:
    """A tag value as text, or None: blank, non-scalar and over-long junk is dropped or cut."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = str(value).strip()
    return text[:MAX_TAG_LENGTH] or None


def _split(url: str | None) -> tuple[str, str, str] | None:
    """(scheme, host, query) of a URL; None when it cannot be parsed as one."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:  # e.g. "http://[::1" (unbalanced IPv6 brackets) or a bad port
        return None
    if parts.scheme == "android-app":
        # Chrome reports app referrers as android-app://<package>/; the package is the "host".
        return parts.scheme, f"android-app:{host}" if host else "", parts.query
    return parts.scheme, host.rstrip("."), parts.query


def _normal_host(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


def _host_in(host: str, hosts: frozenset[str]) -> bool:
    """True when `host` is an entry of `hosts` or a subdomain of one."""
    if host in hosts:
        return True
    dot = host.find(".")
    while dot != -1:
        if host[dot + 1 :] in hosts:
            return True
        dot = host.find(".", dot + 1)
    return False


def _brand_of(host: str) -> str | None:
    """The registrable name of a host ("google" for news.google.co.uk), approximated without a
    public suffix list: the label before a one-label TLD, or before a two-letter-country second
    level like "co.uk" / "com.br"."""
    labels = host.split(".")
    if len(labels) < 2:
        return None
    if (
        len(labels) >= 3
        and len(labels[-1]) == 2
        and labels[-2] in {"co", "com", "org", "net", "ac", "gov", "ne", "or"}
    ):
        return labels[-3]
    return labels[-2]


def _is_search_host(host: str) -> bool:
    if host in NOT_SEARCH_HOSTS or _host_in(host, WEBMAIL_HOSTS):
        return False
    return _host_in(host, SEARCH_ENGINE_HOSTS) or _brand_of(host) in SEARCH_ENGINE_BRANDS


def _is_social_host(host: str) -> bool:
    return _host_in(host, SOCIAL_HOSTS) or _brand_of(host) in SOCIAL_BRANDS


def _is_same_site(referrer_host: str, page_host: str, site_hosts: frozenset[str]) -> bool:
    """`referrer_host` is already without "www."; operators may list hosts with or without it."""
    if site_hosts and _host_in(referrer_host, frozenset(_normal_host(h.strip().lower()) for h in site_hosts)):
        return True
    return bool(page_host) and referrer_host == _normal_host(page_host)


def _source_kind(source: str) -> Literal["search", "social", "email", None]:
    """What a utm_source names: a search engine, a social network, e-mail, or something else."""
    if source in EMAIL_TAGS:
        return "email"
    if source in SEARCH_SOURCE_ALIASES:
        return "search"
    if source in SOCIAL_SOURCE_ALIASES:
        return "social"
    host = _normal_host(source)
    if "." in host:
        if _is_search_host(host):
            return "search"
        if _is_social_host(host):
            return "social"
        if _host_in(host, WEBMAIL_HOSTS):
            return "email"
    return None


def _channel_from_tags(source: str | None, medium: str | None, click_id: ClickIdType | None) -> Channel:
    """GA4-style grouping for a visit that carries UTM tags or a click id."""
    src = (source or "").lower()
    med = (medium or "").lower()
    kind = _source_kind(src) if src else None
    paid = bool(med) and PAID_MEDIUM.match(med) is not None

    if click_id in SEARCH_AD_CLICK_IDS or (paid and kind == "search"):
        return "paid_search"
    if click_id in SOCIAL_AD_CLICK_IDS or (paid and (kind == "social" or click_id == "fbclid")):
        return "paid_social"
    if med in DISPLAY_MEDIA or paid:
        return "display"
    if med in EMAIL_TAGS or kind == "email":
        return "email"
    if med in ORGANIC_MEDIA or kind == "search":
        return "organic_search"
    if med in SOCIAL_MEDIA or kind == "social" or click_id == "fbclid":
        return "social"
    return "referral"


def _channel_from_referrer(referrer_host: str) -> Channel:
    if _host_in(referrer_host, WEBMAIL_HOSTS):
        return "email"
    if _is_search_host(referrer_host):
        return "organic_search"
    if _is_social_host(referrer_host):
        return "social"
    return "referral"


def _campaign_tuple(campaign: Mapping[str, Any]) -> tuple[str | None, ...] | None:
    """Segment's context.campaign as (source, medium, campaign, term, content): hashable, so the
    classification below can be cached."""
    if not campaign:
        return None
    get = campaign.get
    values = (
        _tag(get("source")),
        _tag(get("medium")),
        _tag(get("name")) or _tag(get("campaign")),
        _tag(get("term")),
        _tag(get("content")),
    )
    return values if any(values) else None


@lru_cache(maxsize=TRAFFIC_CACHE_SIZE)
def _classify(
    page_url: str | None,
    referrer: str | None,
    campaign: tuple[str | None, ...] | None,
    site_hosts: frozenset[str],
) -> TrafficSource:
    page = _split(page_url)
    page_host = page[1] if page else ""
    tags: dict[str, str] = {}
    click_id_params: set[str] = set()
    if page and page[2]:
        for key, value in parse_qsl(page[2]):
            name = key.strip().lower()
            if name in UTM_FIELDS:
                if name not in tags and (text := _tag(value)):
                    tags[name] = text
            elif name in CLICK_ID_NAMES and _tag(value):
                click_id_params.add(name)
    if not tags and campaign:
        tags = {name: value for name, value in zip(UTM_FIELDS, campaign, strict=True) if value}
    click_id_type = next((kind for param, kind in CLICK_ID_PARAMETERS if param in click_id_params), None)

    ref = _split(referrer)
    referrer_host = _normal_host(ref[1]) if ref and ref[1] else None
    # analytics.js keeps tag values as typed; source and medium are lower-cased so "Google" and
    # "google" are one source in reports and campaign keys.
    source = tags.get("utm_source", "").lower() or None
    medium = tags.get("utm_medium", "").lower() or None

    channel: Channel
    if tags or click_id_type:
        # With only a medium or campaign tag, the referrer still names the source.
        inferred_source = source or (referrer_host if click_id_type is None else None)
        channel = _channel_from_tags(inferred_source, medium, click_id_type)
    elif referrer_host:
        if _is_same_site(referrer_host, page_host, site_hosts) or _host_in(
            referrer_host, RETURN_REFERRAL_HOSTS
        ):
            channel = "internal"
        else:
            channel = _channel_from_referrer(referrer_host)
    else:
        return DIRECT
    return TrafficSource(
        channel=channel,
        referrer_host=referrer_host,
        utm_source=source,
        utm_medium=medium,
        utm_campaign=tags.get("utm_campaign"),
        utm_term=tags.get("utm_term"),
        utm_content=tags.get("utm_content"),
        click_id_type=click_id_type,
        has_click_id=click_id_type is not None,
    )


def classify_traffic(
    page_url: str | None,
    referrer: str | None,
    campaign: Mapping[str, Any] | None,
    site_hosts: frozenset[str] = frozenset(),
) -> TrafficSource:
    """Classify one page's traffic source (see the module docstring for the rules).

    `site_hosts` are the store's own host names (subdomains included); a referrer on one of them,
    or on the page's own host, is internal navigation. Never raises, whatever the strings.
    Cached on its arguments: page URLs and referrers repeat across visitors.
    """
    campaign_values = _campaign_tuple(campaign) if isinstance(campaign, Mapping) else None
    if page_url and len(page_url) > MAX_URL_LENGTH:
        page_url = page_url[:MAX_URL_LENGTH]
    if referrer and len(referrer) > MAX_URL_LENGTH:
        referrer = referrer[:MAX_URL_LENGTH]
    return _classify(page_url or None, referrer or None, campaign_values, site_hosts)


def campaign_key(source: TrafficSource) -> str | None:
    """The identity of the campaign that brought a visit, for "a new campaign starts a session".

    Tagged traffic is identified by utm source/medium/campaign (what GA calls a campaign), an
    untagged ad click by its click id type, other traffic by channel and referrer host. Direct
    and internal traffic is None: it never starts a session by itself.
    """
    if source.channel in ("direct", "internal"):
        return None
    if source.utm_source or source.utm_medium or source.utm_campaign:
        campaign = (source.utm_campaign or "").lower()
        return f"utm:{source.utm_source or ''}|{source.utm_medium or ''}|{campaign}"
    if source.click_id_type:
        return f"click:{source.click_id_type}"
    return f"{source.channel}:{source.referrer_host or ''}"


def clear_traffic_cache() -> None:
    """Forget cached classifications (benchmarks measuring cold calls)."""
    _classify.cache_clear()
