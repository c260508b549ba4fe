"""detect_bot: crawlers, headless browsers, HTTP libraries and missing user agents."""

from __future__ import annotations

import re
from typing import Any

import pytest
from crawlerdetect import CrawlerDetect
from crawlerdetect.providers.crawlers import data as crawler_patterns
from hypothesis import given, settings
from hypothesis import strategies as st

from reviva.enrich import bots
from reviva.enrich.bots import BotVerdict, _crawler_prefilter, clear_bot_cache, detect_bot

from . import user_agents as ua

PYTHON_SDK = {"library": {"name": "analytics-python", "version": "2.3.0"}}
NODE_SDK = {"library": {"name": "@segment/analytics-node", "version": "2.1.0"}}
BROWSER_SDK = {"library": {"name": "analytics.js", "version": "next-1.70.0"}}

HUMANS = [
    ua.CHROME_WINDOWS,
    ua.EDGE_WINDOWS,
    ua.FIREFOX_LINUX,
    ua.SAFARI_MAC,
    ua.IPHONE_SAFARI,
    ua.IPHONE_FACEBOOK_APP,
    ua.IPAD_SAFARI,
    ua.ANDROID_PHONE_CHROME,
    ua.ANDROID_TABLET_CHROME,
    ua.KINDLE_FIRE,
    ua.SAMSUNG_SMART_TV,
]

# (user agent, reason, matched token)
BOTS = [
    (ua.GOOGLEBOT, "crawler", "Googlebot"),
    (ua.GOOGLEBOT_SMARTPHONE, "crawler", "Googlebot"),
    (ua.BINGBOT, "crawler", "bingbot"),
    (ua.GPTBOT, "crawler", "GPTBot"),
    (ua.FACEBOOK_PREVIEW, "crawler", "facebookexternalhit"),
    (ua.AHREFS, "crawler", "Ahrefs"),
    (ua.HEADLESS_CHROME, "headless_browser", "HeadlessChrome"),
    (ua.PHANTOMJS, "headless_browser", "PhantomJS"),
    (ua.CURL, "http_client", "curl"),
    (ua.WGET, "http_client", "Wget"),
    (ua.PYTHON_REQUESTS, "http_client", "python-requests"),
    (ua.GO_HTTP_CLIENT, "http_client", "Go-http-client"),
    (ua.AXIOS, "http_client", "axios"),
]


@pytest.mark.parametrize("user_agent", HUMANS)
def test_browsers_are_not_bots(user_agent: str) -> None:
    assert detect_bot(user_agent) == BotVerdict(False)
    assert detect_bot(user_agent, BROWSER_SDK) == BotVerdict(False)


@pytest.mark.parametrize(("user_agent", "reason", "matched"), BOTS)
def test_bots_are_detected_with_a_reason(user_agent: str, reason: str, matched: str) -> None:
    verdict = detect_bot(user_agent)
    assert verdict.is_bot
    assert verdict.reason == reason
    assert verdict.matched == matched


def test_spider_family_from_ua_parser_alone_is_a_crawler() -> None:
    # Not in CrawlerDetect's list, but ua-parser's generic "indexer" rule files it as a Spider.
    user_agent = "Mozilla/5.0 (compatible; Zzqx-indexer/1.0)"
    assert not CrawlerDetect(user_agent=user_agent).is_crawler()
    assert detect_bot(user_agent) == BotVerdict(True, "crawler", "Zzqx-indexer")


@pytest.mark.parametrize("missing", [None, "", "  "])
def test_missing_user_agent_from_a_browser_is_a_bot(missing: str | None) -> None:
    assert detect_bot(missing) == BotVerdict(True, "missing_user_agent")
    assert detect_bot(missing, BROWSER_SDK).reason == "missing_user_agent"


@pytest.mark.parametrize("context", [PYTHON_SDK, NODE_SDK, {"library": {"name": "Analytics-Node"}}])
@pytest.mark.parametrize("user_agent", [None, "", ua.SEGMENT_PYTHON, ua.PYTHON_REQUESTS, "Dalvik/2.1.0"])
def test_server_and_mobile_sdks_may_send_without_a_browser_user_agent(
    context: dict[str, Any], user_agent: str | None
) -> None:
    assert detect_bot(user_agent, context) == BotVerdict(False)


@pytest.mark.parametrize("user_agent", [ua.GOOGLEBOT, ua.HEADLESS_CHROME])
def test_server_sdk_forwarding_a_crawler_still_marks_a_bot(user_agent: str) -> None:
    assert detect_bot(user_agent, PYTHON_SDK).is_bot


@pytest.mark.parametrize(
    "context",
    [
        None,
        {},
        {"library": "analytics-python"},
        {"library": {"name": 7}},
        {"library": {"name": "my-own-sdk"}},
    ],
)
def test_malformed_or_unknown_library_context_gives_no_exemption(context: dict[str, Any] | None) -> None:
    assert detect_bot(None, context).is_bot
    assert detect_bot(ua.CURL, context).reason == "http_client"


def test_verdicts_are_cached_per_user_agent() -> None:
    clear_bot_cache()
    first = detect_bot(ua.BINGBOT)
    assert detect_bot(ua.BINGBOT) is first


# The Rust prefilter must never hide a string CrawlerDetect would flag (it only confirms hits).
_LITERAL_PATTERNS = sorted(
    {
        pattern.replace("\\/", "/").replace("\\.", ".").replace("\\-", "-")
        for pattern in crawler_patterns
        if re.fullmatch(r"(?:[A-Za-z0-9 _]|\\[/.\-])+", pattern)
    }
)
_TOKENS = [
    *_LITERAL_PATTERNS[::7],
    "Mozilla/5.0",
    "Safari/537.36",
    "Chrome/124.0",
    "(compatible; ",
    ")",
    " ",
    "/",
]


def test_prefilter_passes_every_literal_crawler_pattern() -> None:
    could_be_crawler = _crawler_prefilter()
    assert len(_LITERAL_PATTERNS) > 500
    for literal in _LITERAL_PATTERNS:
        user_agent = f"Mozilla/5.0 (compatible; {literal}/1.0)"
        if CrawlerDetect(user_agent=user_agent).is_crawler():
            assert could_be_crawler(user_agent), literal


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_TOKENS), st.text(max_size=12)), max_size=8).map("".join))
def test_prefilter_has_no_false_negatives(user_agent: str) -> None:
    if CrawlerDetect(user_agent=user_agent).is_crawler():
        assert _crawler_prefilter()(user_agent.strip())


def test_without_the_rust_engine_every_string_goes_to_crawlerdetect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bots.importlib.util, "find_spec", lambda name: None)
    could_be_crawler = bots._build_crawler_prefilter()
    assert could_be_crawler(ua.CHROME_WINDOWS) and could_be_crawler(ua.GOOGLEBOT)
