"""The cookieless salt store on DynamoDB: one item per UTC day in the counters table.

Implements the `SaltStore` port (`reviva.privacy.ports`). Items carry a TTL at the end of their
day as a backstop; `DailySalt` deletes older salts actively when the day rotates.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from reviva.settings import Settings

# Partition of the counters table that holds salts: never read by the counters views ("M#…").
SALT_PARTITION: Final = "SALT#cookieless"


class DynamoSaltStore:
    """Salts as items of a DynamoDB table with a TTL attribute (the counters table).

    Creation is a conditional put, so two containers starting the day at once agree on one salt.
    """

    def __init__(self, dynamodb: Any, table_name: str, *, ttl_attribute: str = "expires_at") -> None:
        self._dynamodb = dynamodb
        self._table = table_name
        self._ttl_attribute = ttl_attribute

    def get_or_create(self, day: date, candidate: bytes, expires_at: datetime) -> bytes:
        """Read the day's salt, or store `candidate` if no container stored one yet."""
        key = {"pk": {"S": SALT_PARTITION}, "sk": {"S": day.isoformat()}}
        found = self._dynamodb.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        if found is not None:
            return bytes(found["salt"]["B"])
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    **key,
                    "salt": {"B": candidate},
                    self._ttl_attribute: {"N": str(int(expires_at.timestamp()))},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
            return candidate
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            # Another container created it between our read and our put: use theirs.
            item = self._dynamodb.get_item(TableName=self._table, Key=key, ConsistentRead=True)["Item"]
            return bytes(item["salt"]["B"])

    def delete_before(self, day: date) -> int:
        """Delete every stored salt older than `day` (normally just yesterday's)."""
        response = self._dynamodb.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk < :day",
            ExpressionAttributeValues={":pk": {"S": SALT_PARTITION}, ":day": {"S": day.isoformat()}},
            ProjectionExpression="pk, sk",
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        for item in items:
            self._dynamodb.delete_item(TableName=self._table, Key={"pk": item["pk"], "sk": item["sk"]})
        return len(items)


def salt_store_from_settings(settings: Settings) -> DynamoSaltStore:
    """The deployed salt store: the counters table (TTL enabled) at the configured endpoint."""
    from reviva.aws_clients import client

    return DynamoSaltStore(client("dynamodb", settings), settings.counters_table)
