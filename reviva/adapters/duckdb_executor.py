"""The DuckDB executor: the Athena SQL run locally over the Iceberg lake (or a fixed Arrow table).

Implements `reviva.analytics.ports.QueryExecutor`: takes a `LakeQuery`, translates its SQL with
`sqlcompat.to_duckdb`, runs it over the Arrow rows its source reads for the query's range and
columns, and returns the same rows Athena would.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from reviva.analytics.ports import LakeQuery, Row
from reviva.analytics.sqlcompat import referenced_columns, to_duckdb

# (start, end, columns) → (snapshot id or None when the lake is empty, a loader of the Arrow rows).
# The snapshot comes first and cheaply, so an executor can answer from its cache without a scan.
ArrowSource = Callable[[datetime, datetime, Sequence[str]], tuple[str | None, Callable[[], pa.Table]]]


# Every column an analytics query reads. The local reader caches whole data files with these
# columns: Iceberg data files are immutable, so a cached file never goes stale, and a new commit only
# adds files to read (a copy-on-write erasure replaces files, and the plan stops naming the old ones).
ANALYTICS_COLUMNS: tuple[str, ...] = (
    "message_id",
    "visitor_key",
    "session_id",
    "event_type",
    "event_name",
    "event_time",
    "page_path",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "device_type",
    "country",
    "is_bot",
    "journey_stage",
    "touchpoint",
    "is_conversion",
    "revenue",
)


def iceberg_source(
    table_loader: Callable[[], Any], *, max_cached_rows: int = 30_000_000
) -> tuple[ArrowSource, Callable[[], datetime | None]]:
    """Read the Iceberg `events` table with pyiceberg/pyarrow (as `lake.reader` does; never httpfs).

    Returns (source, freshness): the source plans a scan of [start, end) on event_time (pruning day
    partitions), reads each planned data file once (kept in memory up to `max_cached_rows` rows) and
    reports the snapshot it read; freshness is the current snapshot's commit time.
    """
    import pyarrow.compute as pc
    from pyiceberg.expressions import AlwaysTrue, And, GreaterThanOrEqual, LessThan
    from pyiceberg.io.pyarrow import ArrowScan

    lock = threading.Lock()
    holder: dict[str, Any] = {}
    files: OrderedDict[tuple[str, tuple[str, ...]], pa.Table] = OrderedDict()
    cached_rows = [0]

    def table() -> Any:
        with lock:
            if "table" not in holder:
                holder["table"] = table_loader()
            else:
                holder["table"].refresh()
            return holder["table"]

    def read_file(current: Any, task: Any, names: tuple[str, ...]) -> pa.Table:
        key = (str(task.file.file_path), names)
        with lock:
            data = files.get(key)
            if data is not None:
                files.move_to_end(key)
                return data
        projected = current.schema().select(*names)
        data = ArrowScan(current.metadata, current.io, projected, AlwaysTrue()).to_table([task])
        if task.delete_files:
            return data  # merge-on-read deletes change with later commits: never cache such a file
        with lock:
            if key in files:  # another thread read the same file meanwhile: count it once
                return files[key]
            files[key] = data
            cached_rows[0] += data.num_rows
            while cached_rows[0] > max_cached_rows and len(files) > 1:
                _, evicted = files.popitem(last=False)
                cached_rows[0] -= evicted.num_rows
        return data

    def empty(requested: list[str]) -> pa.Table:
        from reviva.adapters.lake.schema import EVENTS_ARROW_SCHEMA

        return pa.schema([EVENTS_ARROW_SCHEMA.field(n) for n in requested]).empty_table()

    def source(
        start: datetime, end: datetime, columns: Sequence[str]
    ) -> tuple[str | None, Callable[[], pa.Table]]:
        current = table()
        snapshot = current.current_snapshot()
        wanted = set(ANALYTICS_COLUMNS) | set(columns)
        names = tuple(c for c in current.schema().column_names if c in wanted)
        requested = [c for c in names if c in set(columns)] or ["event_time"]
        if snapshot is None:
            return None, lambda: empty(requested)
        return str(snapshot.snapshot_id), lambda: load(current, start, end, names, requested)

    def load(
        current: Any, start: datetime, end: datetime, names: tuple[str, ...], requested: list[str]
    ) -> pa.Table:
        row_filter = And(
            GreaterThanOrEqual("event_time", start.astimezone(UTC).isoformat()),  # type: ignore[arg-type,call-arg]
            LessThan("event_time", end.astimezone(UTC).isoformat()),  # type: ignore[arg-type,call-arg]
        )
        tasks = list(current.scan(row_filter=row_filter, selected_fields=names).plan_files())
        pieces = []
        for task in tasks:
            piece = read_file(current, task, names).select(requested)
            span = bounds(piece)
            if span is None or (span[0] >= start and span[1] < end):
                pieces.append(piece)  # the whole file is in range: no copy (the usual, day-aligned case)
                continue
            times = piece.column("event_time")
            mask = pc.and_(
                pc.greater_equal(times, pa.scalar(start, times.type)),
                pc.less(times, pa.scalar(end, times.type)),
            )
            pieces.append(piece.filter(mask))
        if not pieces:
            return empty(requested)
        return pa.concat_tables(pieces, promote_options="permissive")

    def bounds(piece: pa.Table) -> tuple[datetime, datetime] | None:
        if piece.num_rows == 0:
            return None
        span = pc.min_max(piece.column("event_time")).as_py()
        return span["min"], span["max"]

    def freshness() -> datetime | None:
        snapshot = table().current_snapshot()
        if snapshot is None:
            return None
        return datetime.fromtimestamp(snapshot.timestamp_ms / 1000, UTC)

    return source, freshness


def arrow_source(data: pa.Table) -> tuple[ArrowSource, Callable[[], datetime | None]]:
    """A fixed Arrow table as the lake (tests, benchmarks of the SQL alone)."""
    as_of = datetime.now(UTC)

    def source(
        start: datetime, end: datetime, columns: Sequence[str]
    ) -> tuple[str | None, Callable[[], pa.Table]]:
        import pyarrow.compute as pc

        def load() -> pa.Table:
            names = [c for c in data.column_names if c in set(columns)] or ["event_time"]
            times = data.column("event_time")
            mask = pc.and_(
                pc.greater_equal(times, pa.scalar(start, times.type)),
                pc.less(times, pa.scalar(end, times.type)),
            )
            return data.filter(mask).select(names)

        return "static", load

    return source, lambda: as_of if data.num_rows else None


class DuckDBExecutor:
    """Runs the Athena SQL on DuckDB (via `sqlcompat.to_duckdb`) over Arrow data from the lake.

    Keeps the last few scans in memory keyed by (snapshot, range, columns): the lake only changes
    by commits, so repeated dashboard queries over an unchanged snapshot skip the scan.
    """

    def __init__(
        self,
        source: ArrowSource,
        freshness: Callable[[], datetime | None],
        *,
        cache_entries: int = 8,
        threads: int | None = None,
    ) -> None:
        import duckdb

        self._source = source
        self._freshness = freshness
        self._connection = duckdb.connect(":memory:")
        # Trino evaluates timestamp with time zone values in UTC here; DuckDB must too (DESIGN.md).
        self._connection.execute("SET TimeZone = 'UTC'")
        if threads:
            self._connection.execute(f"SET threads = {int(threads)}")
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[Any, ...], pa.Table] = OrderedDict()
        self._cache_entries = cache_entries

    def _scan(self, query: LakeQuery) -> pa.Table:
        columns = sorted(referenced_columns(query.sql))
        snapshot, load = self._source(query.start, query.end, columns)
        if snapshot is None:
            return load()
        key = (snapshot, query.start, query.end, tuple(columns))
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        data = load()
        with self._lock:
            self._cache[key] = data
            while len(self._cache) > self._cache_entries:
                self._cache.popitem(last=False)
        return data

    def run(self, query: LakeQuery) -> list[Row]:
        """Scan the query's range and columns, then run the translated SQL on it."""
        sql = to_duckdb(query.sql)
        data = self._scan(query)
        cursor = self._connection.cursor()
        try:
            cursor.execute("SET TimeZone = 'UTC'")
            cursor.register("events", data)
            result = cursor.sql(sql, params=list(query.params)).to_arrow_table()
        finally:
            cursor.close()
        return [{k: _plain(v) for k, v in row.items()} for row in result.to_pylist()]

    def data_as_of(self) -> datetime | None:
        """The lake's newest commit time."""
        return self._freshness()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value
