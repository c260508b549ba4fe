"""A stand-in for the Lambda context object, for calling real handlers in tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class FakeLambdaContext:
    """The attributes Powertools' `inject_lambda_context` reads."""

    function_name: str
    memory_limit_in_mb: int = 1024
    remaining_millis: int = 30_000
    aws_request_id: str = "req-1"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


def lambda_context(function_name: str, memory_mb: int = 1024, remaining_millis: int = 30_000) -> Any:
    """A context for `function_name`, typed loosely: handlers annotate Powertools' LambdaContext."""
    return FakeLambdaContext(function_name, memory_mb, remaining_millis)
