"""What AWS bills for the calls made inside a block: DynamoDB request units and Kinesis units.

Every botocore call is seen through the harness's `intercepted_aws_calls`. DynamoDB item sizes
come from moto's in-process backend, looked up before and after each write (AWS bills the larger
of the two) and for every item read; Kinesis puts are billed by their bytes (data + partition key)
in 1 KB units on demand and 25 KB payload units provisioned.
"""

from __future__ import annotations

import contextlib
import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from reviva_dev.measure.aws_calls import AwsCall, intercepted_aws_calls

KB = 1024


@dataclass
class DynamoUsage:
    """Request units by table and whether they came from a write or a read."""

    wru: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    rru: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    # The part of `wru` that only the transaction added (half of a transactional write): the batch's
    # counters ride in one visitor's write, so this is a per-batch cost, not a per-visitor one.
    transaction_surcharge: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    item_bytes: list[int] = field(default_factory=list)


def write_units(size_bytes: int, transactional: bool) -> int:
    """WRU of one item write: 1 per KB (rounded up, at least 1), doubled in a transaction."""
    units = max(1, math.ceil(size_bytes / KB))
    return units * (2 if transactional else 1)


def read_units(size_bytes: int, consistent: bool) -> float:
    """RRU of reading `size_bytes`: 1 per 4 KB (at least 1) strongly consistent, half that eventually."""
    units = max(1, math.ceil(size_bytes / (4 * KB)))
    return units * (1.0 if consistent else 0.5)


class _MotoItems:
    """Item sizes straight from moto's in-process DynamoDB backend (the server thread's state)."""

    def __init__(self, region: str) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        self._backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][region]

    def size(self, table: str, key: dict[str, Any]) -> int:
        """Bytes of the stored item with this key (moto's item-size rule), 0 when absent."""
        try:
            item = self._backend.get_item(table, key)
        except Exception:
            return 0
        return int(item.size()) if item is not None else 0

    def key_of(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        """The primary key attributes of a wire-format item."""
        schema = self._backend.get_table(table)
        names = [schema.hash_key_attr] + ([schema.range_key_attr] if schema.range_key_attr else [])
        return {name: item[name] for name in names if name in item}


@dataclass
class StreamUsage:
    """What PutRecords carried."""

    records: int = 0
    bytes: int = 0  # data + partition key
    kb_units: int = 0  # each record rounded up to 1 KB (on-demand data-in)
    payload_units: int = 0  # 25 KB chunks (provisioned PUT payload units)


@contextlib.contextmanager
def metered_calls(region: str) -> Iterator[tuple[DynamoUsage, StreamUsage]]:
    """Meter DynamoDB request units and Kinesis bytes of every botocore call made inside."""
    items = _MotoItems(region)
    dynamo = DynamoUsage()
    stream = StreamUsage()

    def metering(call: AwsCall, proceed: Callable[[], Any]) -> Any:
        service, operation, params = call.service, call.operation, call.params
        if service == "kinesis" and operation in ("PutRecords", "PutRecord"):
            records = params.get("Records") or [params]
            for record in records:
                size = len(record.get("Data") or b"") + len(str(record.get("PartitionKey", "")).encode())
                stream.records += 1
                stream.bytes += size
                stream.kb_units += max(1, math.ceil(size / KB))
                stream.payload_units += max(1, math.ceil(size / (25 * KB)))
        if service != "dynamodb":
            return proceed()
        writes = _write_targets(operation, params, items)
        before = [items.size(table, key) for table, key, _ in writes]
        response = proceed()
        for (table, key, transactional), old in zip(writes, before, strict=True):
            new = items.size(table, key)
            dynamo.wru[table] += write_units(max(old, new), transactional)
            if transactional:
                dynamo.transaction_surcharge[table] += write_units(max(old, new), False)
            dynamo.item_bytes.append(max(old, new))
        _meter_reads(operation, params, response, items, dynamo)
        return response

    with intercepted_aws_calls(metering):
        yield dynamo, stream


def _write_targets(
    operation: str, params: dict[str, Any], items: _MotoItems
) -> list[tuple[str, dict[str, Any], bool]]:
    """(table, key, transactional) of every item a write request touches."""
    targets: list[tuple[str, dict[str, Any], bool]] = []
    if operation == "TransactWriteItems":
        for entry in params.get("TransactItems", []):
            for body in entry.values():  # Put, Update, Delete or ConditionCheck
                table = body["TableName"]
                key = body.get("Key") or items.key_of(table, body.get("Item", {}))
                # A ConditionCheck is billed like a write of the item it checks.
                targets.append((table, key, True))
    elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
        table = params["TableName"]
        key = params.get("Key") or items.key_of(table, params.get("Item", {}))
        targets.append((table, key, False))
    elif operation == "BatchWriteItem":
        for table, requests in params.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    targets.append((table, items.key_of(table, request["PutRequest"]["Item"]), False))
                elif "DeleteRequest" in request:
                    targets.append((table, request["DeleteRequest"]["Key"], False))
    return targets


def _meter_reads(
    operation: str, params: dict[str, Any], response: dict[str, Any], items: _MotoItems, usage: DynamoUsage
) -> None:
    if operation == "GetItem":
        table = params["TableName"]
        usage.rru[table] += read_units(items.size(table, params["Key"]), bool(params.get("ConsistentRead")))
    elif operation == "BatchGetItem":
        # Every requested key is billed as a GetItem, found or not.
        for table, request in params.get("RequestItems", {}).items():
            consistent = bool(request.get("ConsistentRead"))
            for key in request.get("Keys", []):
                usage.rru[table] += read_units(items.size(table, key), consistent)
    elif operation in ("Query", "Scan"):
        table = params["TableName"]
        total = sum(items.size(table, items.key_of(table, item)) for item in response.get("Items", []))
        usage.rru[table] += read_units(total, bool(params.get("ConsistentRead")))
    elif operation == "TransactGetItems":
        for entry in params.get("TransactItems", []):
            body = entry["Get"]
            usage.rru[body["TableName"]] += 2 * read_units(items.size(body["TableName"], body["Key"]), True)
