"""parse_user_agent: browser, OS and device type from real user agent strings."""

from __future__ import annotations

import pytest

from reviva.enrich.useragent import (
    MAX_USER_AGENT_LENGTH,
    UNKNOWN_DEVICE,
    DeviceInfo,
    clear_user_agent_cache,
    parse_user_agent,
)

from . import user_agents as ua

# (user agent, browser, browser major version, os, device type)
CASES = [
    (ua.CHROME_WINDOWS, "Chrome", "124", "Windows", "desktop"),
    (ua.EDGE_WINDOWS, "Edge", "124", "Windows", "desktop"),
    (ua.FIREFOX_LINUX, "Firefox", "125", "Linux", "desktop"),
    (ua.FIREFOX_WINDOWS, "Firefox", "125", "Windows", "desktop"),
    (ua.SAFARI_MAC, "Safari", "17", "Mac OS X", "desktop"),
    (ua.IE11_WINDOWS7_TABLET_PC, "IE", "11", "Windows", "desktop"),
    (ua.IPHONE_SAFARI, "Mobile Safari", "17", "iOS", "mobile"),
    (ua.IPHONE_FACEBOOK_APP, "Facebook", "460", "iOS", "mobile"),
    (ua.IPAD_SAFARI, "Mobile Safari", "17", "iOS", "tablet"),
    (ua.ANDROID_PHONE_CHROME, "Chrome Mobile", "124", "Android", "mobile"),
    (ua.ANDROID_PHONE_REDUCED, "Chrome Mobile", "124", "Android", "mobile"),
    (ua.ANDROID_PHONE_FIREFOX, "Firefox Mobile", "125", "Android", "mobile"),
    (ua.ANDROID_TABLET_CHROME, "Chrome", "124", "Android", "tablet"),
    (ua.ANDROID_TABLET_REDUCED, "Chrome", "124", "Android", "tablet"),
    (ua.ANDROID_TABLET_FIREFOX, "Firefox Mobile", "125", "Android", "tablet"),
    (ua.KINDLE_FIRE, "Amazon Silk", "3", "Android", "tablet"),
    (ua.SAMSUNG_SMART_TV, "Samsung Internet", "4", "Tizen", "other"),
    (ua.GOOGLEBOT, "Googlebot", "2", None, "bot"),
    (ua.GOOGLEBOT_SMARTPHONE, "Googlebot", "2", "Android", "bot"),
    (ua.BINGBOT, "bingbot", "2", None, "bot"),
    (ua.GPTBOT, "GPTBot", "1", None, "bot"),
    (ua.HEADLESS_CHROME, "HeadlessChrome", "124", "Linux", "bot"),
    (ua.PHANTOMJS, "PhantomJS", "2", "Linux", "bot"),
    (ua.CURL, "curl", "8", None, "other"),
    (ua.PYTHON_REQUESTS, "Python Requests", "2", None, "other"),
]


@pytest.mark.parametrize(("user_agent", "browser", "major", "os", "device_type"), CASES)
def test_real_user_agents(
    user_agent: str, browser: str, major: str, os: str | None, device_type: str
) -> None:
    info = parse_user_agent(user_agent)
    assert info.browser == browser
    assert info.browser_version is not None and info.browser_version.split(".")[0] == major
    assert info.os == os
    assert info.device_type == device_type


def test_versions_and_device_family_are_reported() -> None:
    iphone = parse_user_agent(ua.IPHONE_SAFARI)
    assert iphone == DeviceInfo("Mobile Safari", "17.4.1", "iOS", "17.4.1", "mobile", "iPhone")
    mac = parse_user_agent(ua.SAFARI_MAC)
    assert (mac.os_version, mac.device_family) == ("10.15.7", "Mac")
    # ua-parser's "Other" (nothing recognised) becomes None rather than a fake family name.
    assert parse_user_agent(ua.CHROME_WINDOWS).device_family is None
    assert parse_user_agent(ua.GOOGLEBOT).device_family == "Spider"


@pytest.mark.parametrize("missing", [None, "", "   ", "\t\n"])
def test_missing_user_agent_is_unknown(missing: str | None) -> None:
    assert parse_user_agent(missing) == UNKNOWN_DEVICE
    assert UNKNOWN_DEVICE.device_type == "other"


def test_unrecognised_string_is_other_with_nulls() -> None:
    info = parse_user_agent("totally made up agent")
    assert info.device_type == "other"
    assert info.browser is None and info.os is None and info.device_family is None


def test_repeat_calls_are_served_from_the_cache() -> None:
    clear_user_agent_cache()
    first = parse_user_agent(ua.ANDROID_PHONE_CHROME)
    assert parse_user_agent(ua.ANDROID_PHONE_CHROME) is first


def test_very_long_user_agent_is_cut_not_rejected() -> None:
    padded = ua.CHROME_WINDOWS + " x" * 5_000
    info = parse_user_agent(padded)
    assert info.browser == "Chrome"
    # The cut string is the cache key, so any two strings sharing the first
    # MAX_USER_AGENT_LENGTH characters share one cache entry.
    assert parse_user_agent(padded[:MAX_USER_AGENT_LENGTH] + "tail") is info
