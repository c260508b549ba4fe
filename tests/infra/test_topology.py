"""One topology: what the synthesized template holds and what the local runtime builds must match.

The local side is a real `LocalRuntime` (moto server, gateway, stream pollers, schedule timer):
its live resources are listed through the AWS APIs, its routes, functions, mappings and schedules
read from the running objects. The AWS side is the template, through each resource's topology mark.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.components.topology_tags import METADATA_KEY
from reviva.aws_clients import client
from reviva.local.runtime import LocalRuntime
from reviva.settings import load_settings
from reviva.storage.tables import TABLE_MODELS
from tests.infra.conftest import Synthesized


@pytest.fixture(autouse=True)
def aws_test_environment() -> Iterator[None]:
    """The runtime owns the environment here (it points the SDK at its own moto server)."""
    yield


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, set[str]]]:
    runtime = LocalRuntime(
        port=0,
        data_dir=Path(tmp_path_factory.mktemp("reviva")),
        write_key="topology-test",
        admin_token="topology-test",
        demo=False,
        warm_up=False,
    )
    runtime.start()
    try:
        assert runtime.resources is not None and runtime.invoker is not None and runtime.server is not None
        settings = load_settings()
        resources = runtime.resources
        table_names = set(client("dynamodb", settings).list_tables()["TableNames"])
        logical_tables = {
            logical for logical, model in TABLE_MODELS.items() if model.Meta.table_name in table_names
        }
        stream_names = set(client("kinesis", settings).list_streams()["StreamNames"])
        queue_urls = set(client("sqs", settings).list_queues().get("QueueUrls", []))
        bucket_names = {b["Name"] for b in client("s3", settings).list_buckets()["Buckets"]}
        gateway = runtime.server.gateway
        yield {
            "function": set(runtime.invoker.specs),
            "route": {f"{c.route.method} {c.route.path}" for c in gateway.route_table.routes},
            "mapping": {
                f"{s.mapping.stream}->{s.mapping.function}" for p in runtime.pollers for s in p.pollers
            },
            "table": logical_tables,
            "stream": {logical for logical, name in resources.streams.items() if name in stream_names},
            "queue": {logical for logical, url in resources.queue_urls.items() if url in queue_urls},
            "bucket": {logical for logical, name in resources.buckets.items() if name in bucket_names},
            "schedule": set(runtime.schedules._schedules) if runtime.schedules else set(),
        }
    finally:
        runtime.stop()


def in_template(synthesized: Synthesized, kind: str) -> set[str]:
    marks = [r.get("Metadata", {}).get(METADATA_KEY, "") for r in synthesized.template["Resources"].values()]
    return {m.split("/", 1)[1] for m in marks if m.startswith(kind + "/")}


@pytest.mark.integration
@pytest.mark.parametrize(
    "kind", ["function", "route", "mapping", "table", "stream", "queue", "bucket", "schedule"]
)
def test_aws_and_local_build_the_same_topology(
    synthesized: Synthesized, local: dict[str, set[str]], kind: str
) -> None:
    aws = in_template(synthesized, kind)
    assert aws, f"no {kind} in the template"
    assert aws - local[kind] == set(), f"{kind}s in AWS but not local"
    assert local[kind] - aws == set(), f"{kind}s local but not in AWS"
