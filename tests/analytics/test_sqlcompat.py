"""The compatibility layer: each trap DESIGN.md lists (and one found here) is caught or handled.

Each trap test shows the silent difference on DuckDB where one exists, then that the lint rejects
the construct; the portable spelling gives the answer Trino gives.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest
import sqlglot

from reviva.adapters.duckdb_executor import DuckDBExecutor, arrow_source
from reviva.analytics import rollups
from reviva.analytics.errors import UnportableQuery
from reviva.analytics.ports import LakeQuery
from reviva.analytics.sqlcompat import check_portable, lint, qualify_tables, to_duckdb
from reviva.analytics.usecases import attribution, campaigns, funnel_vocabulary, funnels, paths, retention
from tests.analytics import dataset

START = datetime(2026, 11, 1, tzinfo=UTC)
END = START + timedelta(days=10)


def _duck(sql: str) -> list[tuple[object, ...]]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    return connection.execute(sql).fetchall()


def _reasons(sql: str) -> str:
    return " | ".join(str(f) for f in lint(sql))


def test_date_diff_counts_boundaries_after_translation_so_the_lint_rejects_it() -> None:
    athena = (
        "SELECT date_diff('day', TIMESTAMP '2026-11-01 23:00:00', TIMESTAMP '2026-11-02 01:00:00') AS d "
        "FROM events"
    )
    translated = sqlglot.transpile(athena.replace(" FROM events", ""), read="athena", write="duckdb")[0]
    # Trino: 2 hours is 0 whole days. DuckDB counts the midnight boundary crossed: 1.
    assert _duck(translated) == [(1,)]
    assert "date_diff" in _reasons(athena)
    portable = (
        "SELECT floor((to_unixtime(TIMESTAMP '2026-11-02 01:00:00') - "
        "to_unixtime(TIMESTAMP '2026-11-01 23:00:00')) / 86400.0) AS d FROM events"
    )
    assert lint(portable) == []
    assert _duck(to_duckdb(portable).replace(" FROM events", "")) == [(0.0,)]


def test_integer_division_truncates_in_trino_but_not_after_translation() -> None:
    athena = "SELECT sessions / visitors AS ratio FROM events"
    translated = sqlglot.transpile(
        "SELECT a / b FROM (SELECT 7 AS a, 2 AS b) t", read="athena", write="duckdb"
    )[0]
    assert _duck(translated) == [(3.5,)]  # Trino answers 3
    assert "division of integers" in _reasons(athena)
    assert lint("SELECT CAST(sessions AS DOUBLE) / visitors AS ratio FROM events") == []
    assert lint("SELECT (sessions + 1) / 2.0 AS half FROM events") == []


def test_at_time_zone_is_rejected() -> None:
    assert "AT TIME ZONE" in _reasons("SELECT event_time AT TIME ZONE 'Europe/Lisbon' AS t FROM events")


def test_json_extract_scalar_is_rejected() -> None:
    assert "json_extract_scalar" in _reasons("SELECT json_extract_scalar(properties, '$.a') AS a FROM events")
    assert "json_extract" in _reasons("SELECT json_extract(properties, '$.a') AS a FROM events")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT url_extract_host(page_url) AS h FROM events",
        "SELECT url_extract_path(page_url) AS p FROM events",
        "SELECT format_datetime(event_time, 'yyyy-MM-dd') AS d FROM events",
    ],
)
def test_functions_without_a_checked_translation_are_rejected(sql: str) -> None:
    assert "function unknown to sqlglot" in _reasons(sql)


def test_joda_and_mysql_date_formats_are_rejected() -> None:
    assert "date_parse" in _reasons("SELECT date_parse(event_date, '%Y-%m-%d') AS d FROM events")
    assert "date_format" in _reasons("SELECT date_format(event_time, '%Y-%m-%d') AS d FROM events")


def test_match_recognize_is_rejected() -> None:
    sql = """
    SELECT visitor_key FROM events
    MATCH_RECOGNIZE (PARTITION BY visitor_key ORDER BY event_time MEASURES A.event_time AS t
                     ONE ROW PER MATCH PATTERN (A B)
                     DEFINE A AS event_type = 'page', B AS event_type = 'track')
    """
    findings = _reasons(sql)
    assert "MATCH_RECOGNIZE" in findings or "syntax" in findings


def test_approximate_functions_and_select_star_and_other_tables_are_rejected() -> None:
    assert "approximate" in _reasons("SELECT approx_distinct(visitor_key) AS v FROM events")
    assert "name the columns" in _reasons("SELECT * FROM events")
    assert "reads only from" in _reasons("SELECT a FROM other_table")
    assert "positional" in _reasons("SELECT a FROM events WHERE a = :value")
    assert lint("SELECT count(*) AS n FROM events WHERE event_time >= ?") == []


def test_min_by_keeps_null_arguments_like_trino() -> None:
    # Found here: DuckDB's arg_min skips rows whose argument is NULL, Trino's min_by does not. A
    # session whose first event has no campaign must have no campaign, not a later event's.
    values = "(VALUES (CAST(NULL AS VARCHAR), 1), ('later', 2)) v(a, t)"
    assert _duck(
        sqlglot.transpile(f"SELECT min_by(a, t) FROM {values}", read="athena", write="duckdb")[0]
    ) == [("later",)]
    translated = to_duckdb("SELECT min_by(utm_campaign, event_time) AS c FROM events")
    assert "ARG_MIN_NULL" in translated
    assert _duck(
        translated.replace("FROM events", f"FROM {values}")
        .replace("utm_campaign", "a")
        .replace("event_time", "t")
    ) == [(None,)]


def test_duckdb_runs_in_utc_whatever_the_machine_zone() -> None:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'America/Los_Angeles'")
    sql = "SELECT CAST(date_trunc('day', event_time) AS VARCHAR) AS d FROM events"
    late = datetime(2026, 11, 2, 3, 30, tzinfo=UTC)  # still 1 November in Los Angeles
    local = connection.execute(
        to_duckdb(sql).replace("FROM events", "FROM (SELECT ?::TIMESTAMPTZ AS event_time)"), [late]
    ).fetchall()
    assert not local[0][0].startswith("2026-11-02 00:00:00+00")
    row = dataset.row("Z", late)
    executor = DuckDBExecutor(*arrow_source(dataset.events_to_arrow([row])))
    rows = executor.run(LakeQuery("t", sql, (), late - timedelta(days=1), late + timedelta(days=1)))
    assert rows == [{"d": "2026-11-02 00:00:00+00"}]


def test_qualify_tables_names_the_glue_database_but_not_ctes() -> None:
    sql = "WITH events2 AS (SELECT visitor_key FROM events) SELECT visitor_key FROM events2"
    assert qualify_tables(sql, {"events": ("analytics_db", "events")}) == (
        'WITH events2 AS (SELECT visitor_key FROM "analytics_db"."events") SELECT visitor_key FROM events2'
    )


def _every_query() -> list[LakeQuery]:
    steps = [
        funnels.FunnelStep("type", "page"),
        funnels.FunnelStep("url_prefix", "/pricing"),
        funnels.FunnelStep("url", "/book"),
        funnels.FunnelStep("event", "Booking Submitted"),
    ]
    built = [
        *rollups.rollup_queries(START, END).values(),
        funnels.funnel_query(steps, START, END, 72, "channel"),
        funnels.funnel_query(steps[:2], START, END, 1, None),
        funnels.funnel_query(
            [funnels.FunnelStep("touchpoint", "pricing_check"), *steps], START, END, 72, "utm_source"
        ),
        funnels.funnel_query(steps, START, END, 72, "journey_stage"),
        funnel_vocabulary.vocabulary_query(START, END, None, 25),
        funnel_vocabulary.vocabulary_query(START, END, "pricing", 5),
        *(retention.retention_query(unit, START, END) for unit in ("day", "week", "month")),
        paths.paths_query(START, END, None, 4),
        paths.paths_query(START, END, "pricing_check", 3),
        attribution.attribution_touches_query(START, END, 30),
        attribution.attribution_non_converting_paths_query(START, END, 30),
        campaigns.campaigns_query(START, END),
    ]
    return built


@pytest.mark.parametrize("query", _every_query(), ids=lambda q: q.name)
def test_every_query_passes_the_lint_and_binds_every_parameter(query: LakeQuery) -> None:
    assert lint(query.sql) == []
    assert query.sql.count("?") == len(query.params)
    # Partition pruning: every query filters event_time on the range it declares.
    assert "event_time >= ? AND event_time < ?" in query.sql
    assert query.start in query.params


def test_check_portable_raises_with_every_finding() -> None:
    with pytest.raises(UnportableQuery, match=r"date_diff.*division"):
        check_portable("SELECT date_diff('day', a, b), a / b AS x FROM events")
