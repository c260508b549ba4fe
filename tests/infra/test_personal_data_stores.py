"""Every store that can hold data about a person is registered with an erasure step or an exemption."""

from __future__ import annotations

from pathlib import Path

from infra.components.topology_tags import METADATA_KEY
from reviva.adapters.dynamodb.tables import TABLE_MODELS
from reviva.adapters.lake import load_lake_catalog
from reviva.adapters.lake.lake_tables import ensure_lake_tables
from reviva.settings import Settings
from reviva.topology import BUCKETS, EVENTS_STREAM, PERSONAL_DATA_STORES, QUEUES
from tests.infra.conftest import Synthesized

REGISTERED = {(store.kind, store.name) for store in PERSONAL_DATA_STORES}
# CloudFormation resource types that can hold data, and the store kind their topology marker names.
DATA_RESOURCES = {
    "AWS::DynamoDB::Table": "table",
    "AWS::S3::Bucket": "bucket",
    "AWS::Kinesis::Stream": "stream",
    "AWS::SQS::Queue": "queue",
}


def test_each_store_is_registered_once_with_exactly_one_of_erasure_or_exemption() -> None:
    assert len(REGISTERED) == len(PERSONAL_DATA_STORES), "a store registered twice"
    for store in PERSONAL_DATA_STORES:
        assert (store.erasure is None) != (store.exemption is None), store.name
        if store.exemption is not None:
            assert len(store.exemption.split()) >= 8, f"{store.name}: give the reason, not a word"
        assert store.holds, store.name


def test_every_declared_table_bucket_queue_and_stream_is_registered() -> None:
    declared = (
        {("table", name) for name in TABLE_MODELS}
        | {("bucket", spec.logical_name) for spec in BUCKETS}
        | {("queue", spec.logical_name) for spec in QUEUES}
        | {("stream", EVENTS_STREAM.logical_name)}
    )
    assert declared - REGISTERED == set(), "declared without an erasure step or exemption"
    registered_resources = {(kind, name) for kind, name in REGISTERED if kind != "lake_table"}
    assert registered_resources - declared == set(), "registered but no longer declared"


def test_every_lake_table_is_registered(tmp_path: Path) -> None:
    settings = Settings(
        LAKE_BUCKET=f"file://{tmp_path}/lake",
        LAKE_CATALOG="sql",
        LAKE_CATALOG_URI=f"sqlite:///{tmp_path}/c.db",
    )
    catalog = load_lake_catalog(settings)
    ensure_lake_tables(catalog, settings)
    tables = {name for namespace in catalog.list_namespaces() for _, name in catalog.list_tables(namespace)}
    assert tables
    assert {("lake_table", name) for name in tables} - REGISTERED == set()


def test_every_data_resource_in_the_template_is_a_registered_store(synthesized: Synthesized) -> None:
    for resource_type, kind in DATA_RESOURCES.items():
        resources = synthesized.resources(resource_type)
        assert resources, resource_type
        for logical_id, resource in resources.items():
            marker = resource.get("Metadata", {}).get(METADATA_KEY)
            assert marker is not None, f"{logical_id} ({resource_type}) was not built from the topology"
            marked_kind, _, name = marker.partition("/")
            assert (kind, name) in REGISTERED, f"{logical_id}: {marker} holds data but is not registered"
            assert marked_kind == kind
