"""Filters by channel, page, device or country (the dashboard's filter chips), as a lake executor.

A filter keeps whole sessions: those whose first event's channel, device type or country is the one
asked for (as the rollups attribute sessions), or that viewed the page. `FilteredExecutor` wraps the
lake executor and narrows every query to those sessions, so every endpoint's own queries and
arithmetic answer for the filtered sessions unchanged: a filtered answer is the unfiltered answer
over a lake that holds only those sessions' events. Rollup-backed endpoints (overview, trends) read
`FilteredDays` instead of the rollups: computed from the lake on each request, never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from reviva.analytics.errors import InvalidParameter
from reviva.analytics.params import is_text
from reviva.analytics.ports import LakeQuery, Param, QueryExecutor, Row
from reviva.analytics.rollups import RollupRead, compute_rollups
from reviva.analytics.sql_fragments import EVENT_RANGE_SQL, PAGE_TYPES_SQL

MAX_FILTER_CHARS = 256

# Query parameter → the session condition it adds (a `?` for its value). Names come from this
# allow-list, values are always bound parameters.
FILTER_CONDITIONS: dict[str, str] = {
    "channel": "coalesce(min_by(channel, event_time), '(none)') = ?",
    "device": "coalesce(min_by(device_type, event_time), '(none)') = ?",
    "country": "coalesce(min_by(country, event_time), '(none)') = ?",
    "page": f"count_if({PAGE_TYPES_SQL} AND coalesce(page_path, '(none)') = ?) > 0",
}

_CHOSEN_SESSIONS = f"""chosen_sessions AS (
  SELECT session_id
  FROM events
  WHERE {EVENT_RANGE_SQL} AND session_id IS NOT NULL
  GROUP BY session_id
  HAVING {{conditions}}
)"""
_NARROWED = f"{EVENT_RANGE_SQL} AND session_id IN (SELECT session_id FROM chosen_sessions)"


@dataclass(frozen=True)
class SessionFilters:
    """The filters of a request, by parameter name (empty: no filter)."""

    values: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, query: Mapping[str, Any]) -> SessionFilters:
        """`channel`, `page`, `device` and `country`: each at most one value of 1-256 characters."""
        found = []
        for name in FILTER_CONDITIONS:
            raw = query.get(name)
            if raw is None or raw == "":
                continue
            if not isinstance(raw, str) or not is_text(raw) or len(raw) > MAX_FILTER_CHARS:
                raise InvalidParameter(name, f"must be text of 1 to {MAX_FILTER_CHARS} characters")
            found.append((name, raw))
        return cls(tuple(found))

    def __bool__(self) -> bool:
        return bool(self.values)

    def as_dict(self) -> dict[str, str]:
        """The filters as the answer echoes them."""
        return dict(self.values)

    def narrow(self, query: LakeQuery) -> LakeQuery:
        """`query` limited to the chosen sessions' events (every EVENT_RANGE_SQL of it narrowed)."""
        if EVENT_RANGE_SQL not in query.sql:
            raise ValueError(f"{query.name} does not filter on EVENT_RANGE_SQL; it cannot be narrowed")
        conditions = " AND ".join(FILTER_CONDITIONS[name] for name, _ in self.values)
        chosen = _CHOSEN_SESSIONS.format(conditions=conditions)
        body = query.sql.strip().replace(f"WHERE {EVENT_RANGE_SQL}", f"WHERE {_NARROWED}")
        # The CTE's `?`s come first in the text, so its parameters go first.
        sql = f"WITH {chosen}, {body[5:]}" if body.upper().startswith("WITH ") else f"WITH {chosen}\n{body}"
        params: tuple[Param, ...] = (
            query.start,
            query.end,
            *(value for _, value in self.values),
            *query.params,
        )
        return replace(query, name=f"{query.name}_filtered", sql=sql, params=params)


class FilteredExecutor:
    """A lake executor whose every query sees only the sessions the filters keep."""

    def __init__(self, executor: QueryExecutor, filters: SessionFilters) -> None:
        self._executor = executor
        self._filters = filters

    def run(self, query: LakeQuery) -> list[Row]:
        """The narrowed query's rows."""
        return self._executor.run(self._filters.narrow(query))

    def data_as_of(self) -> datetime | None:
        """The lake's freshness, unchanged by filtering."""
        return self._executor.data_as_of()


def filtered(executor: QueryExecutor, filters: SessionFilters) -> QueryExecutor:
    """`executor` narrowed to the filters' sessions (itself when there is no filter)."""
    return FilteredExecutor(executor, filters) if filters else executor


class FilteredDays:
    """The rollups' `days` over a filtered lake: computed now, for this answer only."""

    def __init__(self, executor: FilteredExecutor) -> None:
        self._executor = executor

    def days(self, first: date, last: date) -> RollupRead:
        """Every day of first..last computed from the lake just now."""
        computed = compute_rollups(self._executor, first, last, datetime.now(UTC), None)
        return RollupRead(days=computed, lake=None, recomputed=sorted(computed))
