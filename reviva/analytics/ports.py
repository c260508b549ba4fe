"""The analytics layer's ports: what it needs from the lake engine and from an object store.

Adapters live in `reviva.adapters` (Athena and DuckDB executors, S3 and directory object stores);
the composition root picks them and hands them to the analytics layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

Param = str | int | float | bool | datetime | date
Row = dict[str, Any]


@dataclass(frozen=True)
class LakeQuery:
    """One query over the lake: SQL (Athena dialect), bound parameters, and its event_time range.

    The SQL reads the table `events` and binds positional `?` parameters. `start`/`end`
    ([start, end), UTC) must be the range the SQL itself filters `event_time` on: Athena prunes day
    partitions from the SQL's predicate, the local reader from these bounds.
    """

    name: str
    sql: str
    params: tuple[Param, ...]
    start: datetime
    end: datetime


class QueryExecutor(Protocol):
    """Runs lake queries and says how fresh the lake is (Athena in AWS, DuckDB locally: same rows)."""

    def run(self, query: LakeQuery) -> list[Row]:
        """The query's rows, columns by name."""
        ...

    def data_as_of(self) -> datetime | None:
        """When the lake last changed (its newest commit), or None when it is empty."""
        ...


class ObjectStore(Protocol):
    """Get and put small objects by key (rollups and imported spend)."""

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""
        ...

    def put(self, key: str, body: bytes) -> None:
        """Create or replace the object."""
        ...
