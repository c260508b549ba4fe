"""Read the `events` table into Arrow (tests, the local query layer, exports)."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.table import Table

DEFAULT_EVENTS_IDENTIFIER = ("reviva", "events")


def scan_events(
    catalog_or_table: Catalog | Table,
    row_filter: str | BooleanExpression | None = None,
    *,
    identifier: str | tuple[str, str] = DEFAULT_EVENTS_IDENTIFIER,
    selected_fields: Sequence[str] = ("*",),
    limit: int | None = None,
) -> pa.Table:
    """Scan the events table (fresh metadata) into an Arrow table.

    `row_filter` is a pyiceberg expression or its string form (e.g. "visitor_key = 'a:1'"); a filter
    on `event_time` prunes whole day partitions. Pass a catalog together with `identifier` (default
    reviva.contracts.events; use `events_table_identifier(settings)` for configured names), or a table.
    """
    if isinstance(catalog_or_table, Table):
        table = catalog_or_table
        table.refresh()
    else:
        table = catalog_or_table.load_table(identifier)
    scan = table.scan(
        row_filter=row_filter if row_filter is not None else AlwaysTrue(),
        selected_fields=tuple(selected_fields),
        limit=limit,
    )
    return scan.to_arrow()
