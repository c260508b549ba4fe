"""Consent records on DynamoDB (the `ConsentLedger` port of `reviva.privacy.ports`).

One item per record in the consents table: pk = the visitor key (a visitor without one, who
refused analytics before any id existed, under "NOKEY#<day>"), sk = "<recorded_at>#<record id>",
the record as JSON. Written with a condition that the item does not exist: a record is never
overwritten, and a retried request stores it once.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from reviva.privacy.consent_records import ConsentRecord

NO_KEY_PREFIX = "NOKEY#"


def _item_key(record: ConsentRecord) -> dict[str, dict[str, str]]:
    pk = record.visitor_key or f"{NO_KEY_PREFIX}{record.recorded_at.date().isoformat()}"
    return {"pk": {"S": pk}, "sk": {"S": f"{record.recorded_at.isoformat()}#{record.record_id}"}}


def _to_json(record: ConsentRecord) -> str:
    return json.dumps(
        {
            "record_id": record.record_id,
            "visitor_key": record.visitor_key,
            "anonymous_id": record.anonymous_id,
            "user_pseudonym": record.user_pseudonym,
            "policy_version": record.policy_version,
            "granted": list(record.granted),
            "refused": list(record.refused),
            "decided_at": record.decided_at.isoformat(),
            "recorded_at": record.recorded_at.isoformat(),
            "source": record.source,
        },
        separators=(",", ":"),
    )


def _from_json(text: str) -> ConsentRecord:
    data = json.loads(text)
    return ConsentRecord(
        record_id=data["record_id"],
        visitor_key=data["visitor_key"],
        anonymous_id=data["anonymous_id"],
        user_pseudonym=data["user_pseudonym"],
        policy_version=data["policy_version"],
        granted=tuple(data["granted"]),
        refused=tuple(data["refused"]),
        decided_at=datetime.fromisoformat(data["decided_at"]),
        recorded_at=datetime.fromisoformat(data["recorded_at"]),
        source=data["source"],
    )


class DynamoConsentLedger:
    """The append-only consent history in one DynamoDB table."""

    def __init__(self, dynamodb: Any, table_name: str) -> None:
        self._dynamodb = dynamodb
        self._table = table_name

    def append(self, record: ConsentRecord) -> None:
        """Put the record unless it is already there (a retried request)."""
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={**_item_key(record), "record": {"S": _to_json(record)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            return

    def history(self, visitor_key: str) -> list[ConsentRecord]:
        """Every record of the key, oldest first (all pages)."""
        records: list[ConsentRecord] = []
        start: dict[str, Any] | None = None
        while True:
            page = self._dynamodb.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": visitor_key}},
                **({"ExclusiveStartKey": start} if start else {}),
            )
            records.extend(_from_json(item["record"]["S"]) for item in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return records
