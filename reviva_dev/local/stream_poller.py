"""Kinesis → consumer function, the way Lambda's event source mapping does it.

moto never runs our handler code, so the local runtime polls the stream itself and invokes the
consumer with the real Kinesis trigger event. Exactly-once on the infrastructure side depends on
redelivering exactly what Lambda would redeliver, so the checkpoint logic lives in small pure
pieces (`interpret_response`, `ShardCursor`, `on_failure_message`) that the tests drive directly;
`ShardPoller` only moves records between Kinesis, the cursor and the handler.

Semantics reproduced (AWS Lambda, Kinesis event source mapping):
- batches of at most `batch_size` records (and ~6 MB of payload), waiting up to the batching window
  for a full batch;
- `ReportBatchItemFailures`: a `batchItemFailures` list checkpoints before the lowest failed
  sequence number and redelivers from it (the failed record and everything after it); an empty or
  missing list is success; a malformed entry or an unknown sequence number fails the whole batch;
- a raised exception fails the whole batch;
- `bisect_batch_on_error`: a failed batch is split in halves, each retried in turn; splitting does
  not count towards the retry quota;
- `maximum_retry_attempts` (-1 = until the record expires): then the batch's description goes to
  the on-failure destination and the shard moves past it;
- `maximum_record_age_seconds` (-1 = never): older records are discarded the same way.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from reviva.topology import StreamMappingSpec

logger = logging.getLogger("reviva_dev.local.stream")

# Lambda's synchronous invocation payload limit; Kinesis batches are cut to fit it.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# Rough size of one record's envelope in the event, besides its base64 data.
_RECORD_OVERHEAD_BYTES = 512
# The longest wait between GetRecords on an idle shard: Lambda's own poller reads an idle shard
# about once a second, so a developer's first event after a pause waits no longer than in AWS.
IDLE_POLL_INTERVAL_SECONDS = 1.0

KinesisEvent = dict[str, Any]
Invoke = Callable[[KinesisEvent], Any]
OnFailure = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class StreamRecord:
    """One Kinesis record as GetRecords returned it."""

    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes
    approximate_arrival: float  # epoch seconds

    @property
    def position(self) -> int:
        """Sequence numbers are decimal strings of arbitrary length: compare them as integers."""
        return int(self.sequence_number)


def build_kinesis_event(
    records: Sequence[StreamRecord],
    *,
    stream_arn: str,
    region: str,
    invoke_identity_arn: str,
) -> KinesisEvent:
    """The event Lambda passes to a Kinesis consumer for `records` (all from one shard)."""
    return {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": record.partition_key,
                    "sequenceNumber": record.sequence_number,
                    "data": base64.b64encode(record.data).decode("ascii"),
                    "approximateArrivalTimestamp": record.approximate_arrival,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{record.shard_id}:{record.sequence_number}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": invoke_identity_arn,
                "awsRegion": region,
                "eventSourceARN": stream_arn,
            }
            for record in records
        ]
    }


@dataclass(frozen=True)
class InvocationOutcome:
    """How one invocation ended, as Lambda's poller understands it."""

    kind: Literal["success", "partial", "error"]
    # For "partial": index in the batch of the record with the lowest failed sequence number.
    first_failed_index: int | None = None
    reason: str = ""

    @classmethod
    def success(cls) -> InvocationOutcome:
        return cls("success")

    @classmethod
    def error(cls, reason: str) -> InvocationOutcome:
        return cls("error", reason=reason)


def interpret_response(
    response: Any, batch: Sequence[StreamRecord], *, report_batch_item_failures: bool
) -> InvocationOutcome:
    """Classify a handler's return value exactly like Lambda does for Kinesis.

    Without `ReportBatchItemFailures` the return value is ignored. With it: no response, no
    `batchItemFailures` key, or an empty list means success; an entry whose `itemIdentifier` is
    missing, empty, not a string or not a sequence number of this batch fails the whole batch;
    otherwise the batch is checkpointed before the lowest failed sequence number.
    """
    if not report_batch_item_failures or response is None:
        return InvocationOutcome.success()
    if not isinstance(response, dict):
        # Lambda only reads the field from a JSON object; anything else carries no failures.
        return InvocationOutcome.success()
    failures = response.get("batchItemFailures")
    if failures is None or failures == []:
        return InvocationOutcome.success()
    if not isinstance(failures, list):
        return InvocationOutcome.error("batchItemFailures is not a list")
    index_by_sequence = {record.sequence_number: index for index, record in enumerate(batch)}
    failed_indexes: list[int] = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or not identifier:
            return InvocationOutcome.error("batchItemFailures entry without an itemIdentifier")
        if identifier not in index_by_sequence:
            return InvocationOutcome.error(f"itemIdentifier {identifier!r} is not in the batch")
        failed_indexes.append(index_by_sequence[identifier])
    return InvocationOutcome(
        "partial", first_failed_index=min(failed_indexes), reason="partial batch failure"
    )


@dataclass(frozen=True)
class Discarded:
    """Records the shard moved past without a successful invocation."""

    records: tuple[StreamRecord, ...]
    condition: Literal["RetryAttemptsExhausted", "RecordAgeExceeded"]
    invoke_count: int
    function_error: str | None


@dataclass
class ShardCursor:
    """The checkpoint state of one shard: what is delivered next, and what happens on failure.

    `pending` holds the records fetched from the shard and not yet checkpointed, oldest first;
    the next batch always starts at its head. Pure: every decision takes `now` as an argument.
    """

    batch_size: int
    batching_window_seconds: float
    bisect_on_error: bool
    maximum_retry_attempts: int  # -1 = unlimited
    maximum_record_age_seconds: int  # -1 = unlimited
    retry_base_delay_seconds: float = 0.1
    retry_max_delay_seconds: float = 2.0
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    pending: list[StreamRecord] = field(default_factory=list)
    checkpoint: str | None = None  # last sequence number checkpointed (processed or discarded)
    # Sizes of the next batches after a bisect, front first; empty = full batches.
    bisect_plan: list[int] = field(default_factory=list)
    # Consecutive failed invocations whose batch started at the current head record.
    failed_attempts: int = 0
    # Invocations so far of the batch starting at the head (reported in on-failure records).
    invoke_count: int = 0
    _waiting_since: float | None = None
    _retry_not_before: float = 0.0

    @classmethod
    def for_mapping(cls, mapping: StreamMappingSpec, **overrides: Any) -> ShardCursor:
        """A cursor configured from the topology's stream mapping."""
        return cls(
            batch_size=mapping.batch_size,
            batching_window_seconds=mapping.max_batching_window_seconds,
            bisect_on_error=mapping.bisect_batch_on_error,
            maximum_retry_attempts=mapping.maximum_retry_attempts,
            maximum_record_age_seconds=mapping.maximum_record_age_seconds,
            **overrides,
        )

    def add(self, records: Sequence[StreamRecord], now: float) -> None:
        """Append freshly fetched records (in shard order)."""
        if records and not self.pending:
            self._waiting_since = now
        self.pending.extend(records)

    def take_expired(self, now: float) -> Discarded | None:
        """Drop head records older than the maximum record age; they go to the on-failure queue."""
        if self.maximum_record_age_seconds < 0:
            return None
        expired: list[StreamRecord] = []
        for record in self.pending:
            if now - record.approximate_arrival <= self.maximum_record_age_seconds:
                break
            expired.append(record)
        if not expired:
            return None
        discarded = Discarded(tuple(expired), "RecordAgeExceeded", self.invoke_count, None)
        self._advance(len(expired), now)
        self.bisect_plan.clear()
        self._reset_attempts()
        return discarded

    def ready(self, now: float) -> bool:
        """Whether a batch should be delivered now (full, window elapsed, or a retry is due)."""
        if not self.pending:
            return False
        if self.failed_attempts or self.bisect_plan or self.invoke_count:
            return now >= self._retry_not_before
        if len(self.pending) >= self.batch_size:
            return True
        waited = now - (self._waiting_since if self._waiting_since is not None else now)
        return waited >= self.batching_window_seconds

    def next_batch(self) -> list[StreamRecord]:
        """The records of the next invocation: from the head, within size, plan and payload limits."""
        limit = self.bisect_plan[0] if self.bisect_plan else self.batch_size
        batch: list[StreamRecord] = []
        payload = 0
        for record in self.pending[:limit]:
            size = (len(record.data) + 2) // 3 * 4 + _RECORD_OVERHEAD_BYTES
            if batch and payload + size > self.max_payload_bytes:
                break
            batch.append(record)
            payload += size
        return batch

    def complete(
        self, batch: Sequence[StreamRecord], outcome: InvocationOutcome, now: float
    ) -> Discarded | None:
        """Apply an invocation's outcome; returns what retries exhausted made the shard skip."""
        if not batch or batch[0] is not self.pending[0]:
            raise ValueError("a batch must start at the head of the pending records")
        self.invoke_count += 1
        if outcome.kind == "success":
            self._advance(len(batch), now)
            if self.bisect_plan:
                self.bisect_plan.pop(0)
            self._reset_attempts()
            return None

        if outcome.kind == "partial":
            done = outcome.first_failed_index or 0
            remaining = len(batch) - done
            if done:
                # Progress: the records before the failure are checkpointed; the failed record is
                # the new head and has failed once.
                self._advance(done, now)
                self._reset_attempts()
                self.invoke_count = 1
            self.failed_attempts += 1
            if self.bisect_on_error:
                # Lambda "bisects at the returned sequence number": only the rest is retried.
                if self.bisect_plan:
                    self.bisect_plan[0] = remaining
                else:
                    self.bisect_plan.append(remaining)
            retried = batch[done:]
        else:
            retried = list(batch)
            if self.bisect_on_error and len(batch) > 1:
                first_half = (len(batch) + 1) // 2
                halves = [first_half, len(batch) - first_half]
                self.bisect_plan[:1] = halves
                # Splitting does not count towards the retry quota, and is retried at once.
                self._retry_not_before = now
                return None
            self.failed_attempts += 1

        if 0 <= self.maximum_retry_attempts < self.failed_attempts:
            discarded = Discarded(
                tuple(retried),
                "RetryAttemptsExhausted",
                self.invoke_count,
                "Unhandled" if outcome.kind == "error" else None,
            )
            self._advance(len(retried), now)
            if self.bisect_plan:
                self.bisect_plan.pop(0)
            self._reset_attempts()
            return discarded

        delay = self.retry_base_delay_seconds * (2 ** (self.failed_attempts - 1))
        self._retry_not_before = now + min(delay, self.retry_max_delay_seconds)
        return None

    def _advance(self, count: int, now: float) -> None:
        self.checkpoint = self.pending[count - 1].sequence_number
        del self.pending[:count]
        # Records left over were fetched earlier: they have waited long enough already.
        self._waiting_since = now if not self.pending else min(self._waiting_since or now, now)

    def _reset_attempts(self) -> None:
        self.failed_attempts = 0
        self.invoke_count = 0
        self._retry_not_before = 0.0


def _iso(epoch_seconds: float) -> str:
    return (
        datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def on_failure_message(
    discarded: Discarded,
    *,
    stream_arn: str,
    function_arn: str,
    now: float,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The record Lambda sends to a Kinesis mapping's on-failure destination (SQS)."""
    records = discarded.records
    response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if discarded.function_error:
        response_context["functionError"] = discarded.function_error
    return {
        "requestContext": {
            "requestId": request_id or str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": discarded.condition,
            "approximateInvokeCount": discarded.invoke_count,
        },
        "responseContext": response_context,
        "version": "1.0",
        "timestamp": _iso(now),
        "KinesisBatchInfo": {
            "shardId": records[0].shard_id,
            "startSequenceNumber": records[0].sequence_number,
            "endSequenceNumber": records[-1].sequence_number,
            "approximateArrivalOfFirstRecord": _iso(records[0].approximate_arrival),
            "approximateArrivalOfLastRecord": _iso(records[-1].approximate_arrival),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def _arrival_seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


class ShardPoller(threading.Thread):
    """One shard's consumer: GetRecords into a `ShardCursor`, invoke, checkpoint, repeat."""

    def __init__(
        self,
        *,
        kinesis: Any,
        stream_name: str,
        stream_arn: str,
        shard_id: str,
        mapping: StreamMappingSpec,
        invoke: Invoke,
        on_failure: OnFailure,
        region: str,
        function_arn: str,
        invoke_identity_arn: str,
        poll_interval_seconds: float = 0.15,
        idle_poll_interval_seconds: float = IDLE_POLL_INTERVAL_SECONDS,
        cursor: ShardCursor | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name=f"kinesis-poller-{shard_id}", daemon=True)
        self.kinesis = kinesis
        self.stream_name = stream_name
        self.stream_arn = stream_arn
        self.shard_id = shard_id
        self.mapping = mapping
        self.invoke = invoke
        self.on_failure = on_failure
        self.region = region
        self.function_arn = function_arn
        self.invoke_identity_arn = invoke_identity_arn
        self.poll_interval_seconds = poll_interval_seconds
        self.idle_poll_interval_seconds = max(idle_poll_interval_seconds, poll_interval_seconds)
        self.cursor = cursor or ShardCursor.for_mapping(mapping)
        self.clock = clock
        self.invocations = 0
        self._stop_requested = threading.Event()
        self._iterator: str | None = None
        self._last_fetched: str | None = None
        # Read ahead at most this many records while the consumer is busy or failing.
        self._buffer_limit = max(10 * mapping.batch_size, 1000)

    def stop(self, timeout: float | None = 5.0) -> None:
        """Ask the thread to finish its current step and wait for it."""
        self._stop_requested.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    def run(self) -> None:
        idle_steps = 0
        while not self._stop_requested.is_set():
            try:
                busy = self.step()
            except Exception:  # keep polling: a transient emulator error must not kill the shard
                logger.exception("poller for %s failed a step", self.shard_id)
                busy = False
            if busy:
                idle_steps = 0
                continue
            # Records waiting (for the batching window or a retry) keep the short interval.
            idle_steps = 0 if self.cursor.pending else idle_steps + 1
            self._stop_requested.wait(self.wait_after_idle_steps(idle_steps))

    def wait_after_idle_steps(self, idle_steps: int) -> float:
        """Seconds to wait before the next GetRecords after `idle_steps` empty polls in a row.

        The interval doubles with each empty poll, from `poll_interval_seconds` up to
        `idle_poll_interval_seconds`: an idle `reviva dev` then costs a few GetRecords a second
        instead of 27, and a shard that has records is polled at the short interval again.
        """
        if idle_steps <= 1:
            return self.poll_interval_seconds
        return min(self.poll_interval_seconds * 2 ** (idle_steps - 1), self.idle_poll_interval_seconds)

    def step(self) -> bool:
        """Fetch, deliver at most one batch; returns whether there is more work right away."""
        fetched = self._fetch()
        now = self.clock()
        expired = self.cursor.take_expired(now)
        if expired:
            self._send_on_failure(expired, now)
        if not self.cursor.ready(now):
            return fetched
        batch = self.cursor.next_batch()
        event = build_kinesis_event(
            batch,
            stream_arn=self.stream_arn,
            region=self.region,
            invoke_identity_arn=self.invoke_identity_arn,
        )
        self.invocations += 1
        try:
            response = self.invoke(event)
            outcome = interpret_response(
                response, batch, report_batch_item_failures=self.mapping.report_batch_item_failures
            )
        except Exception as error:  # the function failed: the whole batch is retried
            logger.warning("%s failed on %s: %r", self.mapping.function, self.shard_id, error)
            outcome = InvocationOutcome.error(repr(error))
        discarded = self.cursor.complete(batch, outcome, self.clock())
        if discarded:
            self._send_on_failure(discarded, self.clock())
        return True

    def _fetch(self) -> bool:
        if len(self.cursor.pending) >= self._buffer_limit:
            return False
        if self._iterator is None:
            self._iterator = self._new_iterator()
        try:
            response = self.kinesis.get_records(ShardIterator=self._iterator, Limit=10_000)
        except self.kinesis.exceptions.ExpiredIteratorException:
            self._iterator = None
            return True
        self._iterator = response.get("NextShardIterator")
        records = [
            StreamRecord(
                shard_id=self.shard_id,
                sequence_number=raw["SequenceNumber"],
                partition_key=raw["PartitionKey"],
                data=raw["Data"],
                approximate_arrival=_arrival_seconds(raw["ApproximateArrivalTimestamp"]),
            )
            for raw in response.get("Records", [])
        ]
        if records:
            self._last_fetched = records[-1].sequence_number
            self.cursor.add(records, self.clock())
        return bool(records) and bool(response.get("MillisBehindLatest"))

    def _new_iterator(self) -> str:
        if self._last_fetched is not None:
            kwargs: dict[str, Any] = {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "StartingSequenceNumber": self._last_fetched,
            }
        else:
            kwargs = {"ShardIteratorType": self.mapping.starting_position}
        response = self.kinesis.get_shard_iterator(
            StreamName=self.stream_name, ShardId=self.shard_id, **kwargs
        )
        return str(response["ShardIterator"])

    def _send_on_failure(self, discarded: Discarded, now: float) -> None:
        message = on_failure_message(
            discarded, stream_arn=self.stream_arn, function_arn=self.function_arn, now=now
        )
        logger.warning(
            "%s: %d record(s) of %s sent to the on-failure destination (%s)",
            self.mapping.function,
            len(discarded.records),
            self.shard_id,
            discarded.condition,
        )
        self.on_failure(message)


class StreamPollers:
    """All shard pollers of one stream mapping, started and stopped together."""

    def __init__(
        self,
        *,
        kinesis: Any,
        stream_name: str,
        mapping: StreamMappingSpec,
        invoke: Invoke,
        on_failure: OnFailure,
        region: str,
        function_arn: str,
        invoke_identity_arn: str,
        poll_interval_seconds: float = 0.15,
        idle_poll_interval_seconds: float = IDLE_POLL_INTERVAL_SECONDS,
        cursor_overrides: dict[str, Any] | None = None,
    ) -> None:
        summary = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]
        self.stream_arn: str = summary["StreamARN"]
        shard_ids = [shard["ShardId"] for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]]
        self.pollers = [
            ShardPoller(
                kinesis=kinesis,
                stream_name=stream_name,
                stream_arn=self.stream_arn,
                shard_id=shard_id,
                mapping=mapping,
                invoke=invoke,
                on_failure=on_failure,
                region=region,
                function_arn=function_arn,
                invoke_identity_arn=invoke_identity_arn,
                poll_interval_seconds=poll_interval_seconds,
                idle_poll_interval_seconds=idle_poll_interval_seconds,
                cursor=ShardCursor.for_mapping(mapping, **(cursor_overrides or {})),
            )
            for shard_id in shard_ids
        ]

    def start(self) -> None:
        """Start one thread per shard."""
        for poller in self.pollers:
            poller.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every shard's thread (each finishes the invocation it is in)."""
        for poller in self.pollers:
            poller._stop_requested.set()
        for poller in self.pollers:
            poller.stop(timeout)

    def checkpoints(self) -> dict[str, str | None]:
        """Last checkpointed sequence number per shard."""
        return {poller.shard_id: poller.cursor.checkpoint for poller in self.pollers}
