"""Which Segment-compatible libraries run outside a browser (from `context.library.name`).

Their HTTP User-Agent names the SDK, not the visitor's device, and a missing browser user agent
is normal for them rather than a sign of a bot.
"""

from __future__ import annotations

from typing import Any

# Segment and RudderStack libraries that do not run in a browser (context.library.name),
# lower-cased: server-side SDKs first, then native mobile SDKs.
NON_BROWSER_LIBRARIES = frozenset(
    {
        "analytics-python",
        "analytics-node",
        "@segment/analytics-node",
        "analytics-node-next",
        "analytics-ruby",
        "analytics-go",
        "analytics-java",
        "analytics-php",
        "analytics.net",
        "analytics-dotnet",
        "analytics-kotlin",
        "rudder-sdk-python",
        "rudder-sdk-node",
        "@rudderstack/rudder-sdk-node",
        "rudder-sdk-go",
        "rudder-sdk-java",
        "rudder-sdk-ruby",
        "rudder-sdk-php",
        "analytics-android",
        "analytics-ios",
        "analytics-swift",
        "analytics-react-native",
        "analytics-flutter",
        "rudder-sdk-android",
        "rudder-sdk-ios",
    }
)


def _library_name(context: dict[str, Any] | None) -> str | None:
    if not context:
        return None
    library = context.get("library")
    if isinstance(library, dict):
        name = library.get("name")
        return name.lower() if isinstance(name, str) else None
    return None


def is_non_browser_library(context: dict[str, Any] | None) -> bool:
    """True when the Segment context says a server-side or native mobile SDK sent the event."""
    return _library_name(context) in NON_BROWSER_LIBRARIES
