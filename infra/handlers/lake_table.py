"""Deploy-time handler: create (or evolve) the Iceberg `events` table in the Glue catalog.

CloudFormation cannot declare an Iceberg partition spec or sort order, so the table is created by
the same code the pipeline uses (`reviva.adapters.lake.catalog.ensure_events_table`, schema from
`reviva.adapters.lake.schema`), run once per deployment by a CDK trigger. Idempotent: an existing table is
loaded, and only gains the columns the schema has grown.
"""

from __future__ import annotations

from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Ensure the events table exists; answer its identifier and location."""
    from reviva.adapters.lake.catalog import ensure_events_table, load_lake_catalog
    from reviva.settings import load_settings

    settings = load_settings()
    table = ensure_events_table(load_lake_catalog(settings), settings)
    return {"table": ".".join(table.name()), "location": table.location()}
