"""Answers in the documented shapes (docs/api-analytics.md, README), for driving the page's states.

The live tests use the real stack; these answers let the state tests put every panel into a known
state (ready with known numbers, empty, error, slow, not deployed) and check what the page draws.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Page, Route

Answer = tuple[int, Any, dict[str, str]]
NOW = datetime.now(UTC).replace(microsecond=0)
FRESHNESS = {
    "source": "rollup",
    "data_as_of": (NOW - timedelta(minutes=14)).isoformat().replace("+00:00", "Z"),
    "generated_at": NOW.isoformat().replace("+00:00", "Z"),
}
CHANNELS = ["organic_search", "paid_search", "direct", "email", "referral", "paid_social"]


def _days(start: str, end: str) -> list[str]:
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return [str(first + timedelta(days=i)) for i in range((last - first).days + 1)]


def _comparison(days: list[str]) -> dict[str, Any]:
    """The days the KPI changes compare: the complete ones (before today, UTC), day for day."""
    complete = [day for day in days if date.fromisoformat(day) < NOW.date()]
    if not complete:
        return {"current": None, "previous": None, "excluded_open_days": len(days)}
    shift = timedelta(days=len(days))
    first, last = date.fromisoformat(complete[0]), date.fromisoformat(complete[-1])
    return {
        "current": {"from": str(first), "to": str(last)},
        "previous": {"from": str(first - shift), "to": str(last - shift)},
        "excluded_open_days": len(days) - len(complete),
    }


def overview(query: dict[str, str], empty: bool = False) -> dict[str, Any]:
    days = _days(query["from"], query["to"])
    scale = 0 if empty else 1

    def kpi(value: float, previous: float) -> dict[str, Any]:
        value, previous = value * scale, previous * scale
        return {
            "value": value,
            "compared": value,
            "previous": previous,
            "change": round((value - previous) / previous, 4) if previous else None,
        }

    series = [
        {
            "bucket": f"{day}T00:00:00Z",
            "visitors": (110 + 9 * i) * scale,
            "sessions": (140 + 11 * i) * scale,
            "page_views": (560 + 40 * i) * scale,
            "conversions": (4 + i % 3) * scale,
            "revenue": (480.0 + 30 * i) * scale,
        }
        for i, day in enumerate(days)
    ]
    breakdown = (
        []
        if empty
        else [{"key": key, "value": 400 - 60 * i, "previous": 380 - 50 * i} for i, key in enumerate(CHANNELS)]
    )
    return {
        "from": query["from"],
        "to": query["to"],
        "interval": query.get("interval", "day"),
        "previous": {"from": query["from"], "to": query["to"]},
        "comparison": _comparison(days),
        "kpis": {
            "visitors": kpi(812, 640),
            "sessions": kpi(1040, 830),
            "page_views": kpi(4210, 3300),
            "bounce_rate": kpi(0.4125, 0.44),
            "avg_session_duration_seconds": kpi(183.4, 170.0),
            "conversions": kpi(37, 30),
            "conversion_rate": kpi(0.0356, 0.0361),
            "revenue": kpi(4120.5, 3300.0),
        },
        "series": series,
        "top_pages": []
        if empty
        else [
            {"key": "/pricing", "value": 310, "previous": 200},
            {"key": "/", "value": 290, "previous": 300},
        ],
        "channels": breakdown,
        "devices": []
        if empty
        else [
            {"key": "mobile", "value": 600, "previous": 500},
            {"key": "desktop", "value": 440, "previous": 330},
        ],
        "countries": []
        if empty
        else [{"key": "GB", "value": 700, "previous": 610}, {"key": "PT", "value": 80, "previous": 61}],
        "visitors_estimated": True,
        "freshness": FRESHNESS,
    }


def funnel(body: dict[str, Any], empty: bool = False) -> dict[str, Any]:
    counts = [0, 0, 0, 0] if empty else [500, 200, 200, 37]
    counts = counts[: len(body["steps"])]
    steps = []
    for index, count in enumerate(counts):
        previous = counts[index - 1] if index else count
        reached = round(count / counts[0], 4) if counts[0] else 0.0
        drop = previous - count if index else 0
        steps.append(
            {
                "index": index,
                "label": json.dumps(body["steps"][index]),
                "visitors": count,
                "reached_rate_from_start": reached,
                "drop_off_visitors": drop,
                "drop_off_rate": round(drop / previous, 4) if index and previous else 0.0,
                "median_seconds_from_previous": None if index == 0 else 95.0 * index,
                "count": count,
                "conversion_from_start": reached,
                "drop_off": drop,
            }
        )
    shares = [("organic_search", 2), ("paid_search", 4)]
    breakdowns = (
        []
        if empty or not body.get("breakdown")
        else [
            {
                "key": key,
                "steps": [{"index": i, "visitors": c // d, "count": c // d} for i, c in enumerate(counts)],
            }
            for key, d in shares
        ]
        + [
            {
                "key": "(other)",
                "steps": [{"index": i, "visitors": c // 8, "count": c // 8} for i, c in enumerate(counts)],
            }
        ]
    )
    return {
        "from": body.get("from"),
        "to": body.get("to"),
        "window_hours": body.get("window_hours", 72),
        "breakdown": body.get("breakdown"),
        "entered_visitors": counts[0],
        "completed_visitors": counts[-1],
        "funnel_completion_rate": round(counts[-1] / counts[0], 4) if counts[0] else 0.0,
        "steps": steps,
        "breakdowns": breakdowns,
        "other_keys": 0 if not breakdowns else 5,
        "freshness": {**FRESHNESS, "source": "lake"},
    }


def vocabulary(query: dict[str, str], empty: bool = False) -> dict[str, Any]:
    def terms(values: list[str]) -> list[dict[str, Any]]:
        return (
            []
            if empty
            else [
                {"value": v, "visitors": 100 - 10 * i, "events": 120 - 10 * i} for i, v in enumerate(values)
            ]
        )

    return {
        "from": query.get("from"),
        "to": query.get("to"),
        "q": query.get("q"),
        "limit": 25,
        "events": terms(["Booking Started", "Booking Submitted", "Pricing Viewed"]),
        "pages": terms(["/", "/services/iphone-screen-repair", "/pricing"]),
        "patterns": terms(["/services/*"]),
        "touchpoints": terms(["landing_page", "pricing_check", "booking_start", "booking_submitted"]),
        "presets": [
            {
                "id": "booking",
                "name": "Visit → booking",
                "steps": [
                    {"step": {"type": "page"}, "label": "Visited"},
                    {"step": {"touchpoint": "pricing_check"}, "label": "Saw prices"},
                    {"step": {"touchpoint": "booking_start"}, "label": "Started booking"},
                    {"step": {"touchpoint": "booking_submitted"}, "label": "Booked"},
                ],
            }
        ],
        "freshness": {**FRESHNESS, "source": "lake"},
    }


def retention(query: dict[str, str], empty: bool = False) -> dict[str, Any]:
    cohorts = []
    if not empty:
        for i in range(6):
            size = 120 - 10 * i
            rates = [1.0, *[round(0.3 / (k + 1), 4) for k in range(6 - i - 1)]]
            cohorts.append(
                {
                    "cohort": str(date(2026, 11, 16) + timedelta(days=i)),
                    "size": size,
                    "retained": [round(size * r) for r in rates],
                    "rates": rates,
                }
            )
    return {
        "cohort": query.get("cohort", "week"),
        "periods": int(query.get("periods", 8)),
        "from": query["from"],
        "to": query["to"],
        "cohorts": cohorts,
        "freshness": {**FRESHNESS, "source": "lake"},
    }


def paths(query: dict[str, str], empty: bool = False) -> dict[str, Any]:
    if empty:
        nodes, links, top = [], [], []
    else:
        nodes = [
            {"id": "0:landing_page", "name": "landing_page", "depth": 0, "count": 300},
            {"id": "1:service_browse", "name": "service_browse", "depth": 1, "count": 180},
            {"id": "1:pricing_check", "name": "pricing_check", "depth": 1, "count": 90},
            {"id": "2:pricing_check", "name": "pricing_check", "depth": 2, "count": 100},
            {"id": "3:booking_start", "name": "booking_start", "depth": 3, "count": 45},
        ]
        links = [
            {"source": "0:landing_page", "target": "1:service_browse", "value": 180},
            {"source": "0:landing_page", "target": "1:pricing_check", "value": 90},
            {"source": "1:service_browse", "target": "2:pricing_check", "value": 100},
            {"source": "2:pricing_check", "target": "3:booking_start", "value": 45},
        ]
        top = [
            {"steps": ["landing_page", "service_browse", "pricing_check", "booking_start"], "sessions": 45}
        ]
    return {
        "from": query["from"],
        "to": query["to"],
        "from_step": query.get("from_step"),
        "depth": int(query.get("depth", 4)),
        "nodes": nodes,
        "links": links,
        "top_paths": top,
        "stage_transitions": [] if empty else [{"from": "awareness", "to": "consideration", "count": 80}],
        "freshness": {**FRESHNESS, "source": "lake"},
    }


# Per model, the credit of each channel; every model shares out the same 42 conversions.
ATTRIBUTION_SPLITS: dict[str, list[float]] = {
    "first_touch": [20, 10, 6, 4, 2, 0],
    "last_touch": [10, 18, 8, 4, 1, 1],
    "linear": [15, 14, 7, 4, 1.5, 0.5],
    "time_decay": [13, 16, 7, 4, 1.5, 0.5],
    "position_based": [15.5, 13.5, 7, 4, 1.5, 0.5],
    "markov": [14.2, 14.8, 7, 4, 1.5, 0.5],
}


# Imported spend per channel (its one campaign) when FakeApi(spend=True): paid channels only.
ATTRIBUTION_SPEND: dict[str, float] = {"paid_search": 400.0, "email": 50.0, "paid_social": 120.0}
REVENUE_PER_CONVERSION = 111.3


def attribution(query: dict[str, str], empty: bool = False, spend: bool = False) -> dict[str, Any]:
    model = query["model"]
    rows = []
    for channel, credit in [] if empty else zip(CHANNELS, ATTRIBUTION_SPLITS[model], strict=True):
        revenue = round(credit * REVENUE_PER_CONVERSION, 2)
        cost = ATTRIBUTION_SPEND.get(channel) if spend else None
        rows.append(
            {
                "channel": channel,
                "campaign": None if channel in ("direct", "organic_search") else f"{channel}-nov",
                "conversions": credit,
                "revenue": revenue,
                "spend": cost,
                "cac": round(cost / credit, 2) if cost is not None and credit else None,
                "roas": round(revenue / cost, 4) if cost else None,
                "roi": round((revenue - cost) / cost, 4) if cost else None,
            }
        )
    return {
        "model": model,
        "from": query["from"],
        "to": query["to"],
        "lookback_days": 30,
        "totals": {
            "conversions": 0.0 if empty else 42.0,
            "revenue": 0.0 if empty else round(42 * REVENUE_PER_CONVERSION, 2),
            "spend": sum(ATTRIBUTION_SPEND.values()) if spend and not empty else None,
        },
        "rows": rows,
        "total": len(rows),
        "next_cursor": None,
        "freshness": {**FRESHNESS, "source": "lake"},
    }


def campaigns(query: dict[str, str], empty: bool = False) -> dict[str, Any]:
    days = _days(query["from"], query["to"])
    names = [] if empty else ["black-friday", "screen-repair-nov", "battery-week"]
    return {
        "from": query["from"],
        "to": query["to"],
        "days": days,
        "campaigns": [
            {
                "campaign": name,
                "source": "google",
                "medium": "cpc",
                "visitors": 120 - 30 * i,
                "sessions": 150 - 30 * i,
                "conversions": 6 - i,
                "revenue": 720.0 - 100 * i,
                "conversion_rate": round((6 - i) / (150 - 30 * i), 4),
                "spend": 300.0 if i == 0 else None,
                "trend": {
                    "visitors": [(d * 7 + i * 3) % 25 for d in range(len(days))],
                    "conversions": [d % 2 for d in range(len(days))],
                },
            }
            for i, name in enumerate(names)
        ],
        "total": len(names),
        "next_cursor": None,
        "freshness": {**FRESHNESS, "source": "lake"},
    }


def realtime(empty: bool = False) -> dict[str, Any]:
    stamp = NOW.isoformat()
    minute = NOW.strftime("%Y-%m-%dT%H:%M")
    counts = {} if empty else {"page": 12, "track": 3, "event:Booking Started": 2, "event:Pricing Viewed": 1}
    return {
        "window_minutes": 30,
        "generated_at": stamp,
        "data_as_of": stamp,
        "events_by_type": {} if empty else {"page": 12, "track": 3},
        "track_events": {} if empty else {"Booking Started": 2, "Pricing Viewed": 1},
        "total_events": 0 if empty else 15,
        "bot_events": 0,
        "active_visitors": 0 if empty else 4,
        "active_visitors_5m": 0 if empty else 3,
        "per_minute": [] if empty else [{"minute": minute, "counts": counts, "active_visitors": 3}],
    }


def people(empty: bool = False) -> dict[str, Any]:
    """`GET /v1/visitors` (README): visitors most recent first, with their key figures."""
    rows = [
        {
            "visitor_key": f"a:visitor-{i}",
            "kind": "anonymous",
            "identified": i == 0,
            "first_seen_at": (NOW - timedelta(days=3 + i)).isoformat(),
            "last_seen_at": (NOW - timedelta(minutes=5 + 30 * i)).isoformat(),
            "sessions": 1 + i,
            "page_views": 3 + 2 * i,
            "conversions": 1 if i == 0 else 0,
            "revenue": 89.0 if i == 0 else 0.0,
            "lead_score": 40 - i,
            "journey_stage": "decision",
            "last_channel": CHANNELS[i % len(CHANNELS)],
            "device_type": "mobile",
            "country": "GB",
        }
        for i in range(0 if empty else 3)
    ]
    return {"people": rows, "next_cursor": None, "data_as_of": NOW.isoformat()}


def rejected(empty: bool = False) -> dict[str, Any]:
    items = (
        []
        if empty
        else [
            {
                "id": f"{NOW.isoformat()}#1",
                "stage": "ingest",
                "reason": "track: 'event' is required",
                "index": 0,
                "message_id": "m-1",
                "source_id": None,
                "raw": '{"type":"track"}',
                "rejected_at": NOW.isoformat(),
            }
        ]
    )
    return {"count": len(items), "rejected": items}


@dataclass
class FakeApi:
    """Answers the page's API requests in the browser (Playwright routes), by endpoint.

    `passthrough` names endpoints the real server answers. `overrides` maps an endpoint key
    ("overview", "funnels", "retention", "paths", "attribution", "campaigns", "realtime",
    "rejected", "people", "visitors") to a function of the request returning (status, body, headers), or
    None to answer normally.
    """

    empty: bool = False
    # Answer attribution as if ad spend had been imported (ATTRIBUTION_SPEND).
    spend: bool = False
    overrides: dict[str, Callable[[dict[str, Any]], Answer | None]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # Endpoints left to the real server.
    passthrough: frozenset[str] = frozenset()

    def install(self, page: Page) -> None:
        page.route("**/v1/**", self._handle)

    def _answer(self, key: str, query: dict[str, str], body: dict[str, Any]) -> Answer:
        empty = self.empty
        handlers: dict[str, Callable[[], Any]] = {
            "overview": lambda: overview(query, empty),
            "funnels": lambda: funnel(body, empty),
            "vocabulary": lambda: vocabulary(query, empty),
            "saved": lambda: {"funnels": [], "generated_at": FRESHNESS["generated_at"]},
            "retention": lambda: retention(query, empty),
            "paths": lambda: paths(query, empty),
            "attribution": lambda: attribution(query, empty, self.spend),
            "campaigns": lambda: campaigns(query, empty),
            "realtime": lambda: realtime(empty),
            "rejected": lambda: rejected(empty),
            "people": lambda: people(empty),
        }
        if key not in handlers:
            return 404, {"message": "Not Found"}, {}
        return 200, handlers[key](), {}

    def _handle(self, route: Route) -> None:
        request = route.request
        url = urlparse(request.url)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body: dict[str, Any] = (request.post_data_json or {}) if request.method == "POST" else {}
        key = url.path.rstrip("/").split("/")[-1] if not url.path.startswith("/v1/visitors/") else "visitors"
        if url.path.rstrip("/") in ("/v1/visitors", "/v1/visitors/search"):
            key = "people"  # the People list and search; "visitors" is one visitor's lookup
        self.requests.append((key, request.url))
        if key in self.passthrough:
            route.continue_()
            return
        override = self.overrides.get(key)
        answer = override({"query": query, "body": body, "headers": request.headers}) if override else None
        status, payload, headers = answer or self._answer(key, query, body)
        route.fulfill(status=status, json=payload, headers=headers)
