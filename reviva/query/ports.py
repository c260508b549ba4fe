"""What the query function's read models read from (DynamoDB in AWS: `reviva.adapters.dynamodb`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from reviva.enrich.ports import StoredVisitor
from reviva.enrich.visitor_state import SessionState

# One minute of live counters: its bucket ("YYYY-MM-DDTHH:MM"), counts by type, visitor tokens.
MinuteWindow = tuple[str, Counter[str], set[str]]


class LinkedKeys(list[str]):
    """The keys to read for a person, in order: where the lookup started and every key linked to those.

    `linked` holds the keys that have at least one identify/alias link: with a stored profile or
    sessions, they are the keys that exist (a start key with neither is only what the lookup tried).
    """

    def __init__(self, keys: Iterable[str] = (), linked: Iterable[str] = ()) -> None:
        super().__init__(keys)
        self.linked = frozenset(linked)


class VisitorReader(Protocol):
    """Profiles, sessions and identity links, as enrich wrote them."""

    def read_visitor(self, visitor_key: str) -> tuple[StoredVisitor | None, list[SessionState]]:
        """A visitor's stored profile (None if absent) and all its sessions."""
        ...

    def linked_keys(self, start_keys: Iterable[str]) -> LinkedKeys:
        """Every visitor key linked to `start_keys` through identify and alias, themselves included."""
        ...

    def load(self, visitor_keys: Sequence[str]) -> dict[str, StoredVisitor]:
        """The stored profiles of these keys (absent keys left out), without their sessions."""
        ...

    def keys_for_email(self, email_pseudonym: str) -> list[str]:
        """The visitor keys an e-mail address (by its keyed pseudonym) was given on."""
        ...


class CounterReader(Protocol):
    """The per-minute live counters."""

    def read_window(self, now: datetime, minutes: int = 30) -> list[MinuteWindow]:
        """The last `minutes` minutes up to `now`, all shards summed."""
        ...


class RejectedReader(Protocol):
    """The rejected-events store, for operators."""

    def list_recent(self, limit: int) -> list[dict[str, Any]]:
        """The `limit` newest rejections, newest first (payloads masked)."""
        ...
