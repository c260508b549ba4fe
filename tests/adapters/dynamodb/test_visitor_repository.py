"""DynamoVisitorRepository on moto, under the enrich service: round trips, redelivery, conflicts, the
writes a batch costs and item sizes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from reviva.adapters.dynamodb.visitor_repository import DynamoVisitorRepository
from reviva.enrich.ports import ConcurrentUpdate
from reviva.enrich.service import process_batch
from reviva.settings import Settings
from reviva_dev.measure.aws_calls import counted_aws_calls
from tests.adapters.dynamodb.dynamo_ports import dynamo_ports
from tests.enrich.builders import T0, Stream, event


def test_profiles_sessions_and_links_round_trip(settings: Settings) -> None:
    ports = dynamo_ports(settings)
    events = [
        event("dev-1", at=T0, path="/services/iphone-screen-repair"),
        event("dev-1", at=T0 + timedelta(minutes=1), path="/pricing"),
        event("dev-1", kind="identify", at=T0 + timedelta(minutes=2), user_id="u_cust"),
        event("dev-1", at=T0 + timedelta(hours=3), path="/"),
    ]
    outcome = process_batch(Stream().records(*events), ports)
    assert outcome.failed_sequence_numbers == []
    repo = DynamoVisitorRepository(settings)
    stored, sessions = repo.read_visitor("a:dev-1")
    assert stored is not None
    assert stored.state.profile.total_sessions == 2
    assert stored.state.profile.user_id == "u_cust"
    assert len(sessions) == 2
    assert repo.linked_keys(["u:u_cust"]) == ["u:u_cust", "a:dev-1"]


def test_redelivery_through_dynamodb_is_exact(settings: Settings) -> None:
    ports = dynamo_ports(settings)
    records = Stream().records(*[event("v", at=T0 + timedelta(seconds=i)) for i in range(5)])
    process_batch(records, ports)
    again = process_batch(records, ports)
    assert again.stats["already_applied"] == 5
    stored, _ = DynamoVisitorRepository(settings).read_visitor("a:v")
    assert stored is not None and stored.state.profile.total_page_views == 5
    assert stored.version == 1


def test_stale_version_is_a_concurrent_update(settings: Settings) -> None:
    ports = dynamo_ports(settings)
    stream = Stream()
    process_batch(stream.records(event("v")), ports)
    repo = DynamoVisitorRepository(settings)
    stale = repo.load(["a:v"])["a:v"]
    process_batch(stream.records(event("v", at=T0 + timedelta(minutes=1))), ports)
    from reviva.enrich.ports import VisitorCommit

    with pytest.raises(ConcurrentUpdate):
        repo.commit(
            VisitorCommit("a:v", stale.version, stale.state, {}, b"", [], []),
        )


def test_an_ordinary_batch_costs_each_visitor_one_small_write(settings: Settings) -> None:
    ports = dynamo_ports(settings)
    minute = timedelta(minutes=1)
    events = [event(f"v{n}", at=T0 + i * minute, path=f"/page-{i}") for n in range(3) for i in range(4)]
    with counted_aws_calls() as calls:
        process_batch(Stream().records(*events), ports)
    # The first visitor's profile carries the batch's counters (one transaction); the others are puts.
    assert calls[("dynamodb", "PutItem")] == 2
    assert calls[("dynamodb", "TransactWriteItems")] == 1
    assert calls[("dynamodb", "BatchWriteItem")] == 0  # no session closed, no identity link
    # moto's item size follows DynamoDB's rule (names + values); under 1 KB is one write unit.
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][settings.aws_region]
    item = backend.get_item(settings.visitors_table, {"pk": {"S": "a:v0"}, "sk": {"S": "PROFILE"}})
    assert item is not None and item.size() < 1024
    stored, sessions = DynamoVisitorRepository(settings).read_visitor("a:v0")
    assert stored is not None and stored.state.profile.total_page_views == 4
    assert [s.page_views for s in sessions] == [4]  # the open session, read from the profile


def test_closing_a_session_writes_it_once_as_its_own_item(settings: Settings) -> None:
    ports = dynamo_ports(settings)
    stream = Stream()
    process_batch(stream.records(event("v", at=T0), event("v", at=T0 + timedelta(minutes=1))), ports)
    with counted_aws_calls() as calls:
        process_batch(stream.records(event("v", at=T0 + timedelta(hours=2))), ports)
    assert calls[("dynamodb", "BatchWriteItem")] == 1
    assert calls[("dynamodb", "TransactWriteItems")] == 1  # the profile, with the batch's counters
    stored, sessions = DynamoVisitorRepository(settings).read_visitor("a:v")
    assert stored is not None and stored.state.current_session is not None
    assert [s.page_views for s in sessions] == [2, 1]
    assert sessions[1].session_id == stored.state.current_session.session_id


def test_a_large_request_delivered_twice_counts_once_through_dynamodb(settings: Settings) -> None:
    from reviva.adapters.kinesis_publisher import build_records
    from reviva.enrich.stream_records import StreamRecord

    ports = dynamo_ports(settings)
    events = [
        event("v", kind="track", name="Quote Requested", at=T0 + timedelta(seconds=i), message_id=f"m{i}")
        for i in range(300)
    ]
    drafts, _ = build_records(events)
    stream = Stream()
    for _ in range(2):  # ingest re-put the record: the second copy arrives in a later batch
        records = [
            StreamRecord(stream.shard_id, str(stream.next_sequence), d.partition_key, d.data) for d in drafts
        ]
        stream.next_sequence += len(records)
        process_batch(records, ports)
    stored, _ = DynamoVisitorRepository(settings).read_visitor("a:v")
    assert stored is not None and stored.state.profile.total_events == 300
    assert stored.recent_deliveries, "the delivery is remembered on the profile item"
