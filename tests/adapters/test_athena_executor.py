"""The Athena executor against botocore's Stubber: the exact requests it sends and how it waits."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from reviva.adapters.athena_executor import AthenaExecutor, athena_literal
from reviva.analytics.errors import QueryFailed, QueryTimeout, UnportableQuery
from reviva.analytics.ports import LakeQuery

START = datetime(2026, 11, 2, tzinfo=UTC)
END = datetime(2026, 11, 4, tzinfo=UTC)
QUERY = LakeQuery(
    "overview",
    "SELECT channel, count(*) AS n FROM events "
    "WHERE event_time >= ? AND event_time < ? AND channel = ? GROUP BY 1",
    (START, END, "o'brien"),
    START,
    END,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _executor(timeout: float = 5.0) -> tuple[AthenaExecutor, Stubber, Clock]:
    client = boto3.client("athena", region_name="us-east-1")
    stubber = Stubber(client)
    clock = Clock()
    executor = AthenaExecutor(
        client,
        workgroup="reviva",
        database="reviva_lake",
        table="events",
        freshness=lambda: None,
        timeout_seconds=timeout,
        poll_seconds=1.0,
        sleep=clock.sleep,
        clock=clock,
    )
    return executor, stubber, clock


def _expect_start(stubber: Stubber) -> None:
    stubber.add_response(
        "start_query_execution",
        {"QueryExecutionId": "q-1"},
        {
            "QueryString": (
                'SELECT channel, COUNT(*) AS n FROM "reviva_lake"."events" WHERE event_time >= ? '
                "AND event_time < ? AND channel = ? GROUP BY 1"
            ),
            "WorkGroup": "reviva",
            "QueryExecutionContext": {"Database": "reviva_lake", "Catalog": "AwsDataCatalog"},
            "ResultReuseConfiguration": {
                "ResultReuseByAgeConfiguration": {"Enabled": True, "MaxAgeInMinutes": 15}
            },
            "ExecutionParameters": [
                "TIMESTAMP '2026-11-02 00:00:00.000000 UTC'",
                "TIMESTAMP '2026-11-04 00:00:00.000000 UTC'",
                "'o''brien'",
            ],
        },
    )


def _status(stubber: Stubber, state: str, reason: str | None = None) -> None:
    status: dict[str, Any] = {"State": state}
    if reason:
        status["StateChangeReason"] = reason
    stubber.add_response(
        "get_query_execution",
        {"QueryExecution": {"QueryExecutionId": "q-1", "Status": status}},
        {"QueryExecutionId": "q-1"},
    )


def _page(rows: list[list[str | None]], header: bool, token: str | None = None) -> dict[str, Any]:
    data = [{"Data": [{"VarCharValue": "channel"}, {"VarCharValue": "n"}]}] if header else []
    data += [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows]
    page: dict[str, Any] = {
        "ResultSet": {
            "Rows": data,
            "ResultSetMetadata": {
                "ColumnInfo": [
                    {"Name": "channel", "Type": "varchar"},
                    {"Name": "n", "Type": "bigint"},
                ]
            },
        }
    }
    if token:
        page["NextToken"] = token
    return page


def test_bound_parameters_workgroup_reuse_polling_and_typed_paged_results() -> None:
    executor, stubber, clock = _executor()
    _expect_start(stubber)
    _status(stubber, "QUEUED")
    _status(stubber, "RUNNING")
    _status(stubber, "SUCCEEDED")
    stubber.add_response(
        "get_query_results", _page([["direct", "3"]], header=True, token="t2"), {"QueryExecutionId": "q-1"}
    )
    stubber.add_response(
        "get_query_results",
        _page([[None, "1"]], header=False),
        {"QueryExecutionId": "q-1", "NextToken": "t2"},
    )
    with stubber:
        rows = executor.run(QUERY)
    stubber.assert_no_pending_responses()
    assert rows == [{"channel": "direct", "n": 3}, {"channel": None, "n": 1}]
    assert clock.sleeps == [1.0, 1.5]


def test_a_slow_query_raises_query_timeout_and_is_not_cancelled() -> None:
    executor, stubber, clock = _executor(timeout=3.0)
    _expect_start(stubber)
    for _ in range(3):
        _status(stubber, "RUNNING")
    with stubber, pytest.raises(QueryTimeout) as raised:
        executor.run(QUERY)
    # No stop_query_execution was stubbed: the query keeps running so the retry reuses its result.
    stubber.assert_no_pending_responses()
    assert raised.value.query_execution_id == "q-1"
    assert raised.value.retry_after_seconds == 10
    assert clock.now <= 3.0


def test_a_failed_query_raises_query_failed_with_the_reason() -> None:
    executor, stubber, _ = _executor()
    _expect_start(stubber)
    _status(stubber, "FAILED", "Query exhausted resources at this scale factor")
    with stubber, pytest.raises(QueryFailed, match="exhausted resources"):
        executor.run(QUERY)


def test_unportable_sql_never_reaches_athena() -> None:
    executor, stubber, _ = _executor()
    with stubber, pytest.raises(UnportableQuery):
        executor.run(LakeQuery("bad", "SELECT a / b AS c FROM events", (), START, END))


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("it's", "'it''s'"),
        ("'; DROP TABLE events; --", "'''; DROP TABLE events; --'"),
        (5, "5"),
        (2.5, "2.5"),
        (True, "true"),
        (date(2026, 11, 2), "DATE '2026-11-02'"),
        (datetime(2026, 11, 2, 1, 2, 3, 4), "TIMESTAMP '2026-11-02 01:02:03.000004 UTC'"),
    ],
)
def test_execution_parameters_are_single_literals(value: Any, literal: str) -> None:
    assert athena_literal(value) == literal
