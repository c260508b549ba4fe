"""DynamoDB Query on the emulator reads one partition: every answer as moto's own, through boto3."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from reviva_dev.local.moto_queries import install_partition_query, uninstall_partition_query

pytestmark = pytest.mark.integration


def make_table(dynamodb: Any) -> str:
    """pk + sk, a GSI on `g`, and items in several partitions (numbers and strings as sort keys)."""
    name = f"query-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for partition in ("a:1", "a:2", "u:3", "e:4"):
        for number in (9, 1, 10, 2, 30, 3):  # inserted out of order
            dynamodb.put_item(
                TableName=name,
                Item={
                    "pk": {"S": partition},
                    "sk": {"S": f"SESSION#{number:02d}" if number % 2 else f"LINK#{number}"},
                    "n": {"N": str(number)},
                    "g": {"S": f"group-{number % 3}"},
                },
            )
    return name


def answers(dynamodb: Any, table: str) -> list[Any]:
    """Every query kind enrich and the API use, and some they do not, with every page."""
    queries: list[dict[str, Any]] = [
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a:1"}}},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "nobody"}}},
        {
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "ExpressionAttributeValues": {":p": {"S": "a:2"}, ":s": {"S": "SESSION#"}},
        },
        {
            "KeyConditionExpression": "pk = :p AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":p": {"S": "u:3"},
                ":lo": {"S": "LINK#10"},
                ":hi": {"S": "SESSION#03"},
            },
            "ScanIndexForward": False,
        },
        {
            "KeyConditionExpression": "pk = :p",
            "FilterExpression": "n > :n",
            "ExpressionAttributeValues": {":p": {"S": "e:4"}, ":n": {"N": "2"}},
            "Limit": 2,
        },
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "a:1"}}, "Limit": 4},
        {
            "IndexName": "by-g",
            "KeyConditionExpression": "g = :g",
            "ExpressionAttributeValues": {":g": {"S": "group-1"}},
        },
    ]
    found = []
    for query in queries:
        pages = []
        start: dict[str, Any] | None = None
        while True:
            page = dynamodb.query(TableName=table, **query, **({"ExclusiveStartKey": start} if start else {}))
            pages.append((page["Items"], page["Count"], page["ScannedCount"], page.get("LastEvaluatedKey")))
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        found.append(pages)
    return found


def test_a_query_answers_exactly_as_moto_reading_the_whole_table(dynamodb: Any) -> None:
    table = make_table(dynamodb)
    one_partition = answers(dynamodb, table)

    uninstall_partition_query()
    try:
        whole_table = answers(dynamodb, table)
    finally:
        install_partition_query()

    assert one_partition == whole_table
    first = one_partition[0][0][0]
    assert [item["sk"]["S"] for item in first] == sorted(item["sk"]["S"] for item in first)
    assert len(first) == 6 and one_partition[1][0][0] == []
    assert len(one_partition[5]) == 2  # Limit 4 over 6 items: two pages
    # A query for a partition that does not exist adds none (moto's table is a defaultdict).
    assert dynamodb.describe_table(TableName=table)["Table"]["ItemCount"] == 24
