"""Parsing and validating request parameters; every failure names its parameter (a 400)."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from reviva.analytics.errors import InvalidParameter

MAX_SPAN_DAYS = 366
MAX_PAGE = 500
DEFAULT_PAGE = 50
_STEP_PATTERN = re.compile(r"^[A-Za-z0-9_.:/-]{1,100}$")


def parse_day(name: str, raw: str | None, default: date) -> date:
    """A `YYYY-MM-DD` day, or the default when absent."""
    if raw is None or raw == "":
        return default
    try:
        if len(raw) != 10:
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidParameter(name, f"must be a date YYYY-MM-DD, not {raw[:40]!r}") from None


def parse_range(query: Mapping[str, str], today: date, default_days: int = 7) -> tuple[date, date]:
    """`from`/`to` (inclusive days); default the last `default_days` days ending today."""
    last = parse_day("to", query.get("to"), today)
    first = parse_day("from", query.get("from"), last - timedelta(days=default_days - 1))
    if first > last:
        raise InvalidParameter("from", "must not be after to")
    if (last - first).days + 1 > MAX_SPAN_DAYS:
        raise InvalidParameter("from", f"the range may span at most {MAX_SPAN_DAYS} days")
    return first, last


def parse_choice(query: Mapping[str, str], name: str, choices: tuple[str, ...], default: str | None) -> str:
    """One of `choices`; required when `default` is None."""
    raw = query.get(name)
    if raw is None or raw == "":
        if default is None:
            raise InvalidParameter(name, "is required: one of " + ", ".join(choices))
        return default
    if raw not in choices:
        raise InvalidParameter(name, "must be one of " + ", ".join(choices))
    return raw


def parse_int(query: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    """An integer in [low, high] (a JSON number or its text)."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        raise InvalidParameter(name, f"must be an integer from {low} to {high}")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and re.fullmatch(r"-?\d{1,9}", raw):
        value = int(raw)
    else:
        raise InvalidParameter(name, f"must be an integer from {low} to {high}")
    if not low <= value <= high:
        raise InvalidParameter(name, f"must be an integer from {low} to {high}")
    return value


def parse_step(name: str, raw: str | None) -> str | None:
    """A journey step name (touchpoint)."""
    if raw is None or raw == "":
        return None
    if not _STEP_PATTERN.match(raw):
        raise InvalidParameter(name, "must be 1 to 100 characters of letters, digits and _ . : / -")
    return raw


def parse_page(query: Mapping[str, str]) -> tuple[int, int]:
    """(offset, limit) from `cursor` and `limit`."""
    limit = parse_int(query, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    cursor = query.get("cursor")
    if not cursor:
        return 0, limit
    try:
        text = base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)).decode()
        if not text.startswith("o:"):
            raise ValueError
        offset = int(text[2:])
        if offset < 0:
            raise ValueError
    except ValueError:
        raise InvalidParameter("cursor", "is not a cursor this API returned") from None
    return offset, limit


def page(items: list[Any], offset: int, limit: int) -> tuple[list[Any], str | None]:
    """One page of items and the cursor of the next (None on the last page)."""
    chunk = items[offset : offset + limit]
    if offset + limit >= len(items):
        return chunk, None
    return chunk, base64.urlsafe_b64encode(f"o:{offset + limit}".encode()).decode().rstrip("=")
