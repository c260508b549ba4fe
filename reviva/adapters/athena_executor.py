"""The Athena executor: runs the lake queries on Athena in AWS with bound parameters.

Implements `reviva.analytics.ports.QueryExecutor` over a boto3 Athena client (given, never built
here): the same SQL the DuckDB executor runs locally, checked portable before it is submitted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from reviva.analytics.errors import QueryFailed, QueryTimeout
from reviva.analytics.ports import LakeQuery, Param, Row
from reviva.analytics.sqlcompat import check_portable, qualify_tables


def athena_literal(value: Param) -> str:
    """One ExecutionParameters entry: Athena substitutes each as a SQL literal, typed by its syntax.

    Strings are quoted with '' escaping, so a parameter is always one literal and never SQL.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return f"TIMESTAMP '{utc:%Y-%m-%d %H:%M:%S.%f} UTC'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


_ATHENA_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "boolean": lambda v: v == "true",
    "tinyint": int,
    "smallint": int,
    "integer": int,
    "bigint": int,
    "double": float,
    "float": float,
    "real": float,
    "decimal": float,
    "date": date.fromisoformat,
}


def _athena_value(raw: str | None, column_type: str) -> Any:
    if raw is None:
        return None
    kind = column_type.split("(")[0].lower()
    if kind in _ATHENA_CONVERTERS:
        return _ATHENA_CONVERTERS[kind](raw)
    if kind.startswith("timestamp"):
        text = raw.replace(" UTC", "").strip()
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return raw


class AthenaExecutor:
    """Runs queries on Athena: bound ExecutionParameters, a workgroup, result reuse, bounded waits.

    The workgroup carries the output location, encryption and the per-query scan limit
    (BytesScannedCutoffPerQuery); a query waits at most `timeout_seconds` and then raises
    QueryTimeout without cancelling, so the client's retry reuses the finished result.
    """

    def __init__(
        self,
        client: Any,
        *,
        workgroup: str,
        database: str,
        table: str,
        freshness: Callable[[], datetime | None],
        catalog: str = "AwsDataCatalog",
        timeout_seconds: float = 20.0,
        poll_seconds: float = 0.2,
        reuse_minutes: int = 15,
        retry_after_seconds: int = 10,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._workgroup = workgroup
        self._database = database
        self._table = table
        self._catalog = catalog
        self._freshness = freshness
        self._timeout = timeout_seconds
        self._poll = poll_seconds
        self._reuse_minutes = reuse_minutes
        self._retry_after = retry_after_seconds
        self._sleep = sleep
        self._clock = clock

    def start(self, query: LakeQuery) -> str:
        """Submit the query; return its execution id."""
        check_portable(query.sql)
        sql = qualify_tables(query.sql, {"events": (self._database, self._table)})
        request: dict[str, Any] = {
            "QueryString": sql,
            "WorkGroup": self._workgroup,
            "QueryExecutionContext": {"Database": self._database, "Catalog": self._catalog},
            "ResultReuseConfiguration": {
                "ResultReuseByAgeConfiguration": {"Enabled": True, "MaxAgeInMinutes": self._reuse_minutes}
            },
        }
        if query.params:
            request["ExecutionParameters"] = [athena_literal(p) for p in query.params]
        response = self._client.start_query_execution(**request)
        return str(response["QueryExecutionId"])

    def wait(self, execution_id: str, query_name: str) -> None:
        """Poll until the query succeeded; QueryFailed or QueryTimeout otherwise."""
        deadline = self._clock() + self._timeout
        delay = self._poll
        while True:
            status = self._client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"][
                "Status"
            ]
            state = status["State"]
            if state == "SUCCEEDED":
                return
            if state in ("FAILED", "CANCELLED"):
                reason = status.get("StateChangeReason", state)
                raise QueryFailed(f"{query_name}: Athena query {execution_id} {state.lower()}: {reason}")
            if self._clock() + delay > deadline:
                raise QueryTimeout(
                    f"the {query_name} query is still running on Athena after {self._timeout:g} s",
                    retry_after_seconds=self._retry_after,
                    query_execution_id=execution_id,
                )
            self._sleep(delay)
            delay = min(delay * 1.5, 2.0)

    def results(self, execution_id: str) -> list[Row]:
        """All result rows, typed by the result set's column types."""
        rows: list[Row] = []
        names: list[str] = []
        types: list[str] = []
        paginator = self._client.get_paginator("get_query_results")
        first = True
        for page in paginator.paginate(QueryExecutionId=execution_id):
            result_set = page["ResultSet"]
            if not names:
                info = result_set["ResultSetMetadata"]["ColumnInfo"]
                names = [c["Name"] for c in info]
                types = [c["Type"] for c in info]
            data_rows = result_set["Rows"]
            if first:
                data_rows = data_rows[1:]  # the header row
                first = False
            for row in data_rows:
                values = [cell.get("VarCharValue") for cell in row["Data"]]
                rows.append({n: _athena_value(v, t) for n, v, t in zip(names, values, types, strict=True)})
        return rows

    def run(self, query: LakeQuery) -> list[Row]:
        """Submit, wait (bounded) and fetch."""
        execution_id = self.start(query)
        self.wait(execution_id, query.name)
        return self.results(execution_id)

    def data_as_of(self) -> datetime | None:
        """The lake's newest commit time (from the Iceberg metadata, not a query)."""
        return self._freshness()
