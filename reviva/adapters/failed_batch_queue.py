"""The enrich mapping's on-failure destination (SQS) as the replay reads it (`FailedBatchQueue`)."""

from __future__ import annotations

import json
import logging
from typing import Any

from reviva.enrich.ports import FailureMessage

logger = logging.getLogger(__name__)

# Long enough for a replay of one batch (read back from the stream, enriched, written).
VISIBILITY_TIMEOUT_SECONDS = 300


class SqsFailedBatchQueue:
    """Pointers Lambda left in the queue; an unreadable message is handed over with an empty body."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._queue_url = queue_url

    def receive(self, max_messages: int) -> list[FailureMessage]:
        """Up to `max_messages` (at most 10, SQS' limit) pointers, hidden from others while replayed."""
        answer = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=max(1, min(10, max_messages)),
            VisibilityTimeout=VISIBILITY_TIMEOUT_SECONDS,
            WaitTimeSeconds=1,
        )
        messages = []
        for raw in answer.get("Messages", []):
            try:
                body = json.loads(raw.get("Body") or "")
            except ValueError:
                body = None
            messages.append(
                FailureMessage(
                    id=raw["MessageId"],
                    body=body if isinstance(body, dict) else {},
                    receipt=raw["ReceiptHandle"],
                )
            )
        return messages

    def delete(self, message: FailureMessage) -> None:
        """Remove a replayed pointer."""
        self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message.receipt)

    def release(self, message: FailureMessage) -> None:
        """Make a kept pointer visible again now rather than after the visibility timeout."""
        self._sqs.change_message_visibility(
            QueueUrl=self._queue_url, ReceiptHandle=message.receipt, VisibilityTimeout=0
        )
