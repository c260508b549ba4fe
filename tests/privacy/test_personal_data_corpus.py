"""A corpus of personal data planted in every position a message has, through ingest and enrich on
the real adapters (moto's Kinesis and DynamoDB, a local lake): no raw value in any DynamoDB item,
stream record, lake data file, rejected item or log line."""

from __future__ import annotations

import base64
import json
import logging
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from reviva.adapters.dynamodb.tables import create_tables
from reviva.adapters.dynamodb.visitor_repository import _inflate
from reviva.aws_clients import client
from reviva.settings import load_settings, reset_settings_cache
from reviva.topology import ROUTES
from reviva_dev.fakes.lambda_context import FakeLambdaContext
from reviva_dev.local.gateway import IncomingRequest, RouteTable, build_http_api_event
from reviva_dev.measure.lambda_events import kinesis_event, stream_records
from tests.local_lake import use_local_lake

# Each raw value must appear nowhere after the pipeline (compared lower-cased, also URL-decoded).
EMAIL = "ana.silva@example.com"
UNICODE_EMAIL = "jöhn.dœ@exämple.de"
IDN_EMAIL = "kontakt@例え.テスト"
PHONE_NATIONAL = "07700900123"
PHONE_SPACED = "020 7946 0999"
PHONE_INTERNATIONAL = "+33 6 12 34 56 78"
IPV4 = "198.51.100.23"
IPV6 = "2001:db8:85a3::8a2e:370:7334"
USER_ID = "cust-secret-4711"
UA_EMAIL = "ua.person@example.org"
MESSAGE_ID_EMAIL = "msgid.person@example.net"
RAW_VALUES = [
    EMAIL,
    UNICODE_EMAIL,
    "jöhn.dœ",
    IDN_EMAIL,
    PHONE_NATIONAL,
    "7946 0999",
    "79460999",
    "6 12 34 56 78",
    "612345678",
    IPV4,
    "8a2e:370:7334",
    USER_ID,
    UA_EMAIL,
    MESSAGE_ID_EMAIL,
    "dbl.person",
]


def corpus_message(index: int) -> dict[str, Any]:
    """A page message with personal data in properties, traits, context, campaign, names and URLs."""
    url = (
        f"https://shop.example/p?mobile_number={PHONE_NATIONAL}&cell={PHONE_NATIONAL}"
        f"&next=%2Fa%3Fe%3Ddbl.person%2540example.com&host={IPV4}"
    )
    return {
        "type": "track",
        "event": f"Called {PHONE_SPACED} for {EMAIL}",
        "anonymousId": f"anon-corpus-{index}",
        "messageId": f"corpus-{index}",
        "timestamp": datetime.now(UTC).isoformat(),
        "properties": {
            "contact_number": PHONE_NATIONAL,
            "user_id": USER_ID,
            "note": f"reach {UNICODE_EMAIL} or {IDN_EMAIL} on {PHONE_INTERNATIONAL}",
            "origin": IPV6,
            "server": IPV4,
            "list": [EMAIL, {"nested": f"[{IPV6}]:443"}],
            EMAIL: "keyed by an address",
        },
        "context": {
            "traits": {"userId": USER_ID, "contact": PHONE_SPACED},
            "page": {
                "url": url,
                "referrer": f"http://{IPV4}/from?contact={PHONE_NATIONAL}",
                "search": f"?email={EMAIL}&mobile_number={PHONE_NATIONAL}",
                "title": f"Profile of {UNICODE_EMAIL}",
            },
            "campaign": {"name": f"spring {EMAIL}", "content": PHONE_SPACED},
            "userAgent": f"Mozilla/5.0 ({UA_EMAIL})",
        },
    }


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    use_local_lake(tmp_path, monkeypatch)
    with mock_aws():
        settings = load_settings()
        kinesis = client("kinesis", settings)
        kinesis.create_stream(StreamName=settings.events_stream, ShardCount=1)
        create_tables(settings)
        arn = kinesis.describe_stream(StreamName=settings.events_stream)["StreamDescription"]["StreamARN"]
        yield {"stream": settings.events_stream, "arn": arn, "lake": tmp_path / "lake"}
    reset_settings_cache()


def _ingest_event(body: dict[str, Any]) -> dict[str, Any]:
    token = base64.b64encode(b"test-write-key:").decode()
    incoming = IncomingRequest(
        method="POST",
        target="/v1/batch",
        headers=[
            ("Host", "ingest.example.com"),
            ("Authorization", f"Basic {token}"),
            ("Content-Type", "application/json"),
            ("User-Agent", f"CorpusAgent/1.0 (mailto:{UA_EMAIL}; {PHONE_INTERNATIONAL})"),
            ("X-Forwarded-For", IPV4),
        ],
        body=json.dumps(body, ensure_ascii=False).encode(),
        source_ip=IPV4,
        protocol="HTTP/1.1",
    )
    match = RouteTable(ROUTES).match("POST", "/v1/batch")
    assert not isinstance(match, list)
    return build_http_api_event(incoming, match, region="us-east-1", now=datetime.now(UTC))


def _leaks(text: str) -> list[str]:
    from urllib.parse import unquote

    lowered = text.lower()
    decoded = unquote(unquote(lowered))
    return [raw for raw in RAW_VALUES if raw.lower() in lowered or raw.lower() in decoded]


def _readable(value: Any) -> Any:
    """Binary attributes as text: packed profiles and sessions inflated, anything else decoded."""
    if isinstance(value, bytes | bytearray):
        for inflate in (_inflate, zlib.decompress):
            try:
                return inflate(bytes(value)).decode("utf-8", "replace")
            except (zlib.error, ValueError):
                continue
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _dynamodb_items() -> list[str]:
    dynamodb = client("dynamodb", load_settings())
    found: list[str] = []
    for table in dynamodb.list_tables()["TableNames"]:
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            found.extend(json.dumps(item, ensure_ascii=False, default=_readable) for item in page["Items"])
    return found


@pytest.mark.integration
def test_no_raw_personal_data_anywhere(stack: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    from functions.enrich import handler as enrich_handler
    from functions.ingest import handler as ingest_handler

    caplog.set_level(logging.DEBUG)
    invalid = {"type": "track", "messageId": MESSAGE_ID_EMAIL, "anonymousId": "anon-bad", "properties": 1}
    body = {"batch": [corpus_message(0), corpus_message(1), invalid], "context": {"ip": IPV4}}
    answer = ingest_handler.handler(_ingest_event(body), FakeLambdaContext("reviva-ingest"))
    assert answer["statusCode"] in (200, 400), answer

    records = stream_records(stack["stream"])
    assert records, "the valid messages reached the stream"
    for record in records:
        assert _leaks(base64.b64decode(base64.b64encode(record.data)).decode("utf-8", "replace")) == []
    result = enrich_handler.handler(kinesis_event(records, stack["arn"]), FakeLambdaContext("reviva-enrich"))
    assert result == {"batchItemFailures": []}

    items = _dynamodb_items()
    assert any("R#" in item for item in items), "the invalid message is in the rejected store"
    assert any("a:anon-corpus-0" in item for item in items), "the profile was written"
    for item in items:
        assert _leaks(item) == [], item

    data_files = list(Path(stack["lake"]).rglob("*.parquet"))
    assert data_files, "enrich wrote the lake"
    for path in data_files:
        table_text = json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False)
        assert _leaks(table_text) == [], path
    for other in Path(stack["lake"]).rglob("*"):
        if other.is_file() and other.suffix != ".parquet":
            assert _leaks(other.read_bytes().decode("utf-8", "replace")) == [], other

    assert _leaks(caplog.text) == []
