"""A real handler invoked as Lambda would invoke it, and what the invocation cost the process."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from reviva.topology import FunctionSpec
from reviva_dev.fakes.lambda_context import FakeLambdaContext
from reviva_dev.measure.aws_calls import counted_aws_calls, per_service


@dataclass
class Captured:
    """What a block wrote to stdout (for a handler: what Lambda ships to CloudWatch Logs)."""

    bytes: int = 0
    text: str = ""


@contextmanager
def captured_stdout() -> Iterator[Captured]:
    """Capture file descriptor 1 inside the block: Powertools' handlers hold their own stream object."""
    result = Captured()
    sys.stdout.flush()
    saved = os.dup(1)
    previous = sys.stdout
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        # print() (Powertools' EMF metrics) writes to sys.stdout, which a test runner may have replaced.
        sys.stdout = open(sink.fileno(), "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        try:
            yield result
        finally:
            sys.stdout.flush()
            sys.stdout.close()
            sys.stdout = previous
            os.dup2(saved, 1)
            os.close(saved)
            sink.seek(0)
            raw = sink.read()
            result.bytes = len(raw)
            result.text = raw.decode("utf-8", "replace")


def lambda_context(spec: FunctionSpec, region: str = "us-east-1") -> Any:
    """The context the local runtime hands `spec`'s handler (its name, memory, ARN and timeout)."""
    from reviva_dev.local.gateway import function_arn, physical_function_name

    return FakeLambdaContext(
        function_name=physical_function_name(spec),
        memory_limit_in_mb=spec.memory_mb,
        invoked_function_arn=function_arn(spec, region),
        aws_request_id=f"call-{time.monotonic_ns()}",
        timeout_seconds=spec.timeout_seconds,
    )


@dataclass
class MeasuredInvocation:
    """What one handler invocation returned and cost this process."""

    result: Any
    # CPU of the invoking thread (`time.thread_time`): excludes the emulator's server threads.
    cpu_ms: float
    wall_ms: float
    log: Captured
    calls: Counter[str] = field(default_factory=Counter)  # "service:Operation" → count


def invoke_measured(
    spec: FunctionSpec, handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any]
) -> MeasuredInvocation:
    """Invoke `handler` with `event` on this thread: its result, CPU, wall time, stdout and AWS calls."""
    with counted_aws_calls() as calls, captured_stdout() as logged:
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        result = handler(event, lambda_context(spec))
        cpu_ms = (time.thread_time() - cpu0) * 1000
        wall_ms = (time.perf_counter() - wall0) * 1000
    return MeasuredInvocation(result, cpu_ms, wall_ms, logged, per_service(calls))
