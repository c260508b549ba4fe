"""Every table of the lake, created or evolved in one call (the deploy trigger, tests)."""

from __future__ import annotations

from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from reviva.adapters.lake.catalog import ensure_events_table
from reviva.adapters.lake.transactions import ensure_transactions_table
from reviva.settings import Settings


def ensure_lake_tables(catalog: Catalog, settings: Settings) -> list[Table]:
    """Create any missing lake table (idempotent); the events table first."""
    return [ensure_events_table(catalog, settings), ensure_transactions_table(catalog, settings)]
