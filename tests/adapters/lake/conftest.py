"""Fixtures for the lake tests: a moto S3 server, a lake bucket per test, and event factories."""

from __future__ import annotations

import json
import logging
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from reviva.adapters.lake import (
    LakeWriter,
    ensure_events_table,
    events_table_identifier,
    fileio,
    load_lake_catalog,
)
from reviva.adapters.lake.fileio import ImmutableObjectCache
from reviva.contracts.events import EnrichedEvent
from reviva.settings import Settings
from reviva_dev.measure.s3_requests import RequestLog

BASE_TIME = datetime(2025, 3, 1, 22, 30, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_server() -> Iterator[tuple[str, RequestLog]]:
    """One moto server for the whole session (each test gets its own bucket), with a request log."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    wsgi_server = server._server  # werkzeug's server; its app is the whole emulator
    assert wsgi_server is not None
    log = RequestLog(wsgi_server.app)
    wsgi_server.app = log
    yield f"http://127.0.0.1:{port}", log
    server.stop()


@pytest.fixture(scope="session")
def moto_endpoint(moto_server: tuple[str, RequestLog]) -> str:
    return moto_server[0]


@pytest.fixture
def request_log(moto_server: tuple[str, RequestLog]) -> RequestLog:
    return moto_server[1]


@pytest.fixture
def own_metadata_cache(monkeypatch: pytest.MonkeyPatch) -> ImmutableObjectCache:
    """A fresh metadata cache for this test, as a new Lambda container would start with."""
    cache = ImmutableObjectCache()
    monkeypatch.setattr(fileio, "METADATA_CACHE", cache)
    return cache


@pytest.fixture
def s3_settings(moto_endpoint: str, tmp_path: Path) -> Settings:
    """Settings for a SQLite catalog with its warehouse in a fresh moto S3 bucket."""
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return Settings(
        AWS_ENDPOINT_URL=moto_endpoint,
        LAKE_BUCKET=bucket,
        LAKE_CATALOG="sql",
        LAKE_CATALOG_URI=f"sqlite:///{tmp_path}/catalog.db",
    )


@pytest.fixture
def file_settings(tmp_path: Path) -> Settings:
    """Settings for a SQLite catalog with a local-disk warehouse (no S3 at all)."""
    return Settings(
        LAKE_BUCKET=f"file://{tmp_path}/lake",
        LAKE_CATALOG="sql",
        LAKE_CATALOG_URI=f"sqlite:///{tmp_path}/catalog.db",
    )


@pytest.fixture
def s3_catalog(s3_settings: Settings) -> Catalog:
    catalog = load_lake_catalog(s3_settings)
    ensure_events_table(catalog, s3_settings)
    return catalog


@pytest.fixture
def s3_table(s3_catalog: Catalog, s3_settings: Settings) -> Table:
    return s3_catalog.load_table(events_table_identifier(s3_settings))


def writer_for(catalog: Catalog, settings: Settings, **options: object) -> LakeWriter:
    """A writer with its own table object, as each Lambda container would have."""
    identifier = events_table_identifier(settings)
    return LakeWriter(lambda: catalog.load_table(identifier), **options)  # type: ignore[arg-type]


@pytest.fixture
def s3_writer(s3_catalog: Catalog, s3_settings: Settings) -> LakeWriter:
    return writer_for(s3_catalog, s3_settings)


def make_event(
    index: int,
    *,
    visitor: str | None = None,
    event_time: datetime | None = None,
    received_at: datetime | None = None,
    sequence: int | None = None,
    shard_id: str = "shardId-000000000000",
) -> EnrichedEvent:
    """A realistic enriched event with every column filled."""
    when = event_time or BASE_TIME + timedelta(minutes=index)
    return EnrichedEvent(
        message_id=f"msg-{shard_id}-{index}",
        visitor_key=visitor or f"a:visitor-{index % 7}",
        anonymous_id=f"anon-{index % 7}",
        user_id=f"u_{index % 3}" if index % 2 else None,
        session_id=f"s-{index // 10}",
        event_type="track" if index % 3 else "page",
        event_name="Booking Submitted" if index % 3 else None,
        event_time=when,
        event_date=when.date(),
        received_at=received_at or when + timedelta(seconds=2),
        page_url=f"https://reviva.example/repairs/{index}?utm_source=google",
        page_path=f"/repairs/{index}",
        page_title="Screen repair — Reviva",
        referrer_url="https://www.google.com/",
        referrer_host="www.google.com",
        channel="paid_search",
        utm_source="google",
        utm_medium="cpc",
        utm_campaign="spring",
        utm_term="iphone screen",
        utm_content="ad-1",
        click_id_type="gclid",
        browser="Firefox",
        browser_version="128.0",
        os="Linux",
        os_version=None,
        device_type="desktop",
        is_bot=index % 5 == 0,
        country="PT",
        region="11",
        journey_stage="decision",
        touchpoint="booking",
        is_conversion=index % 3 == 1,
        revenue=49.9 + index if index % 3 == 1 else None,
        properties=json.dumps({"service": "screen", "index": index}),
        consent=json.dumps({"analytics": True}),
        source_id="src-1",
        shard_id=shard_id,
        sequence_number=str(sequence if sequence is not None else index + 1),
    )
