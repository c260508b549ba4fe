"""The Kinesis consumer's checkpoint logic: what Lambda redelivers, splits and gives up on."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aws_lambda_powertools.utilities.parser.models import KinesisDataStreamModel
from hypothesis import given, settings
from hypothesis import strategies as st

from reviva_dev.local.stream_poller import (
    Discarded,
    InvocationOutcome,
    ShardCursor,
    StreamRecord,
    build_kinesis_event,
    interpret_response,
    on_failure_message,
)

SHARD = "shardId-000000000000"
STREAM_ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/reviva-events"


def records(count: int, start: int = 1, arrival: float = 1000.0) -> list[StreamRecord]:
    return [
        StreamRecord(SHARD, str(seq), f"visitor-{seq % 3}", f"record-{seq}".encode(), arrival + seq / 1000)
        for seq in range(start, start + count)
    ]


def cursor(**overrides: object) -> ShardCursor:
    options: dict[str, object] = {
        "batch_size": 10,
        "batching_window_seconds": 0.0,
        "bisect_on_error": False,
        "maximum_retry_attempts": 3,
        "maximum_record_age_seconds": -1,
        "retry_base_delay_seconds": 0.0,
    }
    options.update(overrides)
    return ShardCursor(**options)  # type: ignore[arg-type]


def sequences(batch: Sequence[StreamRecord]) -> list[int]:
    return [record.position for record in batch]


def failures(*sequence_numbers: int) -> dict[str, list[dict[str, str]]]:
    return {"batchItemFailures": [{"itemIdentifier": str(seq)} for seq in sequence_numbers]}


# --------------------------------------------------------------------------- responses


def test_empty_or_missing_failures_mean_success() -> None:
    batch = records(3)
    responses: tuple[object, ...] = (
        None,
        {},
        {"batchItemFailures": []},
        {"batchItemFailures": None},
        "ok",
        42,
    )
    for response in responses:
        outcome = interpret_response(response, batch, report_batch_item_failures=True)
        assert outcome.kind == "success", response


def test_partial_failure_points_at_the_lowest_failed_sequence() -> None:
    batch = records(5)
    outcome = interpret_response(failures(4, 2, 5), batch, report_batch_item_failures=True)
    assert outcome == InvocationOutcome("partial", first_failed_index=1, reason="partial batch failure")


def test_malformed_failures_fail_the_whole_batch() -> None:
    batch = records(3)
    for response in (
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"wrongKey": "1"}]},
        {"batchItemFailures": [{"itemIdentifier": "999"}]},
        {"batchItemFailures": "2"},
    ):
        assert interpret_response(response, batch, report_batch_item_failures=True).kind == "error", response


def test_failures_are_ignored_without_report_batch_item_failures() -> None:
    outcome = interpret_response(failures(1), records(3), report_batch_item_failures=False)
    assert outcome.kind == "success"


# --------------------------------------------------------------------------- batching


def test_batches_respect_the_batch_size_and_checkpoint_in_order() -> None:
    shard = cursor(batch_size=10)
    shard.add(records(25), now=0)
    delivered: list[list[int]] = []
    while shard.ready(0):
        batch = shard.next_batch()
        delivered.append(sequences(batch))
        shard.complete(batch, InvocationOutcome.success(), now=0)
    assert delivered == [list(range(1, 11)), list(range(11, 21)), list(range(21, 26))]
    assert shard.checkpoint == "25" and shard.pending == []


def test_batching_window_waits_for_a_full_batch() -> None:
    shard = cursor(batch_size=10, batching_window_seconds=1.0)
    shard.add(records(3), now=100.0)
    assert not shard.ready(100.5)
    assert shard.ready(101.0)
    shard.add(records(7, start=4), now=100.6)
    assert shard.ready(100.6)  # full batch: no need to wait
    assert sequences(shard.next_batch()) == list(range(1, 11))


def test_payload_limit_cuts_a_batch() -> None:
    shard = cursor(batch_size=100, max_payload_bytes=5000)
    shard.add([StreamRecord(SHARD, str(i), "k", b"x" * 1500, 0.0) for i in range(1, 11)], now=0)
    batch = shard.next_batch()
    assert 1 <= len(batch) < 10
    assert sum((len(r.data) + 2) // 3 * 4 + 512 for r in batch) <= 5000


# --------------------------------------------------------------------------- failures


def test_partial_failure_redelivers_from_the_lowest_failed_record() -> None:
    shard = cursor(batch_size=10)
    shard.add(records(15), now=0)
    batch = shard.next_batch()
    outcome = interpret_response(failures(7, 4), batch, report_batch_item_failures=True)
    assert shard.complete(batch, outcome, now=0) is None
    assert shard.checkpoint == "3"
    retry = shard.next_batch()
    # The failed record and everything after it, up to the batch size.
    assert sequences(retry) == list(range(4, 14))
    assert shard.failed_attempts == 1


def test_exception_retries_the_whole_batch_after_a_backoff() -> None:
    shard = cursor(batch_size=5, retry_base_delay_seconds=0.5)
    shard.add(records(8), now=0)
    batch = shard.next_batch()
    shard.complete(batch, InvocationOutcome.error("boom"), now=10.0)
    assert shard.checkpoint is None
    assert not shard.ready(10.2)
    assert shard.ready(10.5)
    assert sequences(shard.next_batch()) == [1, 2, 3, 4, 5]
    shard.complete(shard.next_batch(), InvocationOutcome.error("boom"), now=11.0)
    assert not shard.ready(11.9)  # exponential: 0.5, then 1.0
    assert shard.ready(12.0)


def test_bisect_splits_a_failed_batch_in_halves_and_retries_each() -> None:
    shard = cursor(batch_size=10, bisect_on_error=True, maximum_retry_attempts=0)
    shard.add(records(14), now=0)
    first = shard.next_batch()
    assert shard.complete(first, InvocationOutcome.error("boom"), now=0) is None
    assert shard.ready(0)
    left = shard.next_batch()
    assert sequences(left) == [1, 2, 3, 4, 5]
    shard.complete(left, InvocationOutcome.success(), now=0)
    right = shard.next_batch()
    assert sequences(right) == [6, 7, 8, 9, 10]
    shard.complete(right, InvocationOutcome.success(), now=0)
    # Back to full batches after both halves.
    assert sequences(shard.next_batch()) == [11, 12, 13, 14]


def test_bisect_isolates_a_poison_record_without_spending_retries() -> None:
    shard = cursor(batch_size=8, bisect_on_error=True, maximum_retry_attempts=0)
    shard.add(records(8), now=0)
    result = drive(shard, lambda batch: InvocationOutcome.error("poison") if 6 in sequences(batch) else None)
    assert [sequences(d.records) for d in result.discarded] == [[6]]
    assert result.discarded[0].condition == "RetryAttemptsExhausted"
    assert result.confirmed == [1, 2, 3, 4, 5, 7, 8]
    # 8 fails → halves 4+4; the right half fails → 2+2; [5, 6] fails → 1+1; [6] alone spends the
    # (zero) retries and is discarded; the remaining half [7, 8] follows.
    assert result.batches == [list(range(1, 9)), [1, 2, 3, 4], [5, 6, 7, 8], [5, 6], [5], [6], [7, 8]]


def test_retries_exhausted_sends_the_batch_on_and_progress_continues() -> None:
    shard = cursor(batch_size=4, maximum_retry_attempts=2)
    shard.add(records(6), now=0)
    calls: list[list[int]] = []

    def handler(batch: list[StreamRecord]) -> InvocationOutcome | None:
        calls.append(sequences(batch))
        return InvocationOutcome.error("boom") if 1 in sequences(batch) else None

    result = drive(shard, handler)
    assert calls[:3] == [[1, 2, 3, 4]] * 3  # first try + 2 retries
    assert len(result.discarded) == 1
    discarded = result.discarded[0]
    assert sequences(discarded.records) == [1, 2, 3, 4]
    assert discarded.invoke_count == 3 and discarded.function_error == "Unhandled"
    assert calls[3] == [5, 6] and result.confirmed == [5, 6]
    assert shard.checkpoint == "6"


def test_partial_failure_retries_exhausted_discards_the_failed_tail_only() -> None:
    shard = cursor(batch_size=5, maximum_retry_attempts=1, bisect_on_error=True)
    shard.add(records(7), now=0)

    def handler(batch: list[StreamRecord]) -> dict[str, list[dict[str, str]]] | None:
        return failures(3) if 3 in sequences(batch) else None

    result = drive(shard, handler)
    assert [sequences(d.records) for d in result.discarded] == [[3, 4, 5]]
    assert result.confirmed == [1, 2, 6, 7]
    assert result.batches[:3] == [[1, 2, 3, 4, 5], [3, 4, 5], [6, 7]]


def test_expired_records_are_discarded_with_record_age_exceeded() -> None:
    shard = cursor(maximum_record_age_seconds=60)
    shard.add(records(3, arrival=0.0) + records(2, start=4, arrival=100.0), now=100.0)
    expired = shard.take_expired(now=100.0)
    assert expired is not None and sequences(expired.records) == [1, 2, 3]
    assert expired.condition == "RecordAgeExceeded"
    assert shard.checkpoint == "3" and sequences(shard.pending) == [4, 5]
    assert shard.take_expired(now=100.0) is None


def test_unlimited_age_never_expires() -> None:
    shard = cursor(maximum_record_age_seconds=-1)
    shard.add(records(2, arrival=0.0), now=1e9)
    assert shard.take_expired(now=1e9) is None


# --------------------------------------------------------------------------- events and messages


def test_kinesis_event_is_what_lambda_sends() -> None:
    batch = records(2)
    event = build_kinesis_event(
        batch,
        stream_arn=STREAM_ARN,
        region="us-east-1",
        invoke_identity_arn="arn:aws:iam::123456789012:role/reviva-enrich",
    )
    parsed = KinesisDataStreamModel.model_validate(event)
    assert [r.kinesis.data for r in parsed.Records] == [b"record-1", b"record-2"]
    first = event["Records"][0]
    assert first["eventID"] == f"{SHARD}:1"
    assert first["kinesis"]["sequenceNumber"] == "1"
    assert base64.b64decode(first["kinesis"]["data"]) == b"record-1"
    assert first["eventSource"] == "aws:kinesis" and first["eventName"] == "aws:kinesis:record"
    assert first["kinesis"]["kinesisSchemaVersion"] == "1.0"
    assert isinstance(first["kinesis"]["approximateArrivalTimestamp"], float)


def test_on_failure_message_has_lambdas_shape() -> None:
    discarded = Discarded(tuple(records(3)), "RetryAttemptsExhausted", 4, "Unhandled")
    message = on_failure_message(
        discarded,
        stream_arn=STREAM_ARN,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:reviva-enrich",
        now=1_700_000_000.0,
    )
    assert message["version"] == "1.0"
    assert message["timestamp"] == "2023-11-14T22:13:20.000Z"
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 4
    assert message["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert message["KinesisBatchInfo"] == {
        "shardId": SHARD,
        "startSequenceNumber": "1",
        "endSequenceNumber": "3",
        "approximateArrivalOfFirstRecord": "1970-01-01T00:16:40.001Z",
        "approximateArrivalOfLastRecord": "1970-01-01T00:16:40.003Z",
        "batchSize": 3,
        "streamArn": STREAM_ARN,
    }


# --------------------------------------------------------------------------- the invariant


@dataclass
class DriveResult:
    batches: list[list[int]] = field(default_factory=list)
    confirmed: list[int] = field(default_factory=list)
    discarded: list[Discarded] = field(default_factory=list)


def drive(
    shard: ShardCursor,
    handler: Callable[[list[StreamRecord]], object],
    max_steps: int = 10_000,
) -> DriveResult:
    """Run a cursor to the end like the poller does, with a clock that jumps past every backoff."""
    result = DriveResult()
    now = 0.0
    for _ in range(max_steps):
        if not shard.pending:
            return result
        now += 10.0
        expired = shard.take_expired(now)
        if expired:
            result.discarded.append(expired)
        if not shard.ready(now):
            continue
        batch = shard.next_batch()
        result.batches.append(sequences(batch))
        response = handler(batch)
        outcome = (
            response
            if isinstance(response, InvocationOutcome)
            else interpret_response(response, batch, report_batch_item_failures=True)
        )
        if outcome.kind == "success":
            result.confirmed.extend(sequences(batch))
        elif outcome.kind == "partial":
            result.confirmed.extend(sequences(batch[: outcome.first_failed_index]))
        discarded = shard.complete(batch, outcome, now)
        if discarded:
            result.discarded.append(discarded)
    raise AssertionError("the cursor did not drain")


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=40),
    batch_size=st.integers(min_value=1, max_value=12),
    bisect=st.booleans(),
    max_retries=st.integers(min_value=0, max_value=3),
    script=st.lists(
        st.one_of(st.just("ok"), st.just("error"), st.integers(min_value=0, max_value=11)), max_size=30
    ),
)
def test_every_record_is_confirmed_or_discarded_exactly_once_in_order(
    count: int, batch_size: int, bisect: bool, max_retries: int, script: list[object]
) -> None:
    """Whatever the handler does, the shard advances in order and never skips or repeats a record.

    Each invocation takes the next scripted outcome ("ok", "error", or a partial failure at an
    index); once the script is used up, the handler succeeds.
    """
    shard = cursor(batch_size=batch_size, bisect_on_error=bisect, maximum_retry_attempts=max_retries)
    shard.add(records(count), now=0)
    steps = iter(script)

    def handler(batch: list[StreamRecord]) -> object:
        step = next(steps, "ok")
        if step == "error":
            return InvocationOutcome.error("scripted")
        if isinstance(step, int):
            return failures(batch[min(step, len(batch) - 1)].position)
        return None

    result = drive(shard, handler)
    discarded = [s for d in result.discarded for s in sequences(d.records)]
    # Confirmed and discarded records partition the input, each exactly once, in shard order.
    assert sorted(result.confirmed + discarded) == list(range(1, count + 1))
    assert result.confirmed == sorted(result.confirmed)
    assert len(set(result.confirmed)) == len(result.confirmed)
    # Every batch starts right after the checkpoint: a contiguous run of sequence numbers.
    for batch in result.batches:
        assert batch == list(range(batch[0], batch[0] + len(batch)))
        assert len(batch) <= batch_size
    assert shard.checkpoint == str(count)
