"""One topology: what the synthesized template holds and what the local runtime builds must match.

The local side is a real `LocalRuntime` (moto server, gateway, stream pollers, schedule timer):
its live resources are listed through the AWS APIs, its routes, mappings and schedules read from
the running objects. The AWS side is the template, through each resource's topology mark. State
machines match by name and by their definitions once the template's `DefinitionSubstitutions` are
bound to the local functions' ARNs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.components.topology_tags import METADATA_KEY
from reviva.adapters.dynamodb.tables import TABLE_MODELS
from reviva.aws_clients import client
from reviva.settings import load_settings
from reviva_dev.local.gateway import physical_function_name
from reviva_dev.local.runtime import LocalRuntime
from tests.infra.conftest import Synthesized


@pytest.fixture(autouse=True)
def aws_test_environment() -> Iterator[None]:
    """The runtime owns the environment here (it points the SDK at its own moto server)."""
    yield


@dataclass
class LocalTopology:
    kinds: dict[str, set[str]]  # kind → logical names
    function_arns: dict[str, str]  # function name → ARN on the emulator
    definitions: dict[str, dict[str, Any]]  # state machine → its definition on the emulator


@pytest.fixture(scope="module")
def local_topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTopology]:
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
        lambda_functions = {
            f["FunctionName"]: f["FunctionArn"]
            for f in client("lambda", settings).list_functions()["Functions"]
        }
        function_arns = {
            name: lambda_functions[physical_function_name(spec)]
            for name, spec in runtime.invoker.specs.items()
            if physical_function_name(spec) in lambda_functions
        }
        sfn = client("stepfunctions", settings)
        machine_arns = {m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
        definitions = {
            logical: json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
            for logical, arn in resources.state_machines.items()
            if arn in machine_arns
        }
        gateway = runtime.server.gateway
        kinds = {
            # A function exists locally when the runtime can run it and the emulator knows its ARN.
            "function": set(function_arns),
            "route": {f"{c.route.method} {c.route.path}" for c in gateway.route_table.routes},
            "mapping": {
                f"{s.mapping.stream}->{s.mapping.function}" for p in runtime.pollers for s in p.pollers
            },
            "table": logical_tables,
            "stream": {logical for logical, name in resources.streams.items() if name in stream_names},
            "queue": {logical for logical, url in resources.queue_urls.items() if url in queue_urls},
            "bucket": {logical for logical, name in resources.buckets.items() if name in bucket_names},
            "schedule": set(runtime.schedules._schedules) if runtime.schedules else set(),
            "statemachine": set(definitions),
        }
        yield LocalTopology(kinds, function_arns, definitions)
    finally:
        runtime.stop()


def marked(synthesized: Synthesized, kind: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Logical name → (logical id, resource) of every template resource marked `kind/name`."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for logical_id, resource in synthesized.template["Resources"].items():
        mark = resource.get("Metadata", {}).get(METADATA_KEY, "")
        if mark.startswith(kind + "/"):
            found[mark.split("/", 1)[1]] = (logical_id, resource)
    return found


def in_template(synthesized: Synthesized, kind: str) -> set[str]:
    return set(marked(synthesized, kind))


@pytest.mark.integration
@pytest.mark.parametrize(
    "kind", ["function", "route", "mapping", "table", "stream", "queue", "bucket", "schedule", "statemachine"]
)
def test_aws_and_local_build_the_same_topology(
    synthesized: Synthesized, local_topology: LocalTopology, kind: str
) -> None:
    aws = in_template(synthesized, kind)
    local = local_topology.kinds[kind]
    assert aws, f"no {kind} in the template"
    assert aws - local == set(), f"{kind}s in AWS but not local"
    assert local - aws == set(), f"{kind}s local but not in AWS"


@pytest.mark.integration
def test_aws_and_local_state_machines_have_the_same_definition(
    synthesized: Synthesized, local_topology: LocalTopology
) -> None:
    """The template's definition, its substitutions bound to the local functions, is the local one."""
    functions_by_logical_id = {
        logical_id: name for name, (logical_id, _) in marked(synthesized, "function").items()
    }
    machines = marked(synthesized, "statemachine")
    assert machines, "no state machine in the template"
    for name, (_, resource) in machines.items():
        properties = resource["Properties"]
        definition = properties["DefinitionString"]
        assert isinstance(definition, str), (
            f"{name}: the definition is built from tokens, not the stored file"
        )
        for placeholder, value in properties.get("DefinitionSubstitutions", {}).items():
            # CDK binds each placeholder to a marked function's ARN; locally that function's ARN.
            assert set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][1] == "Arn", (
                name,
                placeholder,
                value,
            )
            function = functions_by_logical_id[value["Fn::GetAtt"][0]]
            definition = definition.replace("${" + placeholder + "}", local_topology.function_arns[function])
        assert "${" not in definition, f"{name}: a placeholder the template does not bind"
        assert json.loads(definition) == local_topology.definitions[name], f"{name} differs"
