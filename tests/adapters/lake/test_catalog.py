"""Finding the catalog and creating the events table."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyiceberg.catalog.glue import GlueCatalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.schema import Schema
from pyiceberg.transforms import DayTransform

from reviva.adapters.lake import (
    EVENTS_SCHEMA,
    ensure_events_table,
    events_table_identifier,
    load_lake_catalog,
)
from reviva.adapters.lake.catalog import EVENTS_TABLE_PROPERTIES, lake_warehouse
from reviva.settings import Settings


def test_glue_catalog_points_at_the_lake_bucket_and_endpoint() -> None:
    settings = Settings(
        LAKE_CATALOG="glue", LAKE_BUCKET="acme-lake", AWS_ENDPOINT_URL="http://127.0.0.1:5999"
    )
    catalog = load_lake_catalog(settings)
    assert isinstance(catalog, GlueCatalog)
    assert catalog.properties["warehouse"] == "s3://acme-lake/warehouse"
    assert catalog.properties["s3.endpoint"] == "http://127.0.0.1:5999"
    assert catalog.properties["glue.endpoint"] == "http://127.0.0.1:5999"


def test_glue_catalog_in_aws_sets_no_endpoint() -> None:
    catalog = load_lake_catalog(Settings(LAKE_CATALOG="glue", LAKE_BUCKET="acme-lake"))
    assert "s3.endpoint" not in catalog.properties
    assert "glue.endpoint" not in catalog.properties


def test_sql_catalog_creates_its_sqlite_directory(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/nested/dir/catalog.db"
    catalog = load_lake_catalog(Settings(LAKE_CATALOG_URI=uri, LAKE_BUCKET=f"file://{tmp_path}/lake"))
    assert isinstance(catalog, SqlCatalog)
    assert (tmp_path / "nested" / "dir" / "catalog.db").exists()


def test_file_bucket_gives_a_local_warehouse(tmp_path: Path) -> None:
    assert (
        lake_warehouse(Settings(LAKE_BUCKET=f"file://{tmp_path}/lake/"))
        == f"file://{tmp_path}/lake/warehouse"
    )
    assert lake_warehouse(Settings(LAKE_BUCKET="reviva-lake")) == "s3://reviva-lake/warehouse"


def test_unknown_catalog_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="LAKE_CATALOG"):
        load_lake_catalog(Settings(LAKE_CATALOG="hive"))


def test_ensure_events_table_creates_an_athena_ready_table_once(file_settings: Settings) -> None:
    catalog = load_lake_catalog(file_settings)
    table = ensure_events_table(catalog, file_settings)
    again = ensure_events_table(catalog, file_settings)
    assert again.metadata.table_uuid == table.metadata.table_uuid
    assert catalog.list_tables(file_settings.lake_namespace) == [events_table_identifier(file_settings)]
    assert table.format_version == 2
    assert table.properties["write.parquet.compression-codec"] in {"zstd", "snappy"}
    for key, value in EVENTS_TABLE_PROPERTIES.items():
        if key != "format-version":  # a creation option, recorded as the format version itself
            assert table.properties[key] == value
    assert [f.name for f in table.schema().fields] == [f.name for f in EVENTS_SCHEMA.fields]
    (partition_field,) = table.spec().fields
    assert isinstance(partition_field.transform, DayTransform)
    assert table.schema().find_column_name(partition_field.source_id) == "event_time"
    assert table.location().startswith(lake_warehouse(file_settings))


def test_ensure_events_table_adds_columns_the_model_gained(file_settings: Settings) -> None:
    catalog = load_lake_catalog(file_settings)
    catalog.create_namespace(file_settings.lake_namespace)
    older = Schema(*[f for f in EVENTS_SCHEMA.fields if f.name not in {"sequence_number", "is_conversion"}])
    catalog.create_table(events_table_identifier(file_settings), schema=older)

    table = ensure_events_table(catalog, file_settings)

    added = {name: table.schema().find_field(name) for name in ("sequence_number", "is_conversion")}
    assert all(not field.required for field in added.values())
    assert {f.name for f in table.schema().fields} == {f.name for f in EVENTS_SCHEMA.fields}
