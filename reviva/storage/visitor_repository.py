"""Profiles, sessions and identity links in DynamoDB (the enrich stage's `VisitorRepository`).

Cost shapes this adapter: every batch rewrites each active visitor's profile item, billed per KB
written. So the profile item is small (the state as zlib-compressed JSON; the open session inside
it) and written with one conditional `PutItem`, never a transaction (which bills twice). A session
gets an item of its own once, when it closes; identity links when they appear.
"""

from __future__ import annotations

import zlib
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
MAX_LINKED_KEYS = 50


def session_sk(session_id: str) -> str:
    """The sort key of a session item."""
    return f"{SESSION_PREFIX}{session_id}"


def pack_state(state: VisitorState) -> bytes:
    """The profile item's `state` attribute: compact JSON (defaults left out), zlib-compressed."""
    raw = state.model_dump_json(exclude={"closed_sessions"}, exclude_defaults=True)
    return zlib.compress(raw.encode("utf-8"), 6)


def unpack_state(item: VisitorItem) -> VisitorState:
    """A profile item's state (`state` when present; items written before it kept JSON in `data`)."""
    if item.state:
        return VisitorState.model_validate_json(zlib.decompress(item.state))
    return VisitorState.model_validate(item.data or {})


def _profile_item(commit: VisitorCommit) -> VisitorItem:
    last_seen = commit.state.profile.last_seen_at or datetime.now(UTC)
    return VisitorItem(
        commit.visitor_key,
        PROFILE_SK,
        version=commit.expected_version + 1,
        state=pack_state(commit.state),
        watermarks=commit.watermarks,
        recent_ids=commit.recent_ids or None,
        expires_at=last_seen + PROFILE_RETENTION,
    )


def _session_item(visitor_key: str, session: SessionState) -> VisitorItem:
    return VisitorItem(
        visitor_key,
        session_sk(session.session_id),
        data=session.model_dump(mode="json", exclude_defaults=True),
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


def _stored(item: VisitorItem) -> StoredVisitor:
    return StoredVisitor(
        state=unpack_state(item),
        version=int(item.version),
        watermarks={
            str(k): str(v) for k, v in (item.watermarks.as_dict() if item.watermarks else {}).items()
        },
        recent_ids=item.recent_ids,
    )


class DynamoVisitorRepository:
    """Reads and writes visitor items: one conditional profile write per visitor per batch.

    The batch's first visitor may carry the live counters: that one write is a transaction.
    """

    def __init__(self, settings: Settings, counters: DynamoCounterRepository | None = None) -> None:
        bind_tables(settings)
        self._dynamodb = client("dynamodb", settings)
        self._visitors_table = settings.visitors_table
        self._counters = counters

    def load(self, visitor_keys: Sequence[str]) -> dict[str, StoredVisitor]:
        """Profiles of the given keys (BatchGetItem, 100 keys a request)."""
        return {
            item.pk: _stored(item)
            for item in VisitorItem.batch_get([(key, PROFILE_SK) for key in visitor_keys])
        }

    def commit(self, commit: VisitorCommit) -> None:
        """Closed sessions and new links first (idempotent), then the profile, conditionally."""
        at = (commit.state.profile.last_seen_at or datetime.now(UTC)).isoformat()
        if commit.sessions:
            with VisitorItem.batch_write() as sessions:
                for session in commit.sessions:
                    sessions.save(_session_item(commit.visitor_key, session))
        links = _link_items(commit.identity_links, at)
        if links:
            with IdentityLink.batch_write() as batch:
                for link in links:
                    batch.save(link)
        condition: dict[str, Any]
        if commit.expected_version:
            condition = {
                "ConditionExpression": "#version = :expected",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":expected": {"N": str(commit.expected_version)}},
            }
        else:
            condition = {"ConditionExpression": "attribute_not_exists(pk)"}
        profile: dict[str, Any] = {
            "TableName": self._visitors_table,
            "Item": _profile_item(commit).serialize(),
            **condition,
        }
        if commit.counters is None:
            try:
                self._dynamodb.put_item(**profile)
            except ClientError as exc:
                if is_condition_failure(exc):
                    raise ConcurrentUpdate(commit.visitor_key) from exc
                raise
            return
        if self._counters is None:
            raise ValueError("this repository was built without the counters table")
        counter_items = self._counters.transaction_items(commit.counters)
        try:
            self._dynamodb.transact_write_items(TransactItems=[{"Put": profile}, *counter_items])
        except ClientError as exc:
            if not is_condition_failure(exc):
                raise
            reasons = exc.response.get("CancellationReasons") or []
            if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons[1:]):
                raise CountersMoved(commit.visitor_key) from exc
            raise ConcurrentUpdate(commit.visitor_key) from exc

    def read_visitor(self, visitor_key: str) -> tuple[StoredVisitor | None, list[SessionState]]:
        """A visitor's profile and all its sessions, the open one included (one Query)."""
        stored: StoredVisitor | None = None
        sessions: dict[str, SessionState] = {}
        for item in VisitorItem.query(visitor_key):
            if item.sk == PROFILE_SK:
                stored = _stored(item)
            elif item.sk.startswith(SESSION_PREFIX):
                session = SessionState.model_validate(item.data or {})
                sessions[session.session_id] = session
        if stored is not None and stored.state.current_session is not None:
            sessions[stored.state.current_session.session_id] = stored.state.current_session
        return stored, sorted(sessions.values(), key=lambda s: s.started_at)

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
