"""People: visitors most recent first, with their key figures, or the ones an id or an e-mail finds.

The list comes from the lake, not from a DynamoDB index. "Most recent first" needs an order by last
activity, and the profile item is rewritten on every batch: a global secondary index keyed on the
last-seen time would be written on each key change, ~1-2 WRU per visit however coarse the key
(a visit is ~26 events), ~$0.03-0.05 per million events at 100M a month on the ingest path whose
target is $0.50 (measured $0.49). One lake query per page instead (visitor_key and event_time of
the chosen days, grouped) costs nothing on the write path and a fraction of a cent a page on
Athena; the page's profiles are then one BatchGetItem.

A search never lists: an anonymous id, a user id or a visitor key is looked up by its keys (the
user id pseudonymized as ingest does), an e-mail address by its keyed pseudonym through the
identity links enrich writes for it (`e:<pseudonym>`). The raw address is hashed here and goes
nowhere else: not into a store, a log or the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from reviva.analytics.errors import InvalidParameter
from reviva.analytics.params import DEFAULT_PAGE, parse_int, parse_range
from reviva.analytics.periods import day_start
from reviva.analytics.ports import LakeQuery, QueryExecutor
from reviva.analytics.sql_fragments import EVENT_RANGE_SQL, event_range
from reviva.contracts.visitor_key import VisitorKey
from reviva.enrich.ports import StoredVisitor
from reviva.query.ports import VisitorReader
from reviva.query.visitor_view import start_keys

MAX_PEOPLE_PAGE = 100
DEFAULT_PEOPLE_PAGE = min(DEFAULT_PAGE, 25)
DEFAULT_PEOPLE_DAYS = 30
MAX_SEARCH_CHARS = 256

# Offset paging over a stable order (last activity, then key): the lake answers the same order for
# the same days, so a page boundary holds while the days' data does not change.
RECENT_VISITORS_SQL = f"""
SELECT visitor_key, max(event_time) AS last_seen, count(*) AS events
FROM events
WHERE {EVENT_RANGE_SQL}
GROUP BY visitor_key
ORDER BY last_seen DESC, visitor_key
"""


@dataclass(frozen=True)
class PeopleParams:
    """`from`/`to` (default the last 30 days), `limit` (1-100, default 25) and `cursor`."""

    first: date
    last: date
    offset: int
    limit: int

    @classmethod
    def parse(cls, query: Mapping[str, str], today: date) -> PeopleParams:
        """Parse the query string; InvalidParameter names a bad parameter."""
        first, last = parse_range(query, today, default_days=DEFAULT_PEOPLE_DAYS)
        limit = parse_int(query, "limit", DEFAULT_PEOPLE_PAGE, 1, MAX_PEOPLE_PAGE)
        return cls(first, last, _offset(query.get("cursor")), limit)


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.isdigit() or len(cursor) > 9:
        raise InvalidParameter("cursor", "is not a cursor this API returned")
    return int(cursor)


def recent_visitors_query(params: PeopleParams) -> LakeQuery:
    """The lake query of one page: visitor keys by last activity in the days, newest first."""
    start = day_start(params.first)
    end = day_start(params.last + timedelta(days=1))
    # One row more than the page says whether there is a next page; both ints are parsed bounds.
    sql = f"{RECENT_VISITORS_SQL.strip()}\nLIMIT {params.limit + 1} OFFSET {params.offset}"
    return LakeQuery("people_recent", sql, event_range(start, end), start, end)


def parse_search(raw: object) -> str:
    """The text to search for: 1 to 256 characters."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidParameter("q", "must be an anonymous id, a user id or an e-mail address")
    text = raw.strip()
    if len(text) > MAX_SEARCH_CHARS:
        raise InvalidParameter("q", f"must be at most {MAX_SEARCH_CHARS} characters")
    return text


def person_row(
    visitor_key: str, stored: StoredVisitor, last_event_at: datetime | None = None
) -> dict[str, Any]:
    """One visitor's line in the list: who (their key, never an e-mail) and their key figures."""
    profile = stored.state.profile
    session = stored.state.current_session
    key = VisitorKey.parse(visitor_key)
    last_seen = last_event_at or profile.last_seen_at
    return {
        "visitor_key": visitor_key,
        "kind": key.kind.value,
        "identified": bool(profile.user_id),
        "first_seen_at": profile.first_seen_at.isoformat() if profile.first_seen_at else None,
        "last_seen_at": _iso(last_seen),
        "sessions": profile.total_sessions,
        "page_views": profile.total_page_views,
        "conversions": profile.conversions,
        "revenue": round(profile.total_revenue, 2),
        "lead_score": profile.lead_score,
        "journey_stage": profile.journey_stage,
        "last_channel": profile.last_channel,
        "device_type": (session.device_type if session else None)
        or (profile.device_types[-1] if profile.device_types else None),
        "country": (session.country if session else None)
        or (profile.countries[-1] if profile.countries else None),
    }


def list_people(params: PeopleParams, executor: QueryExecutor, visitors: VisitorReader) -> dict[str, Any]:
    """A page of visitors active in the days, most recent first, each with their profile's figures."""
    rows = executor.run(recent_visitors_query(params))
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    profiles = visitors.load([str(row["visitor_key"]) for row in rows])
    people = []
    for row in rows:
        key = str(row["visitor_key"])
        stored = profiles.get(key)
        if stored is not None:  # erased since the lake row was read, or not yet written
            people.append(person_row(key, stored, row["last_seen"]))
    return {
        "from": params.first.isoformat(),
        "to": params.last.isoformat(),
        "people": people,
        "next_cursor": str(params.offset + params.limit) if more else None,
        "data_as_of": _iso(executor.data_as_of()),
    }


def search_people(
    text: str,
    visitors: VisitorReader,
    pseudonymize_user_id: Callable[[str], str],
    pseudonymize_email: Callable[[str], str],
) -> dict[str, Any]:
    """Visitors an anonymous id, a user id, a visitor key or an e-mail address denotes.

    An e-mail address is hashed at once; the answer and everything after use its pseudonym only.
    """
    if "@" in text:
        keys: Iterable[str] = visitors.keys_for_email(pseudonymize_email(text))
        kind = "email"
    else:
        # A user id's own key rarely has a profile (events carry the anonymous id): its devices do.
        keys = visitors.linked_keys(start_keys(text, pseudonymize_user_id))
        kind = "id"
    found = visitors.load(list(dict.fromkeys(keys)))
    people = sorted(
        (person_row(key, stored) for key, stored in found.items()),
        key=lambda row: row["last_seen_at"] or "",
        reverse=True,
    )
    return {"searched_by": kind, "people": people, "next_cursor": None}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
