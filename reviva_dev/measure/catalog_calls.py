"""Loads and commits of the lake's SQL catalog (the local stand-in for Glue)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def catalog_calls() -> Iterator[Counter[str]]:
    """Count the SQL catalog's table loads and commits (in AWS, Glue GetTable / GetTable+UpdateTable).

    pyiceberg's catalogs have no hook for observers, so the two methods of `SqlCatalog` are wrapped
    for the block; this is the one place bench/ and cost/ touch pyiceberg's classes.
    """
    from pyiceberg.catalog.sql import SqlCatalog

    calls: Counter[str] = Counter()
    load, commit = SqlCatalog.load_table, SqlCatalog.commit_table

    def counted_load(self: SqlCatalog, *args: Any, **kwargs: Any) -> Any:
        calls["load_table"] += 1
        return load(self, *args, **kwargs)

    def counted_commit(self: SqlCatalog, *args: Any, **kwargs: Any) -> Any:
        calls["commit_table"] += 1
        return commit(self, *args, **kwargs)

    SqlCatalog.load_table = counted_load  # type: ignore[method-assign]
    SqlCatalog.commit_table = counted_commit  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        SqlCatalog.load_table = load  # type: ignore[method-assign]
        SqlCatalog.commit_table = commit  # type: ignore[method-assign]
