"""What the enrich stage derives from one event alone: device, bot verdict, traffic source, page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from reviva.contracts.events import CollectedEvent
from reviva.enrich.bots import detect_bot
from reviva.enrich.channel import TrafficSource, campaign_key, classify_traffic
from reviva.enrich.useragent import DeviceInfo, parse_user_agent

SESSION_EVENT_TYPES = frozenset({"page", "screen", "track"})
PAGE_EVENT_TYPES = frozenset({"page", "screen"})


@dataclass(frozen=True, slots=True)
class EventFacts:
    """Per-event enrichment, independent of the visitor's history."""

    device: DeviceInfo
    is_bot: bool
    bot_reason: str | None
    traffic: TrafficSource
    campaign_key: str | None
    page_url: str | None
    page_path: str | None
    page_title: str | None
    referrer: str | None
    revenue: float | None
    service: str | None


def _page_fields(event: CollectedEvent) -> dict[str, Any]:
    page = event.context.get("page")
    fields: dict[str, Any] = dict(page) if isinstance(page, dict) else {}
    if event.type in PAGE_EVENT_TYPES:
        # analytics.js repeats the page fields in a page call's properties; they win there.
        for key in ("url", "path", "referrer", "title", "search"):
            value = event.properties.get(key)
            if isinstance(value, str):
                fields[key] = value
    return fields


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _path_of(url: str) -> str | None:
    """The path of a page URL ("/" when it has none); None when the URL cannot be parsed at all."""
    try:
        return urlsplit(url).path or "/"
    except ValueError:  # "https://[x/": unbalanced IPv6 brackets, or a host invalid under NFKC
        return None


def _revenue(properties: dict[str, Any]) -> float | None:
    value = properties.get("revenue")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        amount = float(value)
    except (ValueError, OverflowError):  # "abc"; an integer beyond a float's range
        return None
    return amount if amount == amount and abs(amount) < 1e12 else None  # drop NaN and absurd values


def _service_from(path: str | None, properties: dict[str, Any]) -> str | None:
    service = properties.get("service")
    if isinstance(service, str) and service:
        return service[:80]
    if path and path.startswith("/services/"):
        slug = path[len("/services/") :].strip("/").split("/", 1)[0]
        return slug[:80] or None
    return None


def describe_event(event: CollectedEvent, site_hosts: frozenset[str] = frozenset()) -> EventFacts:
    """Derive everything about `event` that does not depend on the visitor's earlier events."""
    page = _page_fields(event)
    page_url = _text(page.get("url"))
    page_path = _text(page.get("path"))
    if page_path is None and page_url:
        page_path = _path_of(page_url)
    referrer = _text(page.get("referrer"))
    campaign = event.context.get("campaign")
    traffic = classify_traffic(
        page_url, referrer, campaign if isinstance(campaign, dict) else None, site_hosts=site_hosts
    )
    device = parse_user_agent(event.user_agent)
    library = event.context.get("library")
    verdict = detect_bot(event.user_agent, {"library": library} if isinstance(library, dict) else None)
    return EventFacts(
        device=device,
        is_bot=verdict.is_bot,
        bot_reason=verdict.reason,
        traffic=traffic,
        campaign_key=campaign_key(traffic),
        page_url=page_url,
        page_path=page_path,
        page_title=_text(page.get("title")),
        referrer=referrer,
        revenue=_revenue(event.properties),
        service=_service_from(page_path, event.properties),
    )
