"""The events real handlers receive, built as the local runtime builds them, and the stream read back."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from reviva.contracts.events import CollectedEvent
from reviva.enrich.stream_records import StreamRecord, decode_record
from reviva_dev.measure.tracker_requests import ClientRequest


def http_api_event(
    request: ClientRequest, now: datetime, write_key: str, source_ip: str, region: str = "us-east-1"
) -> dict[str, Any]:
    """The HTTP API event of one tracker request (POST /v1/batch, sent at `now`), as the local
    gateway builds it."""
    from reviva.topology import ROUTES
    from reviva_dev.local.gateway import IncomingRequest, RouteTable, build_http_api_event

    sent = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    body = json.dumps(
        {"batch": [{**m, "sentAt": sent} for m in request.messages], "sentAt": sent}, separators=(",", ":")
    ).encode()
    token = base64.b64encode(f"{write_key}:".encode()).decode()
    user_agent = str((request.messages[0].get("context") or {}).get("userAgent") or "Mozilla/5.0")
    incoming = IncomingRequest(
        method="POST",
        target="/v1/batch",
        headers=[
            ("Host", "ingest.example.com"),
            ("Authorization", f"Basic {token}"),
            ("Content-Type", "application/json"),
            ("User-Agent", user_agent),
        ],
        body=body,
        source_ip=source_ip,
        protocol="HTTP/1.1",
    )
    match = RouteTable(ROUTES).match("POST", "/v1/batch")
    assert not isinstance(match, list)
    return build_http_api_event(incoming, match, region=region, now=now)


def kinesis_event(
    records: Sequence[StreamRecord], stream_arn: str, region: str = "us-east-1"
) -> dict[str, Any]:
    """The Kinesis trigger event of one batch of records, as the local stream poller builds it."""
    from reviva_dev.local.stream_poller import StreamRecord as PolledRecord
    from reviva_dev.local.stream_poller import build_kinesis_event

    return build_kinesis_event(
        [PolledRecord(r.shard_id, r.sequence_number, r.partition_key, r.data, time.time()) for r in records],
        stream_arn=stream_arn,
        region=region,
        invoke_identity_arn="arn:aws:iam::123456789012:role/reviva-enrich",
    )


def stream_records(stream_name: str) -> list[StreamRecord]:
    """Every record on a stream, each shard from its oldest record (on the emulator's or moto's Kinesis)."""
    from reviva.aws_clients import client
    from reviva.settings import load_settings

    kinesis = client("kinesis", load_settings())
    records: list[StreamRecord] = []
    for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            records.extend(
                StreamRecord(shard["ShardId"], r["SequenceNumber"], r["PartitionKey"], r["Data"])
                for r in page["Records"]
            )
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return records


def read_stream(stream_name: str) -> list[CollectedEvent]:
    """Every event on the stream, decoded the way enrich decodes it."""
    return [event for record in stream_records(stream_name) for event in decode_record(record).events]
