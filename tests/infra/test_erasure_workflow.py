"""The erasure definition CDK deploys really executes: moto's Step Functions runs the same ASL.

moto's Lambda (no Docker) answers an invocation with its payload, so each step's output is the
request the state machine sent it: that is what is checked here, step by step and in order.
"""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from reviva.topology import STATE_MACHINES, StateMachineSpec
from reviva.workflows import (
    function_arn_placeholder,
    function_substitutions,
    load_definition,
    placeholders,
    render_definition,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def erasure_machine() -> Iterator[tuple[Any, str]]:
    # No Docker: moto's Lambda echoes the payload instead of running code.
    config: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="erasure", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
        function_arn = boto3.client("lambda", region_name="us-east-1").create_function(
            FunctionName="erasure",
            Runtime="python3.13",
            Role=role,
            Handler="handler.handler",
            Code={"ZipFile": code.getvalue()},
        )["FunctionArn"]
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        (spec,) = [spec for spec in STATE_MACHINES if spec.logical_name == "erasure"]
        definition = render_definition(
            spec.definition, function_substitutions(spec, {"erasure": function_arn})
        )
        machine = sfn.create_state_machine(name="erasure", definition=definition, roleArn=role)
        yield sfn, machine["stateMachineArn"]


def run(sfn: Any, machine_arn: str, request: dict[str, Any]) -> dict[str, Any]:
    execution = sfn.start_execution(
        stateMachineArn=machine_arn, name=str(uuid.uuid4()), input=json.dumps(request)
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError("the execution did not finish")


def test_a_request_walks_every_store_in_order_then_audits(erasure_machine: tuple[Any, str]) -> None:
    sfn, machine_arn = erasure_machine
    result = run(sfn, machine_arn, {"subject_id": "a:device-1"})
    assert result["status"] == "SUCCEEDED"
    audit = json.loads(result["output"])
    assert audit["step"] == "audit"
    assert audit["subject_id"] == "a:device-1"
    steps = [step["step"] for step in audit["results"]]
    assert steps == ["visitors", "identities", "rejected", "lake", "models"]
    assert {step["request_id"] for step in audit["results"]} == {audit["request_id"]}


def test_a_request_without_a_subject_fails_before_any_step(erasure_machine: tuple[Any, str]) -> None:
    sfn, machine_arn = erasure_machine
    result = run(sfn, machine_arn, {"email": "someone@example.com"})
    assert result["status"] == "FAILED"
    assert result["error"] == "InvalidErasureRequest"


def test_every_declared_state_machine_binds_all_its_placeholders() -> None:
    for spec in STATE_MACHINES:
        # The functions a state machine declares are exactly the placeholders its definition uses.
        assert placeholders(spec.definition) == {function_arn_placeholder(name) for name in spec.functions}
        arns: dict[str, str] = {
            name: f"arn:aws:lambda:us-east-1:1:function:{name}" for name in spec.functions
        }
        bound = load_definition(spec.definition, function_substitutions(spec, arns))
        assert "${" not in json.dumps(bound)
    with pytest.raises(KeyError):
        render_definition("erasure", {})


def test_the_placeholder_of_a_function_is_its_title_cased_name() -> None:
    assert function_arn_placeholder("erasure") == "ErasureFunctionArn"
    assert function_arn_placeholder("score_batch") == "ScoreBatchFunctionArn"


def test_substitutions_refuse_a_definition_the_declared_functions_do_not_bind() -> None:
    undeclared = StateMachineSpec("erasure-without-functions", "erasure", ())
    with pytest.raises(KeyError, match="ErasureFunctionArn"):
        function_substitutions(undeclared, {"erasure": "arn:aws:lambda:us-east-1:1:function:erasure"})
    declared = StateMachineSpec("erasure", "erasure", ("erasure",))
    with pytest.raises(KeyError, match="without an ARN"):
        function_substitutions(declared, {})
