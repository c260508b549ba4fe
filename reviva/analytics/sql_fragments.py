"""SQL fragments every lake query shares, and the rules every lake query follows.

The queries live beside the code that runs them (the use cases in `reviva.analytics.usecases`,
the rollups in `reviva.analytics.rollups`), in the Athena (Trino) dialect, with bound parameters
only. Every query filters `event_time` on a half-open UTC range (Athena prunes the table's
day(event_time) partitions from it; the local reader prunes with the same bounds), excludes bots,
and passes `sqlcompat.lint`. Identifiers that vary by request (a breakdown column, a truncation
unit) come from allow-lists, never from the request text; every value from a request is a `?`
parameter. Times are compared as epoch seconds (`to_unixtime`), never with `date_diff` (see
sqlcompat).
"""

from __future__ import annotations

from datetime import datetime

from reviva.analytics.ports import Param

# Page views: what counts as one in every query.
PAGE_TYPES_SQL = "event_type IN ('page', 'screen')"
# The half-open event_time range (two `?` parameters, see `event_range`) without bots.
EVENT_RANGE_SQL = "event_time >= ? AND event_time < ? AND NOT is_bot"


def event_range(start: datetime, end: datetime) -> tuple[Param, Param]:
    """The parameters of one EVENT_RANGE_SQL: [start, end)."""
    return (start, end)
