"""The local runtime's state machines: created from CDK's definition, executed with the local handlers.

One real `LocalRuntime` for the module (it owns moto's process-wide state) with the repository's
own handlers: the erasure executions below call `functions/erasure/handler.py`, today a skeleton
that validates the request and answers "not_implemented".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from reviva.aws_clients import client
from reviva.settings import load_settings
from reviva.topology import STATE_MACHINES
from reviva_dev.local.emulator import create_functions, create_state_machines
from reviva_dev.local.runtime import LocalRuntime

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def aws_test_environment() -> Iterator[None]:
    """The runtime owns the environment here (it points the SDK at its own moto server)."""
    yield


@pytest.fixture(scope="module", params=[False, True], ids=["moto-in-process", "moto-in-its-own-process"])
def runtime(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRuntime]:
    # Every test runs with moto in this process and with moto in a child process (as `reviva dev`
    # runs it), where the Lambda calls of the state machines come back over HTTP.
    local = LocalRuntime(
        emulator_process=request.param,
        port=0,
        data_dir=tmp_path_factory.mktemp("reviva"),
        write_key="state-machine-test",
        admin_token="state-machine-test",
        demo=False,
        warm_up=False,
        static_mounts={},
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


def function_names_in(definition: Any) -> list[str]:
    """Every `FunctionName` a definition's tasks call, wherever the task is nested."""
    if isinstance(definition, dict):
        found = [definition["FunctionName"]] if isinstance(definition.get("FunctionName"), str) else []
        return found + [name for value in definition.values() for name in function_names_in(value)]
    if isinstance(definition, list):
        return [name for value in definition for name in function_names_in(value)]
    return []


def history(execution_arn: str) -> list[dict[str, Any]]:
    sfn = client("stepfunctions", load_settings())
    events: list[dict[str, Any]] = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)[
        "events"
    ]
    return events


def scheduled_payloads(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The payload of every Lambda task the execution scheduled, in order."""
    return [
        json.loads(event["taskScheduledEventDetails"]["parameters"])["Payload"]
        for event in events
        if event["type"] == "TaskScheduled"
    ]


def test_every_declared_state_machine_exists_with_the_function_arns_of_the_emulator(
    runtime: LocalRuntime,
) -> None:
    settings = load_settings()
    sfn = client("stepfunctions", settings)
    lambda_ = client("lambda", settings)
    iam = client("iam", settings)
    assert runtime.resources is not None
    assert set(runtime.resources.state_machines) == {spec.logical_name for spec in STATE_MACHINES}
    assert runtime.info().state_machines == runtime.resources.state_machines
    for spec in STATE_MACHINES:
        described = sfn.describe_state_machine(
            stateMachineArn=runtime.resources.state_machines[spec.logical_name]
        )
        assert described["name"] == f"reviva-{spec.logical_name}"
        assert described["type"] == "STANDARD"
        role_name = described["roleArn"].rsplit("/", 1)[1]
        assert iam.get_role(RoleName=role_name)["Role"]["Arn"] == described["roleArn"]
        definition = json.loads(described["definition"])
        assert "${" not in described["definition"]
        called = function_names_in(definition)
        assert called, f"{spec.logical_name} calls no function"
        for function_arn in called:
            # Each task calls a function that exists on the emulator's Lambda, and one it declares.
            configuration = lambda_.get_function(FunctionName=function_arn)["Configuration"]
            assert configuration["FunctionArn"] == function_arn
            assert configuration["FunctionName"].removeprefix("reviva-") in spec.functions


def test_creating_the_resources_again_changes_nothing(runtime: LocalRuntime) -> None:
    assert runtime.resources is not None
    settings = load_settings()
    sfn = client("stepfunctions", settings)
    before = {
        arn: sfn.describe_state_machine(stateMachineArn=arn)["definition"]
        for arn in runtime.resources.state_machines.values()
    }
    functions = create_functions(settings)
    assert functions == runtime.resources.functions
    assert create_state_machines(settings, functions) == runtime.resources.state_machines
    machines = sfn.list_state_machines()["stateMachines"]
    assert sorted(m["name"] for m in machines) == sorted(
        f"reviva-{spec.logical_name}" for spec in STATE_MACHINES
    )
    assert {arn: sfn.describe_state_machine(stateMachineArn=arn)["definition"] for arn in before} == before


def test_an_erasure_walks_every_store_through_the_local_handler_then_audits(runtime: LocalRuntime) -> None:
    execution_arn = runtime.start_execution("erasure", {"subject_id": "a:device-1"})
    result = runtime.wait_for_execution(execution_arn)
    assert result["status"] == "SUCCEEDED", result
    # The audit step's answer, from the skeleton handler (moto's own Lambda would echo the request).
    assert json.loads(result["output"]) == {"subject_id": "a:device-1", "status": "not_implemented"}

    events = history(execution_arn)
    payloads = scheduled_payloads(events)
    assert [payload["step"] for payload in payloads] == [
        "visitors",
        "identities",
        "rejected",
        "lake",
        "models",
        "audit",
    ]
    execution_name = execution_arn.rsplit(":", 1)[1]
    assert {payload["request_id"] for payload in payloads} == {execution_name}
    # Each store step's result is what the handler returned for it, collected for the audit.
    assert payloads[-1]["results"] == [{"subject_id": "a:device-1", "status": "not_implemented"}] * 5


def test_a_failing_step_is_caught_without_retry_and_fails_the_erasure(runtime: LocalRuntime) -> None:
    # A present but empty subject passes the Choice; the handler refuses it with a ValueError.
    execution_arn = runtime.start_execution("erasure", {"subject_id": ""})
    result = runtime.wait_for_execution(execution_arn)
    assert result["status"] == "FAILED"
    assert result["error"] == "ErasureFailed"

    events = history(execution_arn)
    # The Retry only matches Lambda's service errors: the handler ran once, then Catch took over.
    assert [payload["step"] for payload in scheduled_payloads(events)] == ["visitors"]
    (failure,) = [event["taskFailedEventDetails"] for event in events if event["type"] == "TaskFailed"]
    assert failure["error"] == "ValueError"
    assert "non-empty subject_id" in json.loads(failure["cause"])["errorMessage"]


def test_a_request_without_a_subject_is_rejected_before_any_handler_runs(runtime: LocalRuntime) -> None:
    execution_arn = runtime.start_execution("erasure", {"email": "someone@example.com"})
    result = runtime.wait_for_execution(execution_arn)
    assert result["status"] == "FAILED"
    assert result["error"] == "InvalidErasureRequest"
    assert scheduled_payloads(history(execution_arn)) == []


def test_the_lambda_api_of_the_emulator_runs_the_local_handler(runtime: LocalRuntime) -> None:
    lambda_ = client("lambda", load_settings())
    answered = lambda_.invoke(FunctionName="reviva-erasure", Payload=json.dumps({"subject_id": "a:2"}))
    assert "FunctionError" not in answered
    assert json.loads(answered["Payload"].read()) == {"subject_id": "a:2", "status": "not_implemented"}

    failed = lambda_.invoke(FunctionName="reviva-erasure", Payload=json.dumps({"subject_id": ""}))
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "ValueError"


def test_an_unknown_state_machine_is_refused(runtime: LocalRuntime) -> None:
    with pytest.raises(KeyError, match="no state machine named"):
        runtime.start_execution("no-such-machine", {})


def test_a_restart_recreates_the_state_machines(runtime: LocalRuntime) -> None:
    """Last in the module: it restarts the shared runtime (moto starts empty on every start)."""
    assert runtime.resources is not None
    before = dict(runtime.resources.state_machines)
    runtime.stop()
    info = runtime.start()
    assert info.state_machines == before
    sfn = client("stepfunctions", load_settings())
    assert len(sfn.list_state_machines()["stateMachines"]) == len(STATE_MACHINES)
    execution_arn = runtime.start_execution("erasure", {"subject_id": "a:device-3"})
    assert runtime.wait_for_execution(execution_arn)["status"] == "SUCCEEDED"
