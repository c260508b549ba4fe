"""Reading a range of records back from the events stream (Kinesis), for the replay of failed batches."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from reviva.enrich.stream_records import StreamRecord

# GetRecords answers at most 10,000 records or 10 MB; a failed batch holds at most 10,000 records.
MAX_RECORDS_PER_CALL = 10_000
# Empty pages in a row before giving up on reaching `end` (a shard can answer empty pages while
# it is behind); bounded, so a replay never loops on a closed or trimmed shard.
MAX_EMPTY_PAGES = 5


def stream_name_of(stream_arn: str) -> str:
    """ "arn:aws:kinesis:us-east-1:123456789012:stream/reviva-events" → "reviva-events"."""
    return stream_arn.rsplit(":stream/", 1)[-1]


class KinesisRangeReader:
    """`StreamRangeReader` over Kinesis' GetShardIterator(AT_SEQUENCE_NUMBER) and GetRecords."""

    def __init__(self, kinesis: Any) -> None:
        self._kinesis = kinesis

    def read_range(self, stream_arn: str, shard_id: str, start: str, end: str) -> list[StreamRecord]:
        """The shard's records with sequence numbers from `start` to `end`; [] if the stream dropped them."""
        try:
            iterator = self._kinesis.get_shard_iterator(
                StreamName=stream_name_of(stream_arn),
                ShardId=shard_id,
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                StartingSequenceNumber=start,
            )["ShardIterator"]
        except ClientError as error:
            # An expired or trimmed sequence number: the records are gone.
            if error.response.get("Error", {}).get("Code") in (
                "InvalidArgumentException",
                "ResourceNotFoundException",
            ):
                return []
            raise
        records: list[StreamRecord] = []
        last, empty_pages = int(end), 0
        while iterator and empty_pages < MAX_EMPTY_PAGES:
            page = self._kinesis.get_records(ShardIterator=iterator, Limit=MAX_RECORDS_PER_CALL)
            if not page["Records"]:
                empty_pages += 1
            for raw in page["Records"]:
                if int(raw["SequenceNumber"]) > last:
                    return records
                records.append(
                    StreamRecord(
                        shard_id,
                        raw["SequenceNumber"],
                        raw["PartitionKey"],
                        raw["Data"],
                        arrived_at=raw.get("ApproximateArrivalTimestamp"),
                    )
                )
            if records and int(records[-1].sequence_number) >= last:
                return records
            iterator = page.get("NextShardIterator")
        return records
