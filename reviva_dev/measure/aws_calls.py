"""Every AWS call this process makes, seen in one place: counted (bench) or metered (cost).

boto3 and pynamodb both go through botocore's `BaseClient._make_api_call`. botocore's event
hooks (`before-parameter-build`, `after-call`) belong to one client, or to a session before it
creates its clients; they miss clients built before the measurement began (the adapters cache
theirs) and pynamodb's own session. So `intercepted_aws_calls` wraps that one method, for the
length of a `with` block, and is the only code in bench/ and cost/ that touches botocore.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.client import BaseClient

DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
DYNAMODB_READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


@dataclass(frozen=True)
class AwsCall:
    """One botocore API call: the service (e.g. "dynamodb"), the operation and its parameters."""

    service: str
    operation: str
    params: dict[str, Any]


# Called instead of the API call: it must call `proceed()` (once) and return its response.
AwsCallInterceptor = Callable[[AwsCall, Callable[[], Any]], Any]


@contextmanager
def intercepted_aws_calls(interceptor: AwsCallInterceptor) -> Iterator[None]:
    """Route every botocore API call made inside the block through `interceptor` (blocks nest)."""
    # See the module docstring: no public botocore hook sees every client of every library.
    client_class: Any = BaseClient
    original = client_class._make_api_call

    def intercepting(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        call = AwsCall(self.meta.service_model.service_name, operation_name, api_params)
        return interceptor(call, lambda: original(self, operation_name, api_params))

    client_class._make_api_call = intercepting
    try:
        yield
    finally:
        client_class._make_api_call = original


def table_of(params: dict[str, Any]) -> str | None:
    """The DynamoDB table a request writes or reads (the first one, for transactions)."""
    if "TableName" in params:
        return str(params["TableName"])
    for item in params.get("TransactItems", []):
        for action in item.values():
            return str(action.get("TableName"))
    for name in params.get("RequestItems", {}):
        return str(name)
    return None


@contextmanager
def counted_aws_calls() -> Iterator[Counter[tuple[str, str]]]:
    """Count every botocore API call made inside the block, by (service, operation).

    Calls that name a DynamoDB table are also counted under ("<service>:<table>", operation), so
    one table's share can be read off; `per_service` drops those keys.
    """
    calls: Counter[tuple[str, str]] = Counter()

    def count(call: AwsCall, proceed: Callable[[], Any]) -> Any:
        calls[(call.service, call.operation)] += 1
        table = table_of(call.params)
        if table:
            calls[(f"{call.service}:{table}", call.operation)] += 1
        return proceed()

    with intercepted_aws_calls(count):
        yield calls


def per_service(calls: Counter[tuple[str, str]]) -> Counter[str]:
    """`counted_aws_calls`' counts as "service:Operation" → count, without the per-table keys,
    in (service, operation) order."""
    return Counter({f"{service}:{op}": n for (service, op), n in sorted(calls.items()) if ":" not in service})
