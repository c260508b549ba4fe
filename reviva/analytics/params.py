"""Parsing and validating request parameters; every failure names its parameter (a 400).

Each parser checks the raw value's type first (a JSON body can hold any value where a query string
holds text), then its form, then its range, and only then computes anything with it: a value that
passed a parser can take the date arithmetic and the engine's encoding the use cases apply to it.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from reviva.analytics.errors import InvalidParameter

MAX_SPAN_DAYS = 366
MAX_PAGE = 500
DEFAULT_PAGE = 50
# The days a request may name: from EARLIEST_DAY to a year after today (UTC). Far inside what
# `date` and the engines' timestamps hold, so a range, the period before it (overview), the
# cohort periods around it (retention) and a forecast after it (trends) never overflow; and it
# covers every day the lake can hold (ingest accepts events at most 30 days old, a day ahead).
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAYS_AHEAD = 366
_DAY_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INTEGER_PATTERN = re.compile(r"-?[0-9]{1,9}")
_STEP_PATTERN = re.compile(r"[A-Za-z0-9_.:/-]{1,100}")
# A request body (a funnel definition) is a few hundred bytes, nested four levels deep.
MAX_BODY_BYTES = 64 * 1024
MAX_BODY_DEPTH = 16


def day_bounds(today: date) -> tuple[date, date]:
    """The first and last day a request may name (both included)."""
    return EARLIEST_DAY, today + timedelta(days=LATEST_DAYS_AHEAD)


def parse_day(name: str, raw: object, default: date, *, today: date) -> date:
    """A `YYYY-MM-DD` day within `day_bounds(today)`, or the default when absent."""
    if raw is None or raw == "":
        return default
    if not isinstance(raw, str):
        raise InvalidParameter(name, "must be a date YYYY-MM-DD")
    try:
        if not _DAY_PATTERN.fullmatch(raw):
            raise ValueError
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidParameter(name, f"must be a date YYYY-MM-DD, not {_shown(raw)}") from None
    earliest, latest = day_bounds(today)
    if not earliest <= day <= latest:
        raise InvalidParameter(name, f"must be a day from {earliest} to {latest}")
    return day


def _shown(raw: str) -> str:
    """A bad value, cut short and escaped, to quote in a reason (never echo broken text)."""
    return repr(raw[:40].encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace"))


def parse_range(query: Mapping[str, Any], today: date, default_days: int = 7) -> tuple[date, date]:
    """`from`/`to` (inclusive days); default the last `default_days` days ending today."""
    last = parse_day("to", query.get("to"), today, today=today)
    first = parse_day("from", query.get("from"), last - timedelta(days=default_days - 1), today=today)
    if first > last:
        raise InvalidParameter("from", "must not be after to")
    if (last - first).days + 1 > MAX_SPAN_DAYS:
        raise InvalidParameter("from", f"the range may span at most {MAX_SPAN_DAYS} days")
    return first, last


def parse_choice(query: Mapping[str, Any], name: str, choices: tuple[str, ...], default: str | None) -> str:
    """One of `choices`; required when `default` is None."""
    raw = query.get(name)
    if raw is None or raw == "":
        if default is None:
            raise InvalidParameter(name, "is required: one of " + ", ".join(choices))
        return default
    if not isinstance(raw, str) or raw not in choices:
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
    elif isinstance(raw, str) and _INTEGER_PATTERN.fullmatch(raw):
        value = int(raw)
    else:
        raise InvalidParameter(name, f"must be an integer from {low} to {high}")
    if not low <= value <= high:
        raise InvalidParameter(name, f"must be an integer from {low} to {high}")
    return value


def parse_step(name: str, raw: object) -> str | None:
    """A journey step name (touchpoint)."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not _STEP_PATTERN.fullmatch(raw):
        raise InvalidParameter(name, "must be 1 to 100 characters of letters, digits and _ . : / -")
    return raw


def parse_page(query: Mapping[str, Any]) -> tuple[int, int]:
    """(offset, limit) from `cursor` and `limit`."""
    limit = parse_int(query, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    cursor = query.get("cursor")
    if not cursor:
        return 0, limit
    try:
        if not isinstance(cursor, str):
            raise ValueError
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


def parse_json_body(text: str | None) -> Any:
    """A request's JSON body (None when empty): bounded in size and depth, all of it Unicode text.

    Bounded before parsing (a body nested 100,000 levels deep exhausts the parser's recursion) and
    walked without recursion after; a string that is not Unicode text (a lone surrogate escaped as
    `"\\ud800"` is valid JSON) is refused here, naming where it is, before an engine must encode it.
    """
    if not text:
        return None
    if len(text) > MAX_BODY_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        raise InvalidParameter("body", f"must be at most {MAX_BODY_BYTES} bytes")
    try:
        document = json.loads(text)
    except RecursionError:
        raise InvalidParameter("body", f"must nest at most {MAX_BODY_DEPTH} levels") from None
    except ValueError:
        raise InvalidParameter("body", "must be JSON") from None
    _check_json_values(document)
    return document


def _check_json_values(document: Any) -> None:
    """Raise InvalidParameter naming the first value nested too deep or holding broken text."""
    pending: list[tuple[str, int, Any]] = [("", 0, document)]
    while pending:
        where, depth, value = pending.pop()
        if depth > MAX_BODY_DEPTH:
            raise InvalidParameter(where or "body", f"the body must nest at most {MAX_BODY_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                key_where = f"{where}.{_shown_key(key)}" if where else _shown_key(key)
                if not is_text(key):
                    raise InvalidParameter(key_where, "names must be Unicode text")
                pending.append((key_where, depth + 1, item))
        elif isinstance(value, list):
            list_where = where or "body"
            pending.extend((f"{list_where}[{index}]", depth + 1, item) for index, item in enumerate(value))
        elif isinstance(value, str) and not is_text(value):
            raise InvalidParameter(where or "body", "must be Unicode text (no lone surrogates)")


def _shown_key(key: str) -> str:
    return key[:40].encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")


def is_text(value: str) -> bool:
    """Whether a string is Unicode text, encodable as UTF-8 (no lone surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_text_parameters(values: Mapping[str, str], unnamed: str = "query") -> None:
    """Raise InvalidParameter naming the first query-string or path value that is not Unicode text.

    A parameter without a name (`?=x`) is named by `unnamed`; a broken name is quoted escaped.
    """
    for name, value in values.items():
        shown = _shown_key(name) or unnamed
        if not is_text(name):
            raise InvalidParameter(shown, "names must be Unicode text (no lone surrogates)")
        if not isinstance(value, str) or not is_text(value):
            raise InvalidParameter(shown, "must be Unicode text (no lone surrogates)")
