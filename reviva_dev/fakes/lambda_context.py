"""The context object Lambda hands a handler, stood in for: the local runtime passes one to every
invocation, `reviva_dev.measure.invocations` to a measured one, and tests to the handlers they call."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

# The ARN of a context built without one names moto's default account, where the tests run.
DEFAULT_ACCOUNT_ID = "123456789012"


@dataclass
class FakeLambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read; the remaining
    time counts down from the function's timeout, as Lambda's does."""

    function_name: str
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = ""
    aws_request_id: str = "req-1"
    timeout_seconds: float = 30.0
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.invoked_function_arn = (
            self.invoked_function_arn
            or f"arn:aws:lambda:us-east-1:{DEFAULT_ACCOUNT_ID}:function:{self.function_name}"
        )
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self.log_stream_name = (
            self.log_stream_name or f"local/[$LATEST]{self.aws_request_id.replace('-', '')}"
        )

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def lambda_context(function_name: str, memory_mb: int = 1024, remaining_millis: int = 30_000) -> Any:
    """A context for calling `function_name`'s handler directly, with `remaining_millis` left.

    Typed loosely: handlers annotate Powertools' `LambdaContext`, which this only stands in for.
    """
    return FakeLambdaContext(function_name, memory_mb, timeout_seconds=remaining_millis / 1000)
