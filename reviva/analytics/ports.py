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


@dataclass(frozen=True)
class LakeVersion:
    """One state of the lake: its commit's sequence number (grows with every commit) and time."""

    sequence: int
    committed_at: datetime


@dataclass(frozen=True)
class LakeChanges:
    """Which event days the lake's commits after some sequence number added or removed rows in.

    `days` maps each such day (UTC, the table's day partition) to the sequence number of the newest
    commit that changed it. `known_from` is None when every commit after the asked sequence was
    still there to read; otherwise older ones had been expired unread, and the changes are known
    only from that sequence number on (anything computed before it may have missed a change).
    """

    current: LakeVersion | None
    days: dict[date, int]
    known_from: int | None = None


class LakeHistory(Protocol):
    """The lake's commit history, as far as rollups need it (the Iceberg snapshots, in AWS and locally)."""

    def current(self) -> LakeVersion | None:
        """The newest commit, or None when the lake has none."""
        ...

    def changes_since(self, sequence: int | None) -> LakeChanges:
        """The days the commits after `sequence` (every commit when None) changed rows in.

        Commits that rewrite rows without changing them (compaction) are left out.
        """
        ...
