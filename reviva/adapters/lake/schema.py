"""The `events` table's shape, derived in one place from `reviva.contracts.events.EnrichedEvent`.

Every column comes from the pydantic model's fields, in declaration order, so a field added to
`EnrichedEvent` becomes a column without anyone remembering to add it here (and an unsupported type
fails loudly at import instead of being dropped). Field ids are positional (1..n); existing tables
gain new columns through `catalog.ensure_events_table`, which unions by name.

Partitioning is hidden: `day(event_time)`, the event's own time rather than its arrival, so Athena
prunes by `event_time` predicates and nobody ever adds a partition by hand.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import pyarrow as pa
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table.sorting import NullOrder, SortDirection, SortField, SortOrder
from pyiceberg.transforms import DayTransform, IdentityTransform
from pyiceberg.types import (
    BooleanType,
    DateType,
    DoubleType,
    IcebergType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
)

from reviva.contracts.events import EnrichedEvent

# Python type of a model field → (Iceberg type, Arrow type). Timestamps are UTC with microseconds,
# which is what Iceberg's timestamptz stores and what Athena reads as `timestamp(6) with time zone`.
_TYPE_MAP: dict[type, tuple[Callable[[], IcebergType], pa.DataType]] = {
    str: (StringType, pa.string()),
    bool: (BooleanType, pa.bool_()),
    int: (LongType, pa.int64()),
    float: (DoubleType, pa.float64()),
    datetime: (TimestamptzType, pa.timestamp("us", tz="UTC")),
    date: (DateType, pa.date32()),
}

PARTITION_FIELD_NAME = "event_time_day"


def _unwrap_optional(annotation: Any) -> tuple[type, bool]:
    """Split `X | None` into (X, True); a plain `X` into (X, False)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(args) != 1:
            raise TypeError(f"unsupported union in EnrichedEvent: {annotation!r}")
        return args[0], True
    return annotation, False


def _column_types(annotation: Any, field_name: str) -> tuple[IcebergType, pa.DataType, bool]:
    python_type, optional = _unwrap_optional(annotation)
    # Exact lookup on purpose: a subclass (an enum of str, say) must be mapped deliberately.
    if python_type not in _TYPE_MAP:
        raise TypeError(
            f"EnrichedEvent.{field_name} has type {python_type!r}, which the lake cannot store; "
            "add it to reviva.adapters.lake.schema._TYPE_MAP or make it a JSON string"
        )
    iceberg_factory, arrow_type = _TYPE_MAP[python_type]
    return iceberg_factory(), arrow_type, optional


def _build_schemas() -> tuple[Schema, pa.Schema]:
    iceberg_fields: list[NestedField] = []
    arrow_fields: list[pa.Field] = []
    for field_id, (name, info) in enumerate(EnrichedEvent.model_fields.items(), start=1):
        iceberg_type, arrow_type, optional = _column_types(info.annotation, name)
        iceberg_fields.append(
            NestedField(
                field_id=field_id,
                name=name,
                field_type=iceberg_type,
                required=not optional,
                doc=info.description,
            )
        )
        arrow_fields.append(pa.field(name, arrow_type, nullable=optional))
    return Schema(*iceberg_fields), pa.schema(arrow_fields)


EVENTS_SCHEMA, EVENTS_ARROW_SCHEMA = _build_schemas()

EVENTS_PARTITION_SPEC = PartitionSpec(
    PartitionField(
        source_id=EVENTS_SCHEMA.find_field("event_time").field_id,
        field_id=1000,
        transform=DayTransform(),
        name=PARTITION_FIELD_NAME,
    )
)

# Within a day, one visitor's rows sit together: a visitor's history reads few row groups, and an
# erasure rewrites fewer files' worth of pages. The writer sorts each batch to match.
EVENTS_SORT_ORDER = SortOrder(
    SortField(
        source_id=EVENTS_SCHEMA.find_field("visitor_key").field_id,
        transform=IdentityTransform(),
        direction=SortDirection.ASC,
        null_order=NullOrder.NULLS_FIRST,
    ),
    SortField(
        source_id=EVENTS_SCHEMA.find_field("event_time").field_id,
        transform=IdentityTransform(),
        direction=SortDirection.ASC,
        null_order=NullOrder.NULLS_FIRST,
    ),
)

_SORT_KEYS = [("visitor_key", "ascending"), ("event_time", "ascending")]


def events_to_arrow(rows: Sequence[EnrichedEvent]) -> pa.Table:
    """Turn enriched events into an Arrow table with the lake's schema, sorted like the table.

    Naive datetimes are taken as UTC (Arrow's convention); aware ones are converted to UTC.
    """
    names = EVENTS_ARROW_SCHEMA.names
    # Column-wise attribute reads: several times faster than model_dump() per row.
    columns = [[getattr(row, name) for row in rows] for name in names]
    table = pa.Table.from_arrays(
        [
            pa.array(column, type=EVENTS_ARROW_SCHEMA.field(name).type)
            for name, column in zip(names, columns, strict=True)
        ],
        schema=EVENTS_ARROW_SCHEMA,
    )
    return sort_like_table(table)


def sort_like_table(table: pa.Table) -> pa.Table:
    """Sort an Arrow table by the table's declared sort order (visitor_key, event_time)."""
    if table.num_rows < 2:
        return table
    return table.sort_by(_SORT_KEYS)
