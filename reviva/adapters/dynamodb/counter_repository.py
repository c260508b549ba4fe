"""Live counters in DynamoDB (the enrich stage's `CounterRepository`) and their realtime read."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from reviva.aws_clients import client
from reviva.enrich.ports import CounterCommit, CountersMoved, MinuteCounts
from reviva.settings import Settings

WATERMARK_PK = "WATERMARK"
COUNT_PREFIX = "c:"
VISITORS_ATTRIBUTE = "visitors"
COUNTER_RETENTION = timedelta(days=2)
# The live window spans about 66 minutes per batch; a transaction holds 100 items.
MAX_MINUTES_PER_TRANSACTION = 90


def is_condition_failure(error: ClientError) -> bool:
    """Whether a (transactional) write failed on a condition rather than on capacity or a fault."""
    code = error.response.get("Error", {}).get("Code")
    reasons = error.response.get("CancellationReasons") or []
    return code == "ConditionalCheckFailedException" or (
        code == "TransactionCanceledException"
        and (
            any(r.get("Code") == "ConditionalCheckFailed" for r in reasons)
            or "ConditionalCheckFailed" in str(error)
        )
    )


def minute_keys(bucket: str, shard_id: str) -> tuple[str, str]:
    """("M#2026-11-24T21", "07#shardId-…") for the minute bucket "2026-11-24T21:07"."""
    hour, minute = bucket.rsplit(":", 1)
    return f"M#{hour}", f"{minute}#{shard_id}"


class DynamoCounterRepository:
    """Counter items are per (minute, shard); each shard's consumer is the only writer of its items."""

    def __init__(self, settings: Settings) -> None:
        self._table = settings.counters_table
        self._dynamodb = client("dynamodb", settings)

    def watermark(self, shard_id: str) -> str | None:
        """The last sequence number of `shard_id` already counted."""
        item = self._dynamodb.get_item(
            TableName=self._table, Key={"pk": {"S": WATERMARK_PK}, "sk": {"S": shard_id}}, ConsistentRead=True
        ).get("Item")
        return item["sequence"]["S"] if item and "sequence" in item else None

    def transaction_items(self, counters: CounterCommit) -> list[dict[str, Any]]:
        """The TransactWriteItems entries that apply `counters`: the watermark move, then each minute.

        The visitor repository adds them to a visitor's transaction, so a batch's counters cost no
        write request of their own.
        """
        if counters.expected is None:
            condition = "attribute_not_exists(#seq)"
            values: dict[str, Any] = {":new": {"S": counters.new_watermark}}
        else:
            condition = "#seq = :old"
            values = {":new": {"S": counters.new_watermark}, ":old": {"S": counters.expected}}
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": {"S": WATERMARK_PK}, "sk": {"S": counters.shard_id}},
                    "UpdateExpression": "SET #seq = :new",
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#seq": "sequence"},
                    "ExpressionAttributeValues": values,
                }
            }
        ]
        if len(counters.minutes) > MAX_MINUTES_PER_TRANSACTION:
            # The live window (an hour back, minutes ahead) bounds this; never drop counts silently.
            raise ValueError(f"{len(counters.minutes)} minute buckets do not fit one transaction")
        for bucket, minute in sorted(counters.minutes.items()):
            items.append({"Update": self._minute_update(bucket, counters.shard_id, minute)})
        return items

    def commit(self, counters: CounterCommit) -> None:
        """Apply `counters` in a transaction of their own (batches with no visitor to ride along)."""
        try:
            self._dynamodb.transact_write_items(TransactItems=self.transaction_items(counters))
        except ClientError as exc:
            if is_condition_failure(exc):
                raise CountersMoved(counters.shard_id) from exc
            raise

    def _minute_update(self, bucket: str, shard_id: str, counts: MinuteCounts) -> dict[str, Any]:
        pk, sk = minute_keys(bucket, shard_id)
        names: dict[str, str] = {"#ttl": "expires_at"}
        values: dict[str, Any] = {}
        adds: list[str] = []
        for index, (label, amount) in enumerate(sorted(counts.counts.items())):
            names[f"#c{index}"] = f"{COUNT_PREFIX}{label}"
            values[f":c{index}"] = {"N": str(amount)}
            adds.append(f"#c{index} :c{index}")
        if counts.visitors:
            names["#v"] = VISITORS_ATTRIBUTE
            values[":v"] = {"SS": sorted(counts.visitors)}
            adds.append("#v :v")
        expires = datetime.strptime(bucket, "%Y-%m-%dT%H:%M") + COUNTER_RETENTION
        values[":ttl"] = {"N": str(int(expires.timestamp()))}
        expression = "SET #ttl = :ttl" + (" ADD " + ", ".join(adds) if adds else "")
        return {
            "TableName": self._table,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def read_window(self, now: datetime, minutes: int = 30) -> list[tuple[str, Counter[str], set[str]]]:
        """Per-minute counts and visitor tokens for the last `minutes` minutes, all shards summed."""
        start = (now - timedelta(minutes=minutes - 1)).replace(second=0, microsecond=0)
        per_minute: dict[str, tuple[Counter[str], set[str]]] = {}
        hour = start.replace(minute=0)
        while hour <= now:
            pk = f"M#{hour.strftime('%Y-%m-%dT%H')}"
            paginator = self._dynamodb.get_paginator("query")
            pages = paginator.paginate(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": pk}},
            )
            for page in pages:
                for item in page.get("Items", []):
                    minute = item["sk"]["S"].split("#", 1)[0]
                    bucket = f"{hour.strftime('%Y-%m-%dT%H')}:{minute}"
                    moment = datetime.strptime(bucket, "%Y-%m-%dT%H:%M").replace(tzinfo=now.tzinfo)
                    if moment < start or moment > now:
                        continue
                    counts, visitors = per_minute.setdefault(bucket, (Counter(), set()))
                    for name, value in item.items():
                        if name.startswith(COUNT_PREFIX):
                            counts[name[len(COUNT_PREFIX) :]] += int(value["N"])
                    visitors.update(item.get(VISITORS_ATTRIBUTE, {}).get("SS", []))
            hour += timedelta(hours=1)
        return [(bucket, counts, visitors) for bucket, (counts, visitors) in sorted(per_minute.items())]
