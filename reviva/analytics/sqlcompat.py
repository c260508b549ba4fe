"""One SQL text for both engines: Athena (Trino dialect) in AWS, DuckDB locally and in tests.

Queries are written in the Athena dialect. `lint` rejects every construct that sqlglot translates
silently wrong or not at all (the traps measured on this machine, see DESIGN.md), so a query that
passes the lint means the same thing on both engines; `to_duckdb` translates it. DuckDB connections
must run with `TimeZone = 'UTC'` (see `reviva.adapters.duckdb_executor`), or date truncation and casts
of `timestamp with time zone` values follow the machine's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from reviva.analytics.errors import UnportableQuery

READ_DIALECT = "athena"

# Node types whose translation is wrong or impossible, with the reason the lint reports.
_BANNED_NODES: tuple[tuple[type[exp.Expression], str], ...] = (
    (exp.DateDiff, "date_diff counts boundaries in DuckDB but whole units in Trino; subtract to_unixtime()"),
    (exp.AtTimeZone, "AT TIME ZONE on zone-less timestamps differs; keep everything in UTC"),
    (exp.ConvertTimezone, "time zone conversion differs between the engines; keep everything in UTC"),
    (exp.JSONExtractScalar, "json_extract_scalar differs on objects; store the field as a column"),
    (exp.JSONExtract, "json_extract differs between the engines; store the field as a column"),
    (exp.MatchRecognize, "MATCH_RECOGNIZE does not run on DuckDB"),
    (exp.StrToTime, "date_parse formats differ; compare timestamps with bound parameters"),
    (exp.StrToDate, "date_parse formats differ; compare timestamps with bound parameters"),
    (exp.TimeToStr, "date_format formats differ; format in Python"),
    (exp.ApproxDistinct, "approximate functions answer differently on each engine; use exact ones"),
    (exp.ApproxQuantile, "approximate functions answer differently on each engine; use exact ones"),
)

# Functions sqlglot does not know (parsed as Anonymous) pass only when checked on both engines.
_ALLOWED_UNKNOWN_FUNCTIONS: frozenset[str] = frozenset()

_FLOAT_TYPES = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT, exp.DataType.Type.DECIMAL}


@dataclass(frozen=True)
class LintFinding:
    """One construct that cannot run identically on both engines."""

    construct: str
    reason: str

    def __str__(self) -> str:
        return f"{self.construct}: {self.reason}"


def _is_float(node: exp.Expression) -> bool:
    if isinstance(node, exp.Paren):
        return _is_float(node.this)
    if isinstance(node, exp.Cast):
        return node.to.this in _FLOAT_TYPES
    if isinstance(node, exp.Literal) and not node.is_string:
        return "." in node.this or "e" in node.this.lower()
    return False


def lint(sql: str, tables: frozenset[str] = frozenset({"events"})) -> list[LintFinding]:
    """Every construct of `sql` (Athena dialect) that would not run the same on DuckDB.

    Also requires bound `?` parameters rather than named ones, and reads only from `tables` (and
    the query's own CTEs), so the executors can substitute the real table names.
    """
    try:
        statements = sqlglot.parse(sql, read=READ_DIALECT)
    except ParseError as error:
        return [LintFinding("syntax", str(error).splitlines()[0])]
    if len(statements) != 1 or statements[0] is None:
        return [LintFinding("statements", "exactly one statement per query")]
    tree = statements[0]
    findings: list[LintFinding] = []
    for node in tree.walk():
        for banned, reason in _BANNED_NODES:
            if isinstance(node, banned):
                findings.append(LintFinding(node.sql(READ_DIALECT)[:60], reason))
        if isinstance(node, exp.Anonymous) and node.name.lower() not in _ALLOWED_UNKNOWN_FUNCTIONS:
            findings.append(
                LintFinding(node.name, "function unknown to sqlglot: no checked translation to DuckDB")
            )
        if isinstance(node, exp.Div) and not (_is_float(node.this) or _is_float(node.expression)):
            findings.append(
                LintFinding(
                    node.sql(READ_DIALECT)[:60],
                    "division of integers truncates in Trino but not in DuckDB; CAST one side AS DOUBLE",
                )
            )
        if isinstance(node, exp.Star) and isinstance(node.parent, exp.Select | exp.Column):
            findings.append(LintFinding("*", "name the columns: the local reader reads only those it uses"))
        if isinstance(node, exp.Placeholder) and node.this:
            findings.append(LintFinding(node.sql(READ_DIALECT), "use positional ? parameters"))
    cte_names = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if table.name not in tables and table.name not in cte_names:
            findings.append(LintFinding(table.sql(READ_DIALECT), f"reads only from {sorted(tables)}"))
    return findings


def check_portable(sql: str) -> None:
    """Raise UnportableQuery listing the lint's findings, if any."""
    findings = lint(sql)
    if findings:
        raise UnportableQuery("; ".join(str(f) for f in findings))


def _keep_null_arguments(node: exp.Expression) -> exp.Expression:
    # Trino's min_by/max_by return the argument of the extreme row even when it is NULL; DuckDB's
    # arg_min/arg_max skip NULL arguments (and so return a later row's value). arg_*_null match.
    if isinstance(node, exp.ArgMin | exp.ArgMax):
        name = "ARG_MIN_NULL" if isinstance(node, exp.ArgMin) else "ARG_MAX_NULL"
        return exp.Anonymous(this=name, expressions=[node.this, node.expression])
    return node


@lru_cache(maxsize=256)
def to_duckdb(sql: str) -> str:
    """Translate a linted Athena query to DuckDB (cached: queries are fixed texts with parameters)."""
    check_portable(sql)
    tree = sqlglot.parse_one(sql, read=READ_DIALECT).transform(_keep_null_arguments)
    return tree.sql("duckdb")


def qualify_tables(sql: str, mapping: dict[str, tuple[str, ...]]) -> str:
    """Replace bare table names (`events`) by qualified ones (`"reviva"."events"`) for Athena."""
    tree = sqlglot.parse_one(sql, read=READ_DIALECT)
    cte_names = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if table.name in mapping and table.name not in cte_names and not table.args.get("db"):
            *db, name = mapping[table.name]
            replacement = exp.table_(
                exp.to_identifier(name, quoted=True),
                db=exp.to_identifier(db[-1], quoted=True) if db else None,
                catalog=exp.to_identifier(db[0], quoted=True) if len(db) > 1 else None,
                alias=table.alias or None,
            )
            table.replace(replacement)
    return tree.sql(READ_DIALECT)


def referenced_columns(sql: str) -> frozenset[str]:
    """Names of all columns a query mentions (a superset of the base table's columns it reads)."""
    tree = sqlglot.parse_one(sql, read=READ_DIALECT)
    return frozenset(column.name for column in tree.find_all(exp.Column))
