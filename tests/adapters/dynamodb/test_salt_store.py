"""DynamoSaltStore on moto: containers share the day's salt, rotation deletes the old one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto import mock_aws

from reviva.adapters.dynamodb.salt_store import SALT_PARTITION, DynamoSaltStore
from reviva.privacy.cookieless import DailySalt


def test_daily_salt_rotates_and_deletes_the_old_one_in_dynamodb() -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="counters",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        store = DynamoSaltStore(dynamodb, "counters")
        one, other = DailySalt(store), DailySalt(store)  # two Lambda containers
        today = datetime(2025, 3, 14, 23, 59, tzinfo=UTC)
        salt = one.salt_for(today)
        assert other.salt_for(today) == salt, "containers share the day's salt"

        def stored() -> dict[str, Any]:
            items = dynamodb.query(
                TableName="counters",
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": SALT_PARTITION}},
            )["Items"]
            return {item["sk"]["S"]: item for item in items}

        item = stored()["2025-03-14"]
        assert int(item["expires_at"]["N"]) == int(datetime(2025, 3, 15, tzinfo=UTC).timestamp())
        tomorrow = one.salt_for(today + timedelta(minutes=2))
        assert tomorrow != salt
        assert list(stored()) == ["2025-03-15"], "yesterday's salt is deleted at rotation"
        assert other.salt_for(today + timedelta(minutes=3)) == tomorrow
