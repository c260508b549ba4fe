"""Kinesis on the emulator: concurrent writers lose no record; reads answer as moto's own walk."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from reviva_dev.local.moto_kinesis import install_shard_locks, uninstall_shard_locks

pytestmark = pytest.mark.integration


def one_shard_stream(kinesis: Any) -> str:
    name = f"stream-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1})
    return name


def read_all(kinesis: Any, stream: str, iterator_kwargs: dict[str, Any], limit: int) -> list[Any]:
    """Every GetRecords answer from the iterator to the end: (sequence numbers, data) per page."""
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId="shardId-000000000000", **iterator_kwargs
    )["ShardIterator"]
    pages = []
    for _ in range(100):
        page = kinesis.get_records(ShardIterator=iterator, Limit=limit)
        pages.append([(record["SequenceNumber"], record["Data"]) for record in page["Records"]])
        iterator = page["NextShardIterator"]
        if not page["Records"]:
            break
    return pages


def test_concurrent_writers_lose_no_record(kinesis: Any) -> None:
    stream = one_shard_stream(kinesis)
    writers, requests_each, records_each = 16, 20, 10
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for request in range(requests_each):
                kinesis.put_records(
                    StreamName=stream,
                    Records=[
                        {"Data": f"{writer}-{request}-{n}".encode(), "PartitionKey": "one-visitor"}
                        for n in range(records_each)
                    ],
                )
        except BaseException as error:  # any failure is a defect of the emulator
            errors.append(error)

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    records = [
        record
        for page in read_all(kinesis, stream, {"ShardIteratorType": "TRIM_HORIZON"}, 500)
        for record in page
    ]
    sent = {
        f"{w}-{r}-{n}".encode()
        for w in range(writers)
        for r in range(requests_each)
        for n in range(records_each)
    }
    assert {data for _, data in records} == sent
    assert [int(number) for number, _ in records] == list(range(1, len(sent) + 1))


def test_reads_answer_as_moto_walking_the_shard(kinesis: Any) -> None:
    stream = one_shard_stream(kinesis)
    for start in range(0, 30, 7):
        kinesis.put_records(
            StreamName=stream,
            Records=[
                {"Data": str(n).encode(), "PartitionKey": "k"} for n in range(start, min(start + 7, 30))
            ],
        )
    readings = [
        ({"ShardIteratorType": "TRIM_HORIZON"}, 4),
        ({"ShardIteratorType": "TRIM_HORIZON"}, 10_000),
        ({"ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": "12"}, 5),
        ({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": "29"}, 5),
        ({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": "30"}, 5),
        ({"ShardIteratorType": "LATEST"}, 5),
    ]
    with_locks = [read_all(kinesis, stream, kwargs, limit) for kwargs, limit in readings]
    uninstall_shard_locks()
    try:
        moto_own = [read_all(kinesis, stream, kwargs, limit) for kwargs, limit in readings]
    finally:
        install_shard_locks()

    assert with_locks == moto_own
    assert [len(page) for page in with_locks[0]] == [4, 4, 4, 4, 4, 4, 4, 2, 0]
    assert with_locks[3][0] == [("30", b"29")]
