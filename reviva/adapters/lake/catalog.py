"""Find the lake's Iceberg catalog and make sure the `events` table exists.

In AWS the catalog is Glue (Athena reads and DELETEs Iceberg tables through it). Locally it is
pyiceberg's SQL catalog on a SQLite file, because moto's Glue is not a faithful Iceberg catalog;
the data and metadata files still go to the (moto) S3 lake bucket, or to a `file://` directory
when `LAKE_BUCKET` is one (benchmarks, no S3 at all).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError
from pyiceberg.io import PY_IO_IMPL
from pyiceberg.table import Table

from reviva.adapters.lake.fileio import LAKE_FILE_IO
from reviva.adapters.lake.schema import EVENTS_PARTITION_SPEC, EVENTS_SCHEMA, EVENTS_SORT_ORDER
from reviva.settings import Settings

logger = logging.getLogger(__name__)

CATALOG_NAME = "reviva"
DEFAULT_SQL_CATALOG_URI = "sqlite:///.reviva/catalog.db"
_SQLITE_PREFIX = "sqlite:///"

PARTITION_SUMMARY_LIMIT_PROPERTY = "write.summary.partition-limit"

# Table properties chosen for Athena (engine v3 reads format v2 and zstd Parquet) and for a table
# that takes a small commit per Kinesis batch per shard, all day long.
EVENTS_TABLE_PROPERTIES: dict[str, str] = {
    "format-version": "2",
    "write.format.default": "parquet",
    "write.parquet.compression-codec": "zstd",
    # Every commit writes a new metadata.json; keep the last 100 and delete older ones, or the
    # metadata directory grows by one file per batch forever.
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "100",
    # Merge small per-batch manifests so planning a scan does not open one manifest per commit.
    "commit.manifest-merge.enabled": "true",
    "commit.manifest.min-count-to-merge": "50",
    # Row-level deletes (erasure) rewrite files; Athena and pyiceberg agree on copy-on-write.
    "write.delete.mode": "copy-on-write",
    "write.update.mode": "copy-on-write",
    "write.merge.mode": "copy-on-write",
    # Every commit that changes at most this many day partitions names them in its snapshot summary,
    # so the rollups learn which days late data reached without reading manifests
    # (reviva.adapters.lake.history). An enrich batch spans the days its events happened on.
    PARTITION_SUMMARY_LIMIT_PROPERTY: "100",
}


def lake_warehouse(settings: Settings) -> str:
    """Where table data and metadata live: `s3://<bucket>/warehouse` or `<file://dir>/warehouse`."""
    bucket = settings.lake_bucket.rstrip("/")
    if bucket.startswith("file://"):
        return f"{bucket}/warehouse"
    return f"s3://{bucket}/warehouse"


def events_table_identifier(settings: Settings) -> tuple[str, str]:
    """The (namespace, table) of the events table, e.g. ("reviva", "events")."""
    return (settings.lake_namespace, settings.lake_table)


def _file_io_properties(settings: Settings) -> dict[str, str]:
    # LakeFileIO: one PUT per small object, no HEAD after writes, immutable metadata cached in the
    # process (see reviva.adapters.lake.fileio); it is a client-side choice, never stored in the table.
    properties = {"s3.region": settings.aws_region, PY_IO_IMPL: LAKE_FILE_IO}
    if settings.aws_endpoint_url:
        # Emulators and LocalStack answer path-style requests on one host.
        properties["s3.endpoint"] = settings.aws_endpoint_url
        properties["s3.force-virtual-addressing"] = "false"
    return properties


def _ensure_sqlite_directory(uri: str) -> None:
    """SQLite creates the file but not its directory; make `.reviva/` on first use."""
    if uri.startswith(_SQLITE_PREFIX):
        path = uri[len(_SQLITE_PREFIX) :].split("?", 1)[0]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def _lake_glue_catalog_class() -> type[Catalog]:
    """GlueCatalog that asks whether a database is an S3 Tables one once, not on every commit.

    pyiceberg's Glue commit calls GetDatabase each time to decide whether the metadata file may be
    existence-checked; a database's federation never changes, so one answer per database is kept.
    (Imported lazily: the SQL catalog must not need the Glue client libraries.)
    """
    from pyiceberg.catalog.glue import GlueCatalog

    class LakeGlueCatalog(GlueCatalog):
        def __init__(self, name: str, **properties: str) -> None:
            super().__init__(name, **properties)
            self._s3tables_databases: dict[str, bool] = {}

        def _is_s3tables_database(self, database_name: str) -> bool:
            if database_name not in self._s3tables_databases:
                self._s3tables_databases[database_name] = super()._is_s3tables_database(database_name)
            return self._s3tables_databases[database_name]

    return LakeGlueCatalog


def load_lake_catalog(settings: Settings) -> Catalog:
    """Build the catalog named by `settings.lake_catalog`: "glue" (AWS) or "sql" (local SQLite).

    Makes no AWS call: the Glue client is created lazily by boto3 and the SQL catalog only touches
    its SQLite file.
    """
    common: dict[str, Any] = {"warehouse": lake_warehouse(settings), **_file_io_properties(settings)}
    kind = settings.lake_catalog.lower()
    if kind == "glue":
        glue_properties = {**common, "glue.region": settings.aws_region}
        if settings.aws_endpoint_url:
            glue_properties["glue.endpoint"] = settings.aws_endpoint_url
        return _lake_glue_catalog_class()(CATALOG_NAME, **glue_properties)
    if kind == "sql":
        from pyiceberg.catalog.sql import SqlCatalog

        uri = settings.lake_catalog_uri or DEFAULT_SQL_CATALOG_URI
        _ensure_sqlite_directory(uri)
        return SqlCatalog(CATALOG_NAME, uri=uri, **common)
    raise ValueError(f"LAKE_CATALOG must be 'glue' or 'sql', not {settings.lake_catalog!r}")


def ensure_events_table(catalog: Catalog, settings: Settings) -> Table:
    """Create the namespace and the `events` table if missing; return the table.

    Safe to call from several processes at once (creation races end in loading the winner's table).
    An existing table gains any column `EnrichedEvent` has grown since, as an optional column (older
    rows hold null), so deploying a new field needs no migration step.
    """
    namespace, _ = identifier = events_table_identifier(settings)
    try:
        # Load first: a create attempt on an existing table writes a metadata file it then orphans.
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        catalog.create_namespace_if_not_exists(namespace)
        table = catalog.create_table_if_not_exists(
            identifier,
            schema=EVENTS_SCHEMA,
            partition_spec=EVENTS_PARTITION_SPEC,
            sort_order=EVENTS_SORT_ORDER,
            properties=EVENTS_TABLE_PROPERTIES,
        )
    _add_partition_summaries(table)
    existing = {field.name for field in table.schema().fields}
    missing = [field for field in EVENTS_SCHEMA.fields if field.name not in existing]
    if missing:
        with table.update_schema() as update:
            for field in missing:
                # Format v2 cannot add a required column: rows written before it have no value.
                update.add_column(field.name, field.field_type, doc=field.doc, required=False)
    return table


def _add_partition_summaries(table: Table) -> None:
    """Give a table created before the property its partition summaries (one property-only commit).

    A lost race with a writer is left for the next load, and so is a loader that may only read the
    table (the query function: the enrich function's first load sets it). Until then commits without
    summaries are read from their manifests, which is slower but exact.
    """
    if PARTITION_SUMMARY_LIMIT_PROPERTY in table.properties:
        return
    try:
        with table.transaction() as transaction:
            transaction.set_properties(
                {PARTITION_SUMMARY_LIMIT_PROPERTY: EVENTS_TABLE_PROPERTIES[PARTITION_SUMMARY_LIMIT_PROPERTY]}
            )
    except CommitFailedException:
        return
    except Exception as error:  # e.g. AccessDenied for a read-only loader: not fatal
        logger.warning("could not add %s to the events table: %s", PARTITION_SUMMARY_LIMIT_PROPERTY, error)
