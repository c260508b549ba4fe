"""The emulator and stream pollers on a real moto server: records reach the consumer, in order."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from reviva.adapters.dynamodb.tables import VisitorItem
from reviva.aws_clients import client
from reviva.settings import load_settings
from reviva.topology import BUCKETS, StreamMappingSpec
from reviva_dev.local.emulator import Emulator
from reviva_dev.local.stream_poller import StreamPollers

pytestmark = pytest.mark.integration


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    emulated = Emulator(tmp_path / "data")
    emulated.start()
    yield emulated
    emulated.stop()


def wait_until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def put_events(kinesis: Any, stream: str, per_key: int, keys: list[str]) -> list[dict[str, Any]]:
    """Put `per_key` numbered events per key; returns them with the shard and sequence they got."""
    sent = [{"visitor": key, "n": n} for n in range(per_key) for key in keys]
    for start in range(0, len(sent), 100):
        chunk = sent[start : start + 100]
        response = kinesis.put_records(
            StreamName=stream,
            Records=[{"Data": json.dumps(item).encode(), "PartitionKey": item["visitor"]} for item in chunk],
        )
        assert response["FailedRecordCount"] == 0
        for item, result in zip(chunk, response["Records"], strict=True):
            item["shard"], item["sequence"] = result["ShardId"], int(result["SequenceNumber"])
    return sent


def pollers_for(
    emulator: Emulator,
    mapping: StreamMappingSpec,
    invoke: Callable[[dict[str, Any]], Any],
    on_failure: Callable[[dict[str, Any]], None],
) -> StreamPollers:
    settings = load_settings()
    assert emulator.resources is not None
    return StreamPollers(
        kinesis=client("kinesis", settings),
        stream_name=emulator.resources.streams[mapping.stream],
        mapping=mapping,
        invoke=invoke,
        on_failure=on_failure,
        region=settings.aws_region,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:reviva-enrich",
        invoke_identity_arn="arn:aws:iam::123456789012:role/reviva-enrich",
        poll_interval_seconds=0.05,
        cursor_overrides={"retry_base_delay_seconds": 0.01},
    )


def test_emulator_creates_the_stack_from_the_topology(emulator: Emulator, tmp_path: Path) -> None:
    resources = emulator.resources
    assert resources is not None
    settings = load_settings()
    assert settings.aws_endpoint_url == resources.endpoint_url
    assert resources.streams == {"events": settings.events_stream}
    assert set(resources.buckets) == {bucket.logical_name for bucket in BUCKETS}
    assert {"lake", "models", "athena-results"} <= set(resources.buckets)
    assert resources.buckets["lake"] == settings.lake_bucket
    assert os.environ["DEAD_LETTER_QUEUE_URL"] == resources.queue_urls["enrich-dead-letter"]
    assert settings.dead_letter_queue_url == resources.queue_urls["enrich-dead-letter"]
    assert os.environ["LAKE_CATALOG"] == "sql"
    assert settings.lake_catalog_uri == f"sqlite:///{(tmp_path / 'data').resolve() / 'catalog.db'}"
    assert os.environ["MOTO_PORT"] == resources.endpoint_url.rsplit(":", 1)[1]

    buckets = {b["Name"] for b in client("s3", settings).list_buckets()["Buckets"]}
    assert set(resources.buckets.values()) <= buckets
    tables = set(client("dynamodb", settings).list_tables()["TableNames"])
    assert set(resources.tables) <= tables
    VisitorItem(pk="a:1", sk="PROFILE").save()  # pynamodb is bound to the emulator
    assert VisitorItem.get("a:1", "PROFILE").pk == "a:1"


def test_the_lake_table_exists_before_the_first_event(emulator: Emulator) -> None:
    from reviva.adapters.lake.catalog import events_table_identifier, load_lake_catalog

    settings = load_settings()
    table = load_lake_catalog(settings).load_table(events_table_identifier(settings))
    assert table.scan().to_arrow().num_rows == 0


def test_moto_resolves_each_host_and_action_list_once_and_answers_the_same(emulator: Emulator) -> None:
    from moto.core import responses

    settings = load_settings()
    dispatcher = emulator._server._server.app
    lookup = dispatcher.get_backend_for_host
    before = lookup.cache_info()
    kinesis, dynamodb = client("kinesis", settings), client("dynamodb", settings)
    for _ in range(3):
        assert kinesis.list_streams()["StreamNames"] == [settings.events_stream]
        assert settings.visitors_table in dynamodb.list_tables()["TableNames"]
    after = lookup.cache_info()
    # Six requests, two hosts at most new: the rest are answered from the cache.
    assert after.hits - before.hits >= 4 and after.misses - before.misses <= 2
    assert lookup.__wrapped__("kinesis.us-east-1.amazonaws.com") == "kinesis"
    assert lookup("kinesis.us-east-1.amazonaws.com") == "kinesis"
    assert responses.method_names_from_class.cache_info().currsize >= 2  # type: ignore[attr-defined]


def test_emulator_restores_the_environment(tmp_path: Path) -> None:
    os.environ["AWS_ACCESS_KEY_ID"] = "outer"
    emulated = Emulator(tmp_path)
    emulated.start()
    assert os.environ["AWS_ACCESS_KEY_ID"] == "local" and "AWS_ENDPOINT_URL" in os.environ
    emulated.stop()
    assert os.environ["AWS_ACCESS_KEY_ID"] == "outer"
    assert "AWS_ENDPOINT_URL" not in os.environ and "DEAD_LETTER_QUEUE_URL" not in os.environ
    assert load_settings().aws_endpoint_url is None


def test_every_record_reaches_the_consumer_in_order_per_partition_key(emulator: Emulator) -> None:
    assert emulator.resources is not None
    seen: list[dict[str, Any]] = []
    event_ids: list[str] = []
    lock = threading.Lock()
    # A consumer built like ours: Powertools batch processing with partial failure reporting.
    processor = BatchProcessor(event_type=EventType.KinesisDataStreams)

    def record_handler(record: KinesisStreamRecord) -> None:
        with lock:
            seen.append(json.loads(record.kinesis.data_as_text()))
            event_ids.append(record.event_id)

    def invoke(event: dict[str, Any]) -> Any:
        return process_partial_response(event=event, record_handler=record_handler, processor=processor)

    mapping = StreamMappingSpec(
        stream="events", function="enrich", batch_size=25, max_batching_window_seconds=0
    )
    pollers = pollers_for(emulator, mapping, invoke, on_failure=lambda message: None)
    pollers.start()
    try:
        kinesis = client("kinesis", load_settings())
        keys = [f"a:visitor-{i}" for i in range(8)]
        sent = put_events(kinesis, emulator.resources.streams["events"], per_key=30, keys=keys)
        wait_until(lambda: len(seen) >= len(sent))
    finally:
        pollers.stop()

    assert len(seen) == len(sent)  # no redelivery when nothing fails
    by_key: dict[str, list[int]] = defaultdict(list)
    for item in seen:
        by_key[item["visitor"]].append(item["n"])
    assert by_key == {key: list(range(30)) for key in keys}
    assert all(event_id.startswith("shardId-") and ":" in event_id for event_id in event_ids)
    assert all(checkpoint is not None for checkpoint in pollers.checkpoints().values() if checkpoint)


def test_poison_record_goes_to_the_dead_letter_queue_and_the_shard_moves_on(emulator: Emulator) -> None:
    assert emulator.resources is not None
    settings = load_settings()
    sqs = client("sqs", settings)
    queue_url = emulator.resources.queue_urls["enrich-dead-letter"]
    delivered: list[tuple[str, int]] = []
    lock = threading.Lock()

    def invoke(event: dict[str, Any]) -> Any:
        processor = BatchProcessor(event_type=EventType.KinesisDataStreams)

        def record_handler(record: KinesisStreamRecord) -> None:
            item = json.loads(record.kinesis.data_as_text())
            if item["visitor"] == "a:poison" and item["n"] == 2:
                raise ValueError("poison")
            with lock:
                delivered.append((item["visitor"], item["n"]))

        return process_partial_response(event=event, record_handler=record_handler, processor=processor)

    def on_failure(message: dict[str, Any]) -> None:
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))

    mapping = StreamMappingSpec(
        stream="events",
        function="enrich",
        batch_size=10,
        max_batching_window_seconds=0,
        maximum_retry_attempts=2,
        bisect_batch_on_error=True,
    )
    pollers = pollers_for(emulator, mapping, invoke, on_failure)
    pollers.start()
    try:
        stream = emulator.resources.streams["events"]
        sent = put_events(client("kinesis", settings), stream, 5, ["a:poison", "a:healthy"])
        messages: list[dict[str, Any]] = []

        def dead_letter_arrived() -> bool:
            response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
            messages.extend(response.get("Messages", []))
            return bool(messages)

        wait_until(dead_letter_arrived)
        wait_until(lambda: ("a:healthy", 4) in delivered)
    finally:
        pollers.stop()

    assert len(messages) == 1
    failure = json.loads(messages[0]["Body"])
    info = failure["KinesisBatchInfo"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["streamArn"] == emulator.resources.stream_arns["events"]
    poison = next(item for item in sent if item["visitor"] == "a:poison" and item["n"] == 2)
    # Lambda gives up on the failed record and the rest of its batch, from the checkpoint on.
    assert info["shardId"] == poison["shard"]
    assert int(info["startSequenceNumber"]) == poison["sequence"]
    given_up = {
        (item["visitor"], item["n"])
        for item in sent
        if item["shard"] == info["shardId"]
        and int(info["startSequenceNumber"]) <= item["sequence"] <= int(info["endSequenceNumber"])
    }
    assert len(given_up) == info["batchSize"]
    # Everything else was delivered (records retried with the poison may be seen more than once:
    # at-least-once is the consumer's to de-duplicate); the shard moved on past the poison.
    expected = {(item["visitor"], item["n"]) for item in sent} - given_up
    assert expected <= set(delivered)
    other_shards = [(i["visitor"], i["n"]) for i in sent if i["shard"] != info["shardId"]]
    assert all(delivered.count(key) == 1 for key in other_shards)
    assert ("a:poison", 2) not in delivered and {("a:poison", 0), ("a:poison", 1)} <= set(delivered)


def test_an_idle_shard_is_polled_less_often_and_still_delivers(emulator: Emulator) -> None:
    assert emulator.resources is not None
    settings = load_settings()
    kinesis = client("kinesis", settings)
    polls: list[float] = []
    kinesis.meta.events.register("before-call.kinesis.GetRecords", lambda **_: polls.append(time.monotonic()))
    delivered: list[float] = []
    mapping = StreamMappingSpec(
        stream="events", function="enrich", batch_size=10, max_batching_window_seconds=0
    )
    pollers = StreamPollers(
        kinesis=kinesis,
        stream_name=emulator.resources.streams["events"],
        mapping=mapping,
        invoke=lambda event: delivered.extend(time.monotonic() for _ in event["Records"]),
        on_failure=lambda message: None,
        region=settings.aws_region,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:reviva-enrich",
        invoke_identity_arn="arn:aws:iam::123456789012:role/reviva-enrich",
        poll_interval_seconds=0.05,
        idle_poll_interval_seconds=0.8,
    )
    shards = len(pollers.pollers)
    pollers.start()
    try:
        time.sleep(3.0)
        idle_polls = len(polls)
        sent_at = time.monotonic()
        put_events(kinesis, emulator.resources.streams["events"], per_key=1, keys=["a:after-a-pause"])
        wait_until(lambda: bool(delivered))
    finally:
        pollers.stop()

    # At a fixed 0.05 s, 3 s idle would be 60 polls a shard; backing off to 0.8 s, at most ~8.
    assert idle_polls <= shards * 10
    # The first record after the pause waits at most one idle interval (plus a busy machine's slack).
    assert delivered[0] - sent_at < 0.8 + 1.5
    interval = pollers.pollers[0].wait_after_idle_steps
    assert [interval(steps) for steps in (0, 1, 2, 3, 4, 5, 50)] == [0.05, 0.05, 0.1, 0.2, 0.4, 0.8, 0.8]
