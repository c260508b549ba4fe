"""In-memory adapters for the enrich service's ports (`reviva.enrich.ports`), with failure injection."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reviva.contracts.events import EnrichedEvent
from reviva.enrich.ports import (
    ConcurrentUpdate,
    CounterCommit,
    CountersMoved,
    PoisonItem,
    StoredVisitor,
    VisitorCommit,
)
from reviva.enrich.visitor_state import SessionState, VisitorState

if TYPE_CHECKING:
    from reviva.enrich.service import EnrichPorts


class MemoryVisitors:
    """Visitor items stored serialized, as DynamoDB keeps them; `fail_keys` makes a commit raise."""

    def __init__(self, counters: MemoryCounters | None = None) -> None:
        self._counters = counters
        # visitor key → (version, watermarks, recent ids, state JSON, recent deliveries)
        self._stored: dict[str, tuple[int, dict[str, str], bytes | None, str, bytes | None]] = {}
        self.sessions: dict[str, dict[str, SessionState]] = {}
        self.links: set[tuple[str, str]] = set()
        self.fail_keys: set[str] = set()
        self.loads = 0
        self.commits = 0

    def load(self, visitor_keys: Sequence[str]) -> dict[str, StoredVisitor]:
        """A fresh copy of each stored visitor, parsed from JSON as the DynamoDB adapter does."""
        self.loads += 1
        found = {}
        for key in visitor_keys:
            if key in self._stored:
                version, watermarks, recent_ids, state_json, deliveries = self._stored[key]
                state = VisitorState.model_validate_json(state_json)
                found[key] = StoredVisitor(state, version, dict(watermarks), recent_ids, deliveries)
        return found

    @property
    def profiles(self) -> dict[str, StoredVisitor]:
        """Every stored visitor, freshly parsed (for assertions)."""
        return {key: self.load([key])[key] for key in self._stored}

    def commit(self, commit: VisitorCommit) -> None:
        if commit.visitor_key in self.fail_keys:
            raise RuntimeError(f"injected failure for {commit.visitor_key}")
        current = self._stored.get(commit.visitor_key)
        if (current[0] if current else 0) != commit.expected_version:
            raise ConcurrentUpdate(commit.visitor_key)
        if commit.counters is not None:
            assert self._counters is not None, "counters rode along but no counters store was given"
            self._counters.apply(commit.counters)  # raises before anything of the visitor is stored
        self._stored[commit.visitor_key] = (
            commit.expected_version + 1,
            dict(commit.watermarks),
            commit.recent_ids,
            commit.state.model_dump_json(exclude={"closed_sessions"}),
            commit.recent_deliveries or None,
        )
        # Only closed sessions get items of their own; the open one lives in the profile state.
        for session in commit.sessions:
            stored_session = SessionState.model_validate_json(session.model_dump_json())
            self.sessions.setdefault(commit.visitor_key, {})[session.session_id] = stored_session
        for left, right, _ in commit.identity_links:
            self.links.add((left, right))
            self.links.add((right, left))
        self.commits += 1


class MemoryCounters:
    def __init__(self) -> None:
        self.watermarks: dict[str, str] = {}
        self.counts: Counter[str] = Counter()
        self.visitors: dict[str, set[str]] = {}
        self.fail_next = 0
        # Transactions of the counters' own; those riding in a visitor's write are not counted.
        self.direct_commits = 0

    def watermark(self, shard_id: str) -> str | None:
        return self.watermarks.get(shard_id)

    def apply(self, counters: CounterCommit) -> None:
        """Check the watermark and apply the counts (a transaction's counter part)."""
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("injected counter failure")
        if self.watermarks.get(counters.shard_id) != counters.expected:
            raise CountersMoved(counters.shard_id)
        for bucket, minute in counters.minutes.items():
            for label, amount in minute.counts.items():
                self.counts[label] += amount
            self.visitors.setdefault(bucket, set()).update(minute.visitors)
        self.watermarks[counters.shard_id] = counters.new_watermark

    def commit(self, counters: CounterCommit) -> None:
        self.apply(counters)
        self.direct_commits += 1


class MemoryLake:
    def __init__(self) -> None:
        self.rows: list[EnrichedEvent] = []
        self.watermarks: dict[str, str] = {}
        self.unapplied_by_shard: dict[str, bytes] = {}
        self.fail_next = 0
        self.unapplied_writes = 0

    def watermark(self, shard_id: str) -> str | None:
        return self.watermarks.get(shard_id)

    def append(self, shard_id: str, rows: list[EnrichedEvent], last_sequence: str) -> int:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("injected lake failure")
        mark = self.watermarks.get(shard_id)
        if mark is not None and int(mark) >= int(last_sequence):
            return 0
        self.rows.extend(rows)
        self.watermarks[shard_id] = last_sequence
        return len(rows)

    def unapplied(self, shard_id: str) -> bytes | None:
        return self.unapplied_by_shard.get(shard_id)

    def record_unapplied(self, shard_id: str, packed: bytes) -> None:
        self.unapplied_writes += 1
        if packed:
            self.unapplied_by_shard[shard_id] = packed
        else:
            self.unapplied_by_shard.pop(shard_id, None)


class MemoryPoison:
    """Poison items in arrival order, each stored once per name (as the rejected store keeps them)."""

    def __init__(self) -> None:
        self.items: list[PoisonItem] = []
        self._names: set[str] = set()

    def record_poison(self, items: list[PoisonItem]) -> None:
        for item in items:
            if item.name not in self._names:
                self._names.add(item.name)
                self.items.append(item)


def memory_enrich_ports() -> tuple[EnrichPorts, MemoryVisitors, MemoryLake, MemoryCounters]:
    """Enrich's ports on in-memory adapters (the default journey rules), and the adapters themselves."""
    from reviva.enrich.journey_rules import load_journey_rules
    from reviva.enrich.service import EnrichPorts

    counters = MemoryCounters()
    visitors = MemoryVisitors(counters)
    lake = MemoryLake()
    return (
        EnrichPorts(visitors, counters, lake, MemoryPoison(), load_journey_rules(None)),
        visitors,
        lake,
        counters,
    )
