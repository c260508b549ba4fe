"""DynamoDB transactions on the emulator (undo log instead of table copies), through boto3.

The same scripted transactions run against the emulator with the undo log and against moto's own
implementation must leave the same items and be cancelled with the same reasons; a cancelled
transaction leaves every item as it was; concurrent transactions neither lose an update nor
see another's half-written state.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from reviva_dev.local.moto_transactions import install_transaction_undo_log, uninstall_transaction_undo_log

pytestmark = pytest.mark.integration

FILLER_ITEMS = 2_000


def make_tables(dynamodb: Any) -> tuple[str, str]:
    """A table keyed by `pk` and one keyed by `pk` + `sk`, fresh for each test."""
    suffix = uuid.uuid4().hex[:8]
    plain, ranged = f"plain-{suffix}", f"ranged-{suffix}"
    dynamodb.create_table(
        TableName=plain,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.create_table(
        TableName=ranged,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return plain, ranged


def every_item(dynamodb: Any, *tables: str) -> dict[str, list[dict[str, Any]]]:
    """Every item of each table, sorted by key: what a transaction may and may not have changed."""
    found: dict[str, list[dict[str, Any]]] = {}
    for table in tables:
        items = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
        found[table] = sorted(items, key=lambda item: (item["pk"]["S"], item.get("sk", {}).get("S", "")))
    return found


def seed(dynamodb: Any, plain: str, ranged: str) -> None:
    dynamodb.put_item(TableName=plain, Item={"pk": {"S": "a"}, "n": {"N": "1"}, "tags": {"SS": ["x"]}})
    dynamodb.put_item(TableName=plain, Item={"pk": {"S": "b"}, "n": {"N": "2"}})
    dynamodb.put_item(TableName=ranged, Item={"pk": {"S": "v"}, "sk": {"S": "1"}, "n": {"N": "10"}})
    dynamodb.put_item(TableName=ranged, Item={"pk": {"S": "v"}, "sk": {"S": "2"}, "n": {"N": "20"}})


def scripted_transactions(plain: str, ranged: str) -> list[list[dict[str, Any]]]:
    """Committed and cancelled transactions over both tables, every kind of action."""
    add_one = {
        "UpdateExpression": "SET n = n + :one ADD tags :t",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":t": {"SS": ["y"]}},
    }
    return [
        # Commits: an update in place, a new item, a delete, a condition check.
        [
            {"Update": {"TableName": plain, "Key": {"pk": {"S": "a"}}, **add_one}},
            {"Put": {"TableName": ranged, "Item": {"pk": {"S": "v"}, "sk": {"S": "3"}, "n": {"N": "30"}}}},
            {"Delete": {"TableName": ranged, "Key": {"pk": {"S": "v"}, "sk": {"S": "1"}}}},
            {
                "ConditionCheck": {
                    "TableName": plain,
                    "Key": {"pk": {"S": "b"}},
                    "ConditionExpression": "n = :two",
                    "ExpressionAttributeValues": {":two": {"N": "2"}},
                }
            },
        ],
        # Cancelled by its last action: everything before it must be undone.
        [
            {"Update": {"TableName": plain, "Key": {"pk": {"S": "a"}}, **add_one}},
            {"Put": {"TableName": plain, "Item": {"pk": {"S": "new"}, "n": {"N": "5"}}}},
            {"Delete": {"TableName": plain, "Key": {"pk": {"S": "b"}}}},
            {
                "Update": {
                    "TableName": ranged,
                    "Key": {"pk": {"S": "v"}, "sk": {"S": "9"}},
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {"Put": {"TableName": ranged, "Item": {"pk": {"S": "v"}, "sk": {"S": "2"}, "n": {"N": "0"}}}},
            {
                "Put": {
                    "TableName": ranged,
                    "Item": {"pk": {"S": "v"}, "sk": {"S": "3"}, "n": {"N": "0"}},
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        ],
        # Cancelled by its first action, with two failing reasons.
        [
            {
                "ConditionCheck": {
                    "TableName": plain,
                    "Key": {"pk": {"S": "b"}},
                    "ConditionExpression": "n = :three",
                    "ExpressionAttributeValues": {":three": {"N": "3"}},
                }
            },
            {"Delete": {"TableName": plain, "Key": {"pk": {"S": "a"}}}},
            {
                "Delete": {
                    "TableName": plain,
                    "Key": {"pk": {"S": "missing"}},
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        ],
        # The same item twice: refused as a whole, nothing applied.
        [
            {"Put": {"TableName": plain, "Item": {"pk": {"S": "c"}}}},
            {"Delete": {"TableName": plain, "Key": {"pk": {"S": "c"}}}},
        ],
        # An update that fails on the item's data (adding a number to a string set): refused.
        [
            {"Put": {"TableName": plain, "Item": {"pk": {"S": "d"}}}},
            {
                "Update": {
                    "TableName": plain,
                    "Key": {"pk": {"S": "a"}},
                    "UpdateExpression": "SET n = tags + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ],
    ]


def run_script(dynamodb: Any, plain: str, ranged: str) -> list[Any]:
    """Each transaction's outcome (OK, or the error code, message and cancellation reasons)
    followed by the items after it."""
    outcomes: list[Any] = []
    for transaction in scripted_transactions(plain, ranged):
        try:
            dynamodb.transact_write_items(TransactItems=transaction)
            outcome: Any = "OK"
        except ClientError as error:
            outcome = (
                error.response["Error"]["Code"],
                error.response["Error"]["Message"],
                error.response.get("CancellationReasons"),
            )
        state = every_item(dynamodb, plain, ranged)
        outcomes.append((outcome, list(state.values())))
    return outcomes


def test_the_undo_log_answers_like_moto_own_transactions(dynamodb: Any) -> None:
    plain, ranged = make_tables(dynamodb)
    seed(dynamodb, plain, ranged)
    with_undo_log = run_script(dynamodb, plain, ranged)

    uninstall_transaction_undo_log()
    try:
        plain, ranged = make_tables(dynamodb)
        seed(dynamodb, plain, ranged)
        with_table_copies = run_script(dynamodb, plain, ranged)
    finally:
        install_transaction_undo_log()

    assert with_undo_log == with_table_copies
    outcomes = [outcome for outcome, _ in with_undo_log]
    assert outcomes[0] == "OK"
    assert [code for code, _, _ in outcomes[1:]] == [
        "TransactionCanceledException",
        "TransactionCanceledException",
        "ValidationException",
        "ValidationException",
    ]
    # A refused transaction applied nothing either: the items are those after the third.
    assert all(state == with_undo_log[0][1] for _, state in with_undo_log[1:])


def test_a_cancelled_transaction_leaves_every_item_unchanged(dynamodb: Any) -> None:
    plain, ranged = make_tables(dynamodb)
    seed(dynamodb, plain, ranged)
    committed, cancelled, *_ = scripted_transactions(plain, ranged)
    dynamodb.transact_write_items(TransactItems=committed)
    before = every_item(dynamodb, plain, ranged)

    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=cancelled)

    assert every_item(dynamodb, plain, ranged) == before
    reasons = raised.value.response["CancellationReasons"]
    assert [reason["Code"] for reason in reasons] == ["None"] * 5 + ["ConditionalCheckFailed"]
    # ALL_OLD: the item as stored, not as the cancelled transaction had changed it.
    assert reasons[-1]["Item"] == {"pk": {"S": "v"}, "sk": {"S": "3"}, "n": {"N": "30"}}


def test_concurrent_transactions_lose_no_update_and_commit_all_or_nothing(dynamodb: Any) -> None:
    plain, ranged = make_tables(dynamodb)
    dynamodb.put_item(TableName=plain, Item={"pk": {"S": "version"}, "v": {"N": "0"}})
    # Tables of some size: a transaction then spans thread switches (moto copied whole tables).
    for start in range(0, FILLER_ITEMS, 25):
        dynamodb.batch_write_item(
            RequestItems={
                plain: [
                    {"PutRequest": {"Item": {"pk": {"S": f"filler-{number}"}, "payload": {"S": "x" * 100}}}}
                    for number in range(start, start + 25)
                ]
            }
        )
    threads_count, attempts = 8, 25
    committed = [0] * threads_count
    unexpected: list[BaseException] = []

    def writer(index: int) -> None:
        for attempt in range(attempts):
            current = dynamodb.get_item(TableName=plain, Key={"pk": {"S": "version"}}, ConsistentRead=True)
            version = int(current["Item"]["v"]["N"])
            try:
                # Optimistic concurrency, as enrich writes profiles: the version must still be the one read.
                dynamodb.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": plain,
                                "Item": {"pk": {"S": "version"}, "v": {"N": str(version + 1)}},
                                "ConditionExpression": "v = :read",
                                "ExpressionAttributeValues": {":read": {"N": str(version)}},
                            }
                        },
                        {
                            "Put": {
                                "TableName": ranged,
                                "Item": {"pk": {"S": "log"}, "sk": {"S": f"{version + 1:06d}"}},
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                        {
                            "Update": {
                                "TableName": plain,
                                "Key": {"pk": {"S": f"writer-{index}"}},
                                "UpdateExpression": "ADD commits :one",
                                "ExpressionAttributeValues": {":one": {"N": "1"}},
                            }
                        },
                    ]
                )
                committed[index] += 1
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    unexpected.append(error)
            except BaseException as error:  # any other failure is a defect of the emulator
                unexpected.append(error)
            del attempt

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert unexpected == []
    total = sum(committed)
    assert total > 0
    version = dynamodb.get_item(TableName=plain, Key={"pk": {"S": "version"}}, ConsistentRead=True)
    assert int(version["Item"]["v"]["N"]) == total
    log = dynamodb.scan(TableName=ranged, ConsistentRead=True)["Items"]
    writers_with_commits = sum(1 for count in committed if count)
    assert (
        dynamodb.describe_table(TableName=plain)["Table"]["ItemCount"]
        == FILLER_ITEMS + 1 + writers_with_commits
    )
    assert sorted(int(item["sk"]["S"]) for item in log) == list(range(1, total + 1))
    for index in range(threads_count):
        item = dynamodb.get_item(TableName=plain, Key={"pk": {"S": f"writer-{index}"}}, ConsistentRead=True)
        assert int(item.get("Item", {}).get("commits", {}).get("N", "0")) == committed[index]
