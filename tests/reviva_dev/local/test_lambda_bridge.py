"""`LambdaBridge`: Lambda's Invoke answered by in-process handlers, with Lambda's error contract."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from reviva.topology import function_spec
from reviva_dev.local.gateway import FunctionInvoker, Handler, HandlerUnavailable
from reviva_dev.local.lambda_bridge import LambdaBridge, function_name_from_identifier

ERASURE_ARN = "arn:aws:lambda:us-east-1:123456789012:function:reviva-erasure"


@pytest.mark.parametrize(
    "identifier",
    [
        "reviva-erasure",
        "reviva-erasure:$LATEST",
        ERASURE_ARN,
        ERASURE_ARN + ":live",
        "123456789012:function:reviva-erasure",
    ],
)
def test_every_form_of_function_identifier_names_the_function(identifier: str) -> None:
    assert function_name_from_identifier(identifier) == "reviva-erasure"


def bridge_with(handlers: dict[str, Handler]) -> LambdaBridge:
    def resolve(name: str) -> Handler:
        if name not in handlers:
            raise HandlerUnavailable(f"cannot import functions.{name}.handler: ModuleNotFoundError")
        return handlers[name]

    specs = (function_spec("erasure"), function_spec("score"))
    return LambdaBridge(FunctionInvoker(resolve, specs), "us-east-1")


def invoke(
    bridge: LambdaBridge, payload: Any, invocation_type: str = "RequestResponse"
) -> tuple[Any, dict[str, str]]:
    response_headers: dict[str, str] = {}
    body = bridge.invoke(
        ERASURE_ARN, None, json.dumps(payload), {"X-Amz-Invocation-Type": invocation_type}, response_headers
    )
    assert isinstance(body, bytes)
    assert response_headers["Content-Length"] == str(len(body))
    return (json.loads(body) if body else None), response_headers


def test_the_handler_answers_with_its_result_and_sees_a_lambda_context() -> None:
    seen: list[tuple[Any, str]] = []

    def erasure(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append((event, context.invoked_function_arn))
        return {"erased": event["subject_id"]}

    result, headers = invoke(bridge_with({"erasure": erasure}), {"subject_id": "a:1"})
    assert result == {"erased": "a:1"}
    assert "x-amz-function-error" not in headers
    assert seen == [({"subject_id": "a:1"}, ERASURE_ARN)]


def test_an_exception_becomes_an_unhandled_function_error_named_by_its_type() -> None:
    def erasure(event: dict[str, Any], context: Any) -> Any:
        raise ValueError("an erasure request needs a non-empty subject_id")

    result, headers = invoke(bridge_with({"erasure": erasure}), {"subject_id": ""})
    assert headers["x-amz-function-error"] == "Unhandled"
    assert result["errorType"] == "ValueError"
    assert result["errorMessage"] == "an erasure request needs a non-empty subject_id"
    assert any("raise ValueError" in line for line in result["stackTrace"])


def test_a_result_json_cannot_carry_is_a_marshal_error() -> None:
    result, headers = invoke(bridge_with({"erasure": lambda event, context: {"when": object()}}), {})
    assert headers["x-amz-function-error"] == "Unhandled"
    assert result["errorType"] == "Runtime.MarshalError"


def test_a_handler_that_cannot_be_imported_is_an_import_module_error() -> None:
    result, headers = invoke(bridge_with({}), {"subject_id": "a:1"})
    assert headers["x-amz-function-error"] == "Unhandled"
    assert result["errorType"] == "Runtime.ImportModuleError"
    assert "ModuleNotFoundError" in result["errorMessage"]


def test_an_event_invocation_returns_at_once_and_runs_the_handler_afterwards() -> None:
    release = threading.Event()
    done = threading.Event()

    def erasure(event: dict[str, Any], context: Any) -> None:
        release.wait(5)
        done.set()

    result, headers = invoke(bridge_with({"erasure": erasure}), {"subject_id": "a:1"}, "Event")
    assert "x-amz-function-error" not in headers
    assert result is None and not done.is_set()
    release.set()
    assert done.wait(5)


def test_a_function_outside_the_topology_needs_moto_behind_the_bridge() -> None:
    bridge = bridge_with({})
    with pytest.raises(RuntimeError, match="not installed"):
        bridge.invoke("someone-elses-function", None, "{}", {}, {})
