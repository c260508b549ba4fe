"""RejectedRepository on moto DynamoDB: masked, truncated, day-partitioned, newest first."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from reviva.adapters.dynamodb.rejected_repository import MAX_RAW_BYTES, RejectedRepository, render_raw
from reviva.adapters.dynamodb.tables import RejectedItem
from reviva.ingest.ports import Rejection
from reviva.privacy import pseudonymize, pseudonymize_user_id

KEY = b"k" * 32
NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


def test_record_masks_pii_and_lists_newest_first_across_days(aws: None) -> None:
    repo = RejectedRepository(KEY, clock=lambda: NOW)
    raw = {
        "type": "track",
        "userId": "cust-1",
        "traits": {"email": "ana@example.com"},
        "context": {"ip": "198.51.100.23"},
        "note": "call +351 912 345 678",
    }
    repo.record(
        [
            Rejection(
                "ingest",
                "event: Field required",
                raw,
                index=3,
                message_id="m-3",
                source_id="src",
                rejected_at=NOW - timedelta(days=2),
            ),
            Rejection("enrich", "poison record", b'{"broken": true}', rejected_at=NOW - timedelta(minutes=5)),
            Rejection(
                "ingest", "body is not valid JSON", b"\xff{nope", rejected_at=NOW - timedelta(minutes=1)
            ),
            Rejection("ingest", "too old", {"a": 1}, rejected_at=NOW - timedelta(days=31)),
        ]
    )
    recent = repo.list_recent(10)
    assert [r["reason"] for r in recent] == [
        "body is not valid JSON",
        "poison record",
        "event: Field required",
    ]
    oldest = recent[2]
    assert (oldest["stage"], oldest["index"], oldest["message_id"], oldest["source_id"]) == (
        "ingest",
        3,
        "m-3",
        "src",
    )
    stored = json.loads(oldest["raw"])
    assert stored["userId"] == pseudonymize_user_id("cust-1", KEY)
    assert stored["traits"]["email"] == pseudonymize("ana@example.com", KEY)
    assert stored["context"]["ip"] == "198.51.100.0"
    assert "912" not in oldest["raw"] and "ana@" not in oldest["raw"]
    assert json.loads(recent[1]["raw"]) == {"broken": True}
    assert recent[0]["raw"] == "\ufffd{nope"
    assert [r["reason"] for r in repo.list_recent(2)] == ["body is not valid JSON", "poison record"]
    assert repo.list_recent(0) == []


def test_items_have_day_partitions_and_a_30_day_ttl(aws: None) -> None:
    moment = NOW - timedelta(hours=3)
    RejectedRepository(KEY).record([Rejection("ingest", "x", {}, rejected_at=moment)])
    (item,) = list(RejectedItem.query("R#2025-03-14"))
    assert item.sk.startswith(moment.isoformat(timespec="microseconds"))
    assert item.expires_at == moment + timedelta(days=30)


def test_raw_is_truncated_to_32_kb() -> None:
    text = render_raw({"blob": "é" * MAX_RAW_BYTES}, KEY)
    assert len(text.encode("utf-8")) <= MAX_RAW_BYTES
    assert text.endswith("…[truncated]")
    assert render_raw("plain a@b.example text", None) == "plain [email] text"


def test_many_rejections_are_batch_written(aws: None) -> None:
    repo = RejectedRepository(KEY, clock=lambda: NOW)
    repo.record([Rejection("ingest", f"r{n}", {"n": n}, index=n, rejected_at=NOW) for n in range(60)])
    assert len(repo.list_recent(100)) == 60


def test_a_named_rejection_is_stored_once_however_often_it_is_recorded(aws: None) -> None:
    repo = RejectedRepository(KEY, clock=lambda: NOW)
    named = Rejection("enrich", "poison", {"n": 1}, rejected_at=NOW, key="shardId-1/100/2")
    repo.record([named, named])
    repo.record([named, Rejection("enrich", "poison", {"n": 2}, rejected_at=NOW, key="shardId-1/100/3")])
    assert sorted(json.loads(r["raw"])["n"] for r in repo.list_recent(10)) == [1, 2]


def test_message_id_and_reason_are_masked_like_the_payload(aws: None) -> None:
    repo = RejectedRepository(KEY, clock=lambda: NOW)
    repo.record(
        [
            Rejection(
                "ingest",
                "Content-Encoding 'ana@example.com' is not supported (use gzip or none)",
                {"type": "track", "messageId": "ana@example.com"},
                message_id="ana@example.com",
                rejected_at=NOW,
            )
        ]
    )
    [stored] = repo.list_recent(1)
    pseudonym = pseudonymize("ana@example.com", KEY)
    assert stored["message_id"] == pseudonym
    assert stored["reason"] == f"Content-Encoding '{pseudonym}' is not supported (use gzip or none)"
    assert "ana@example.com" not in json.dumps(stored)
