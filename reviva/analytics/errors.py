"""Typed errors of the analytics layer; the query handler maps them to HTTP answers in one place."""

from __future__ import annotations


class InvalidParameter(ValueError):
    """A malformed request parameter (query string or body): 400 naming the parameter."""

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"{parameter}: {reason}")
        self.parameter = parameter
        self.reason = reason


class UnknownItem(LookupError):
    """A parameter names something that does not exist (a saved funnel's id): 404 naming it."""

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"{parameter}: {reason}")
        self.parameter = parameter
        self.reason = reason


class QueryTimeout(Exception):
    """The engine did not finish in time (Athena is slow or queued): 504 with a retry hint.

    The query is left running on purpose: Athena's result reuse answers the identical retry from
    its result once it completes.
    """

    def __init__(self, reason: str, retry_after_seconds: int = 10, query_execution_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after_seconds = retry_after_seconds
        self.query_execution_id = query_execution_id


class QueryFailed(RuntimeError):
    """The engine rejected or failed the query (a bug or an infrastructure fault): 500."""


class UnportableQuery(ValueError):
    """A query uses a construct that cannot run identically on Athena (Trino) and DuckDB."""
