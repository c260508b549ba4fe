"""The on-failure destination on SQS (moto): pointers in, parsed; deleted once replayed."""

from __future__ import annotations

import json

from moto import mock_aws

from reviva.adapters.failed_batch_queue import SqsFailedBatchQueue
from reviva.aws_clients import client
from reviva.settings import load_settings


def test_pointers_are_received_parsed_and_deleted() -> None:
    with mock_aws():
        sqs = client("sqs", load_settings())
        url = sqs.create_queue(QueueName="reviva-enrich-dead-letter")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"KinesisBatchInfo": {"shardId": "s"}}))
        sqs.send_message(QueueUrl=url, MessageBody="not json")
        queue = SqsFailedBatchQueue(sqs, url)
        messages = queue.receive(10)
        assert sorted(m.body.get("KinesisBatchInfo", {}).get("shardId", "-") for m in messages) == ["-", "s"]
        for message in messages:
            queue.delete(message)
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == "0"
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
