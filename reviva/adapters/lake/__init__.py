"""The lake: the Apache Iceberg `events` table that the enrich function appends to and Athena queries.

`schema` derives the table's shape from `reviva.contracts.events.EnrichedEvent`; `catalog` finds the
catalog (Glue in AWS, a SQLite catalog locally) and creates the table; `writer` appends exactly once per
Kinesis record and deletes a visitor's rows; `reader` scans the table for tests and the local query layer;
`fileio` is the request-frugal FileIO the catalogs use; `maintenance` compacts a day's small files,
expires snapshots and removes orphan files; `scheduled_maintenance` runs those as the schedules name them.
"""

from reviva.adapters.lake import fileio, maintenance
from reviva.adapters.lake.catalog import ensure_events_table, events_table_identifier, load_lake_catalog
from reviva.adapters.lake.maintenance import (
    CompactionResult,
    ExpiryResult,
    MaintenanceConflict,
    OrphanResult,
    compact_partition,
    expire_snapshots,
    remove_orphan_files,
)
from reviva.adapters.lake.reader import scan_events
from reviva.adapters.lake.schema import (
    EVENTS_ARROW_SCHEMA,
    EVENTS_PARTITION_SPEC,
    EVENTS_SCHEMA,
    EVENTS_SORT_ORDER,
    events_to_arrow,
)
from reviva.adapters.lake.writer import LakeWriter, WatermarkConflict, watermark_property

__all__ = [
    "EVENTS_ARROW_SCHEMA",
    "EVENTS_PARTITION_SPEC",
    "EVENTS_SCHEMA",
    "EVENTS_SORT_ORDER",
    "CompactionResult",
    "ExpiryResult",
    "LakeWriter",
    "MaintenanceConflict",
    "OrphanResult",
    "WatermarkConflict",
    "compact_partition",
    "ensure_events_table",
    "events_table_identifier",
    "events_to_arrow",
    "expire_snapshots",
    "fileio",
    "load_lake_catalog",
    "maintenance",
    "remove_orphan_files",
    "scan_events",
    "watermark_property",
]
