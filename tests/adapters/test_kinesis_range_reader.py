"""Reading a failed batch's records back from Kinesis (moto), by sequence range."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from reviva.adapters.kinesis_range_reader import KinesisRangeReader, stream_name_of
from reviva.aws_clients import client
from reviva.settings import load_settings


@pytest.fixture
def kinesis() -> Iterator[Any]:
    with mock_aws():
        kinesis = client("kinesis", load_settings())
        kinesis.create_stream(StreamName="reviva-events", ShardCount=1)
        yield kinesis


def test_the_range_is_read_inclusive_and_nothing_beyond_it(kinesis: Any) -> None:
    sequences = [
        kinesis.put_record(StreamName="reviva-events", Data=f"r{i}".encode(), PartitionKey="a:v")[
            "SequenceNumber"
        ]
        for i in range(6)
    ]
    description = kinesis.describe_stream(StreamName="reviva-events")["StreamDescription"]
    arn, shard = description["StreamARN"], description["Shards"][0]["ShardId"]
    records = KinesisRangeReader(kinesis).read_range(arn, shard, sequences[1], sequences[4])
    assert [r.data for r in records] == [b"r1", b"r2", b"r3", b"r4"]
    assert [r.sequence_number for r in records] == sequences[1:5]
    assert {(r.shard_id, r.partition_key) for r in records} == {(shard, "a:v")}


def test_a_range_the_stream_does_not_know_reads_as_gone(kinesis: Any) -> None:
    description = kinesis.describe_stream(StreamName="reviva-events")["StreamDescription"]
    arn = description["StreamARN"]
    assert KinesisRangeReader(kinesis).read_range(arn, "shardId-000000000009", "1", "2") == []


def test_the_stream_name_comes_from_its_arn() -> None:
    assert stream_name_of("arn:aws:kinesis:us-east-1:123456789012:stream/reviva-events") == "reviva-events"
