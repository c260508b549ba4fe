"""Deploy-time handler: create (or evolve) the Iceberg tables (`events`, `transactions`) in the Glue catalog.

CloudFormation cannot declare an Iceberg partition spec or sort order, so the table is created by
the same code the pipeline uses (`reviva.adapters.lake.catalog.ensure_events_table`, schema from
`reviva.adapters.lake.schema`), run once per deployment by a CDK trigger. Idempotent: an existing table is
loaded, and only gains the columns the schema has grown.
"""

from __future__ import annotations

from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Ensure every lake table exists; answer the events table's identifier and location, and all tables."""
    from reviva.adapters.lake.catalog import load_lake_catalog
    from reviva.adapters.lake.lake_tables import ensure_lake_tables
    from reviva.settings import load_settings

    settings = load_settings()
    events, *others = ensure_lake_tables(load_lake_catalog(settings), settings)
    return {
        "table": ".".join(events.name()),
        "location": events.location(),
        "tables": [".".join(table.name()) for table in (events, *others)],
    }
