"""Profiles, sessions and identity links in DynamoDB (the enrich stage's `VisitorRepository`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from reviva.aws_clients import client
from reviva.enrich.ports import ConcurrentUpdate, CountersMoved, StoredVisitor, VisitorCommit
from reviva.enrich.visitor_state import SessionState, VisitorState
from reviva.settings import Settings
from reviva.storage.counter_repository import DynamoCounterRepository, is_condition_failure
from reviva.storage.tables import IdentityLink, VisitorItem, bind_tables

PROFILE_SK = "PROFILE"
SESSION_PREFIX = "SESSION#"
# The source plan's retention table: profiles 3 years, analytics events (and so sessions) 2 years.
PROFILE_RETENTION = timedelta(days=3 * 365)
SESSION_RETENTION = timedelta(days=2 * 365)
MAX_TRANSACTION_ITEMS = 100
MAX_LINKED_KEYS = 50


def session_sk(session_id: str) -> str:
    """The sort key of a session item."""
    return f"{SESSION_PREFIX}{session_id}"


def _profile_item(commit: VisitorCommit) -> VisitorItem:
    state_json = commit.state.model_dump(mode="json", exclude={"closed_sessions"})
    last_seen = commit.state.profile.last_seen_at or datetime.now(UTC)
    return VisitorItem(
        commit.visitor_key,
        PROFILE_SK,
        version=commit.expected_version + 1,
        data=state_json,
        watermarks=commit.watermarks,
        recent_ids=commit.recent_ids or None,
        expires_at=last_seen + PROFILE_RETENTION,
    )


def _session_item(visitor_key: str, session: SessionState) -> VisitorItem:
    return VisitorItem(
        visitor_key,
        session_sk(session.session_id),
        data=session.model_dump(mode="json"),
        expires_at=session.ended_at + SESSION_RETENTION,
    )


def _link_items(links: Iterable[tuple[str, str, str]], at: str) -> list[IdentityLink]:
    items: dict[tuple[str, str], IdentityLink] = {}
    for left, right, via in links:
        if left == right:
            continue
        for a, b in ((left, right), (right, left)):
            items[(a, b)] = IdentityLink(a, b, linked_at=at, via=via)
    return list(items.values())


class DynamoVisitorRepository:
    """Reads and writes visitor items; one transaction per visitor per batch."""

    def __init__(self, settings: Settings, counters: DynamoCounterRepository | None = None) -> None:
        bind_tables(settings)
        self._dynamodb = client("dynamodb", settings)
        self._visitors_table = settings.visitors_table
        self._identities_table = settings.identities_table
        self._counters = counters

    def load(self, visitor_keys: Sequence[str]) -> dict[str, StoredVisitor]:
        """Profiles of the given keys (BatchGetItem, 100 keys a request)."""
        found: dict[str, StoredVisitor] = {}
        for item in VisitorItem.batch_get([(key, PROFILE_SK) for key in visitor_keys]):
            found[item.pk] = StoredVisitor(
                state=VisitorState.model_validate(item.data),
                version=int(item.version),
                watermarks={
                    str(k): str(v) for k, v in (item.watermarks.as_dict() if item.watermarks else {}).items()
                },
                recent_ids=item.recent_ids,
            )
        return found

    def commit(self, commit: VisitorCommit) -> None:
        """Write the profile, touched sessions, new identity links (and counters) in one transaction."""
        at = (commit.state.profile.last_seen_at or datetime.now(UTC)).isoformat()
        sessions = [_session_item(commit.visitor_key, s) for s in commit.sessions]
        links = _link_items(commit.identity_links, at)
        counter_items: list[dict[str, Any]] = []
        if commit.counters is not None:
            if self._counters is None:
                raise ValueError("this repository was built without the counters table")
            counter_items = self._counters.transaction_items(commit.counters)
        overflow = len(sessions) + len(links) + len(counter_items) + 1 - MAX_TRANSACTION_ITEMS
        if overflow > 0:
            # Session items are deterministic for a given batch, so writing the surplus ahead of the
            # transaction is idempotent under redelivery.
            with VisitorItem.batch_write() as batch:
                for item in sessions[:overflow]:
                    batch.save(item)
            sessions = sessions[overflow:]
        profile = _profile_item(commit)
        if commit.expected_version:
            condition = {
                "ConditionExpression": "#version = :expected",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":expected": {"N": str(commit.expected_version)}},
            }
        else:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        items: list[dict[str, Any]] = [
            {"Put": {"TableName": self._visitors_table, "Item": profile.serialize(), **condition}},
            *({"Put": {"TableName": self._visitors_table, "Item": s.serialize()}} for s in sessions),
            *({"Put": {"TableName": self._identities_table, "Item": link.serialize()}} for link in links),
            *counter_items,
        ]
        try:
            self._dynamodb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            reasons = exc.response.get("CancellationReasons") or []
            if counter_items and any(
                r.get("Code") == "ConditionalCheckFailed" for r in reasons[len(items) - len(counter_items) :]
            ):
                raise CountersMoved(commit.visitor_key) from exc
            raise ConcurrentUpdate(commit.visitor_key) from exc

    def read_visitor(self, visitor_key: str) -> tuple[StoredVisitor | None, list[SessionState]]:
        """A visitor's profile and all its sessions (one Query)."""
        stored: StoredVisitor | None = None
        sessions: list[SessionState] = []
        for item in VisitorItem.query(visitor_key):
            if item.sk == PROFILE_SK:
                stored = StoredVisitor(
                    state=VisitorState.model_validate(item.data), version=int(item.version)
                )
            elif item.sk.startswith(SESSION_PREFIX):
                sessions.append(SessionState.model_validate(item.data))
        return stored, sessions

    def linked_keys(self, start_keys: Iterable[str]) -> list[str]:
        """Every identity key connected to `start_keys` through identify/alias links (bounded)."""
        seen: list[str] = []
        frontier = list(dict.fromkeys(start_keys))
        while frontier and len(seen) < MAX_LINKED_KEYS:
            key = frontier.pop(0)
            if key in seen:
                continue
            seen.append(key)
            for link in IdentityLink.query(key):
                if link.sk not in seen:
                    frontier.append(link.sk)
        return seen
