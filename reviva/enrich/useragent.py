"""User agent → browser, OS and device type, with ua-parser 1.0 behind an LRU cache.

ua-parser's fastest resolver (`ua-parser-rs`, a Rust regex set) is used when it is installed and
the pure-Python one otherwise; either way the full parse costs tens of microseconds, while real
traffic repeats a few thousand distinct strings, so the finished `DeviceInfo` is cached per user
agent string and a repeat costs a dictionary lookup.

Device type is decided from what ua-parser reports (device, OS and browser families) plus the
"Mobile"/"Tablet" tokens browsers put in the string, because ua-parser itself has no notion of a
form factor:

- "bot": ua-parser's "Spider" device family, or a headless/automation browser.
- "tablet": iPad, Kindle, Android devices ua-parser files under a tablet brand, Android without
  the "Mobile" token (Google's convention for tablets), or an explicit "Tablet" token.
- "mobile": iPhone/iPod, Android with "Mobile", Windows Phone, other phone operating systems.
- "desktop": Windows, macOS, Linux, ChromeOS and the BSDs on no particular device.
- "other": smart TVs, consoles, HTTP libraries and anything unrecognised.

iPadOS 13+ in its default "desktop website" mode sends a Mac user agent; the string alone cannot
tell it from a Mac, so such iPads are counted as desktop.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from ua_parser import OS, BestAvailableResolver, Device, Domain, Resolver, UserAgent, load_lazy_builtins

DeviceType = Literal["desktop", "mobile", "tablet", "bot", "other"]

# Sized for "a few thousand distinct strings" with headroom; ~1 KB per entry at the cap below.
USER_AGENT_CACHE_SIZE = 8192
# Real browser strings are < 400 characters; longer ones are junk or attacks on the regexes, and
# the cap also bounds the cache's memory.
MAX_USER_AGENT_LENGTH = 1024

HEADLESS_BROWSER_FAMILIES = frozenset({"HeadlessChrome", "PhantomJS"})
TABLET_DEVICE_FAMILIES = frozenset({"iPad", "Kindle", "Kindle Fire", "Generic Tablet", "Nexus 7", "Nexus 9"})
TABLET_DEVICE_FAMILY_PREFIXES = ("iPad", "Kindle", "Galaxy Tab", "Surface")
TABLET_BRANDS = frozenset({"Generic_Android_Tablet"})
PHONE_DEVICE_FAMILIES = frozenset(
    {"iPhone", "iPod", "iPod Touch", "Generic Smartphone", "Generic Feature Phone"}
)
MOBILE_OS_FAMILIES = frozenset(
    {
        "iOS",
        "Android",
        "Windows Phone",
        "Windows Mobile",
        "BlackBerry OS",
        "BlackBerry Tablet OS",
        "Symbian OS",
        "Firefox OS",
        "KaiOS",
        "HarmonyOS",
        "Tizen",
        "webOS",
        "Sailfish",
        "Ubuntu Touch",
    }
)
DESKTOP_OS_FAMILIES = frozenset(
    {
        "Windows",
        "Mac OS X",
        "Linux",
        "Ubuntu",
        "Debian",
        "Fedora",
        "Red Hat",
        "SUSE",
        "Mint",
        "Arch Linux",
        "Gentoo",
        "Chrome OS",
        "FreeBSD",
        "OpenBSD",
        "NetBSD",
        "Solaris",
    }
)
# Device families that ua-parser reports for desktop-class machines rather than "no device".
DESKTOP_DEVICE_FAMILIES = frozenset({"Mac", "Other"})
# TVs, consoles and set-top boxes: ua-parser families containing these words.
OTHER_DEVICE_MARKERS = ("TV", "PlayStation", "Xbox", "Nintendo", "Chromecast", "Roku", "AppleTV")


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What a user agent string says about the browser, OS and device; None when unknown."""

    browser: str | None
    browser_version: str | None
    os: str | None
    os_version: str | None
    device_type: DeviceType
    device_family: str | None


UNKNOWN_DEVICE = DeviceInfo(None, None, None, None, "other", None)

_resolver_lock = threading.Lock()
_resolver: Resolver | None = None


def _get_resolver() -> Resolver:
    """Build ua-parser's resolver on first use (~0.1 s), not at import: not every handler needs it."""
    global _resolver
    if _resolver is None:
        with _resolver_lock:
            if _resolver is None:
                # Lazy matchers compile each regex only when first tried; the Rust resolver takes
                # the regex sources directly, so this is the cheap way to build either resolver.
                _resolver = BestAvailableResolver(load_lazy_builtins())
    return _resolver


def resolver_name() -> str:
    """Which ua-parser resolver is in use ("ua_parser.regex" is the Rust one), for reports."""
    return BestAvailableResolver.__module__


def _version(*parts: str | None) -> str | None:
    """Join the version components ua-parser found ("124.0.6367"), stopping at the first gap."""
    present: list[str] = []
    for part in parts:
        if not part:
            break
        present.append(part)
    return ".".join(present) or None


def _known(family: str | None) -> str | None:
    """ua-parser says "Other" for no match; the lake stores that as NULL."""
    return None if not family or family == "Other" else family


def _device_type(ua: str, agent: UserAgent | None, os: OS | None, device: Device | None) -> DeviceType:
    agent_family = agent.family if agent else ""
    os_family = os.family if os else ""
    device_family = device.family if device else ""
    brand = (device.brand or "") if device else ""

    if device_family == "Spider" or agent_family in HEADLESS_BROWSER_FAMILIES:
        return "bot"
    if any(marker in device_family for marker in OTHER_DEVICE_MARKERS) or "SMART-TV" in ua:
        return "other"
    if (
        device_family in TABLET_DEVICE_FAMILIES
        or device_family.startswith(TABLET_DEVICE_FAMILY_PREFIXES)
        or brand in TABLET_BRANDS
        or ("Tablet" in ua and "Tablet PC" not in ua)  # "Tablet PC 2.0" is on Windows 7 desktops
    ):
        return "tablet"
    if device_family in PHONE_DEVICE_FAMILIES:
        return "mobile"
    if os_family == "Android":
        # Google's convention: Android phones say "Mobile", tablets do not. Firefox for Android
        # says "Mobile"/"Tablet" in the platform part instead, which the checks above and here cover.
        return "mobile" if "Mobile" in ua else "tablet"
    if os_family in MOBILE_OS_FAMILIES:
        return "mobile"
    if os_family in DESKTOP_OS_FAMILIES and (not device_family or device_family in DESKTOP_DEVICE_FAMILIES):
        return "desktop"
    if "Mobile" in agent_family or "Mobi" in ua:
        return "mobile"
    return "other"


@lru_cache(maxsize=USER_AGENT_CACHE_SIZE)
def _parse_cached(ua: str) -> DeviceInfo:
    ua = ua.strip()
    if not ua:
        return UNKNOWN_DEVICE
    result = _get_resolver()(ua, Domain.ALL)
    agent, os, device = result.user_agent, result.os, result.device
    return DeviceInfo(
        browser=_known(agent.family) if agent else None,
        browser_version=_version(agent.major, agent.minor, agent.patch) if agent else None,
        os=_known(os.family) if os else None,
        os_version=_version(os.major, os.minor, os.patch) if os else None,
        device_type=_device_type(ua, agent, os, device),
        device_family=_known(device.family) if device else None,
    )


def parse_user_agent(ua: str | None) -> DeviceInfo:
    """Parse a user agent string into browser, OS and device type (cached per string).

    Never raises; an absent or blank user agent gives `UNKNOWN_DEVICE` (device type "other").
    """
    if not ua:
        return UNKNOWN_DEVICE
    if len(ua) > MAX_USER_AGENT_LENGTH:
        ua = ua[:MAX_USER_AGENT_LENGTH]
    # The raw string is the cache key: normalising first would cost more than the hit itself.
    return _parse_cached(ua)


def clear_user_agent_cache() -> None:
    """Forget cached parses (benchmarks measuring cold calls)."""
    _parse_cached.cache_clear()
