"""`reviva replay-failed --environment` against the real adapters (moto's Kinesis, SQS and DynamoDB,
a local lake)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from typer.testing import CliRunner

from reviva.adapters.dynamodb.tables import create_tables
from reviva.aws_clients import client
from reviva.composition import current_composition
from reviva.contracts.stream_envelope import encode_envelope, serialize_event
from reviva.settings import load_settings, reset_settings_cache
from reviva_dev.cli import app
from tests.enrich.builders import browse
from tests.local_lake import use_local_lake


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    use_local_lake(tmp_path, monkeypatch)
    with mock_aws():
        settings = load_settings()
        kinesis = client("kinesis", settings)
        kinesis.create_stream(StreamName=settings.events_stream, ShardCount=1)
        queue_url = client("sqs", settings).create_queue(QueueName="reviva-enrich-dead-letter")["QueueUrl"]
        monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", queue_url)
        reset_settings_cache()
        create_tables(load_settings())
        yield {"kinesis": kinesis, "queue_url": queue_url, "stream": settings.events_stream}
    reset_settings_cache()


def test_a_failed_batch_is_replayed_from_the_stream_once(stack: dict[str, Any]) -> None:
    kinesis, stream = stack["kinesis"], stack["stream"]
    events = browse("v1", 3)
    put = kinesis.put_record(
        StreamName=stream, PartitionKey="a:v1", Data=encode_envelope([serialize_event(e) for e in events])
    )
    description = kinesis.describe_stream(StreamName=stream)["StreamDescription"]
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    pointer = {
        "requestContext": {"condition": "RetryAttemptsExhausted"},
        "KinesisBatchInfo": {
            "shardId": put["ShardId"],
            "startSequenceNumber": put["SequenceNumber"],
            "endSequenceNumber": put["SequenceNumber"],
            "approximateArrivalOfFirstRecord": now,
            "approximateArrivalOfLastRecord": now,
            "batchSize": 1,
            "streamArn": description["StreamARN"],
        },
    }
    sqs = client("sqs", load_settings())
    sqs.send_message(QueueUrl=stack["queue_url"], MessageBody=json.dumps(pointer))

    dry = CliRunner().invoke(app, ["replay-failed", "--environment", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would_replay" in dry.output
    assert current_composition().visitors.load(["a:v1"]) == {}

    result = CliRunner().invoke(app, ["replay-failed", "--environment"])
    assert result.exit_code == 0, result.output
    assert "1 replayed" in result.output
    profile = current_composition().visitors.load(["a:v1"])["a:v1"].state.profile
    assert profile.total_page_views == 3

    # The pointer is gone, and a pointer delivered twice would change nothing either.
    sqs.send_message(QueueUrl=stack["queue_url"], MessageBody=json.dumps(pointer))
    again = CliRunner().invoke(app, ["replay-failed", "--environment"])
    assert again.exit_code == 0, again.output
    assert current_composition().visitors.load(["a:v1"])["a:v1"].state.profile.total_page_views == 3
    empty = CliRunner().invoke(app, ["replay-failed", "--environment"])
    assert "0 pointers" in empty.output


def test_without_the_queue_url_it_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEAD_LETTER_QUEUE_URL", raising=False)
    reset_settings_cache()
    result = CliRunner().invoke(app, ["replay-failed", "--environment"])
    assert result.exit_code == 2
    assert "DEAD_LETTER_QUEUE_URL is not set" in result.output
