"""What the query function's read models read from (DynamoDB in AWS: `reviva.adapters.dynamodb`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from reviva.enrich.ports import StoredVisitor
from reviva.enrich.visitor_state import SessionState

# One minute of live counters: its bucket ("YYYY-MM-DDTHH:MM"), counts by type, visitor tokens.
MinuteWindow = tuple[str, Counter[str], set[str]]


class VisitorReader(Protocol):
    """Profiles, sessions and identity links, as enrich wrote them."""

    def read_visitor(self, visitor_key: str) -> tuple[StoredVisitor | None, list[SessionState]]:
        """A visitor's stored profile (None if absent) and all its sessions."""
        ...

    def linked_keys(self, start_keys: Iterable[str]) -> list[str]:
        """Every visitor key linked to `start_keys` through identify and alias, themselves included."""
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
