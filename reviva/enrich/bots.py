"""Bot and crawler detection: is this event from a person's browser or from a program?

Signals, strongest first (the first that fires gives the reason):

1. "missing_user_agent": no user agent at all. Every browser sends one.
2. "headless_browser": HeadlessChrome, PhantomJS and friends (automation, scrapers, test rigs).
3. "http_client": a plain HTTP library or command-line tool (curl, python-requests,
   Go-http-client, axios, ...): something scripted, not a page a person viewed.
4. "crawler": the CrawlerDetect pattern list (thousands of known crawlers, monitors and tools)
   or ua-parser's "Spider" device family (search engines, AI crawlers, link previewers).

Server-side SDKs are the exception. analytics-python, analytics-node and their peers send events
on behalf of real users from the store's own servers: their user agent is often absent, or is the
SDK's or its HTTP library's own. Native mobile SDKs are in the same position (an app's HTTP stack,
e.g. "Dalvik/2.1.0", is not a browser). When the Segment `context.library` names such an SDK,
signals 1 and 3 say nothing about the user and are ignored; a crawler or headless-browser user
agent that the server forwarded still marks a bot.

The user-agent part of the verdict is cached per string, like `parse_user_agent`. A cache miss
would cost ~170 µs in CrawlerDetect's single 1,460-way Python regex, so when ua-parser's Rust
regex engine (`ua-parser-rs`) is installed the same patterns are first run through it as a
prefilter (a few µs); only strings it flags are confirmed by CrawlerDetect itself, so verdicts
and matches are exactly CrawlerDetect's.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from crawlerdetect import CrawlerDetect
from crawlerdetect.crawlerdetect import get_compiled_exclusions_regex
from crawlerdetect.providers.crawlers import data as crawler_patterns

from reviva.enrich.useragent import MAX_USER_AGENT_LENGTH, parse_user_agent
from reviva.segment.libraries import is_non_browser_library

BotReason = Literal["missing_user_agent", "headless_browser", "http_client", "crawler"]

BOT_CACHE_SIZE = 8192

HEADLESS_PATTERN = re.compile(
    r"HeadlessChrome|PhantomJS|SlimerJS|Puppeteer|Playwright|Selenium|Cypress", re.I
)
# Anchored at the start, as these tools put their own name first; a browser string never does.
HTTP_CLIENT_PATTERN = re.compile(
    r"^(?:curl|wget|python-requests|python-urllib|python-httpx|aiohttp|httpx|urllib3|Go-http-client|"
    r"okhttp|axios|node-fetch|undici|got|node|Java|Apache-HttpClient|Jakarta Commons-HttpClient|"
    r"libwww-perl|LWP::Simple|Ruby|Faraday|HTTPie|PostmanRuntime|insomnia|Dart|Dalvik|"
    r"RestSharp|GuzzleHttp|PHP|Wget|reqwest|hyper|Deno|Bun)\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class BotVerdict:
    """Whether an event comes from a bot, and which signal said so."""

    is_bot: bool
    reason: BotReason | None = None
    # The piece of the user agent that matched ("Googlebot", "curl"), for operators' reports.
    matched: str | None = None


HUMAN = BotVerdict(False)
NO_USER_AGENT = BotVerdict(True, "missing_user_agent")


_prefilter_lock = threading.Lock()
_prefilter: Callable[[str], bool] | None = None


def _build_crawler_prefilter() -> Callable[[str], bool]:
    """A fast "could CrawlerDetect match?" test: no false negatives, CrawlerDetect confirms hits."""
    if importlib.util.find_spec("ua_parser_rs") is None:
        return lambda _agent: True  # no fast engine: let CrawlerDetect decide every time
    import ua_parser_rs  # type: ignore[import-untyped]

    rust_patterns: list[str] = []
    python_only: list[str] = []
    for pattern in crawler_patterns:
        try:
            ua_parser_rs.DeviceExtractor([(pattern, "i", "crawler", None, None)])
        except Exception:  # look-arounds are outside the Rust regex syntax
            python_only.append(pattern)
        else:
            rust_patterns.append(pattern)
    # The extractor is ua-parser's regex set (literal prefilters, one pass over the string); the
    # family it reports is irrelevant here, only whether any pattern matched.
    extractor = ua_parser_rs.DeviceExtractor(
        [(pattern, "i", "crawler", None, None) for pattern in rust_patterns]
    )
    leftovers = re.compile("|".join(python_only), re.IGNORECASE) if python_only else None
    exclusions = get_compiled_exclusions_regex()

    def could_be_crawler(agent: str) -> bool:
        # CrawlerDetect matches after deleting browser tokens ("Safari/537.36", "Mozilla/5.0"):
        # do the same so the prefilter sees exactly the string CrawlerDetect will search.
        stripped = exclusions.sub("", agent)
        if not stripped:
            return False
        return extractor.extract(stripped) is not None or (
            leftovers is not None and bool(leftovers.search(stripped))
        )

    return could_be_crawler


def _crawler_prefilter() -> Callable[[str], bool]:
    """Build the prefilter on first use (~0.3 s), not at import."""
    global _prefilter
    if _prefilter is None:
        with _prefilter_lock:
            if _prefilter is None:
                _prefilter = _build_crawler_prefilter()
    return _prefilter


def warm_up() -> None:
    """Build the parsers now (a Lambda's init phase) rather than on the first event."""
    _crawler_prefilter()
    parse_user_agent("Mozilla/5.0")


@lru_cache(maxsize=BOT_CACHE_SIZE)
def _verdict_for_user_agent(ua: str) -> BotVerdict:
    ua = ua.strip()
    if not ua:
        return NO_USER_AGENT
    if found := HEADLESS_PATTERN.search(ua):
        return BotVerdict(True, "headless_browser", found.group(0))
    if found := HTTP_CLIENT_PATTERN.match(ua):
        return BotVerdict(True, "http_client", found.group(0))
    # CrawlerDetect keeps the last match on the instance, so a shared one would race between
    # threads; a fresh one per cache miss is cheap (its compiled patterns are module-level).
    if _crawler_prefilter()(ua):
        detector = CrawlerDetect(user_agent=ua)
        if detector.is_crawler():
            return BotVerdict(True, "crawler", detector.get_matches())
    device = parse_user_agent(ua)
    if device.device_family == "Spider":
        return BotVerdict(True, "crawler", device.browser)
    return HUMAN


def detect_bot(ua: str | None, context: dict[str, Any] | None = None) -> BotVerdict:
    """Decide whether an event comes from a bot (see the module docstring for the signals).

    `context` is the Segment message context (or any dict with its `library` entry); only
    `context["library"]["name"]` is read. Never raises.
    """
    if ua and len(ua) > MAX_USER_AGENT_LENGTH:
        ua = ua[:MAX_USER_AGENT_LENGTH]
    verdict = _verdict_for_user_agent(ua) if ua else NO_USER_AGENT
    if verdict.reason in ("missing_user_agent", "http_client") and is_non_browser_library(context):
        return HUMAN
    return verdict


def clear_bot_cache() -> None:
    """Forget cached verdicts (benchmarks measuring cold calls)."""
    _verdict_for_user_agent.cache_clear()
