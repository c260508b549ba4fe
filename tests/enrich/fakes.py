"""In-memory adapters for the enrich service's ports, with failure injection."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Sequence

from reviva.enrich.ports import (
    ConcurrentUpdate,
    MinuteCounts,
    PoisonItem,
    StoredVisitor,
    VisitorCommit,
)
from reviva.enrich.visitor_state import SessionState
from reviva.events import EnrichedEvent


class MemoryVisitors:
    """Visitor items in a dict; `fail_keys` makes a visitor's commit raise (a crash mid-batch)."""

    def __init__(self) -> None:
        self.profiles: dict[str, StoredVisitor] = {}
        self.sessions: dict[str, dict[str, SessionState]] = {}
        self.links: set[tuple[str, str]] = set()
        self.fail_keys: set[str] = set()
        self.loads = 0
        self.commits = 0

    def load(self, visitor_keys: Sequence[str]) -> dict[str, StoredVisitor]:
        self.loads += 1
        return {k: copy.deepcopy(self.profiles[k]) for k in visitor_keys if k in self.profiles}

    def commit(self, commit: VisitorCommit) -> None:
        if commit.visitor_key in self.fail_keys:
            raise RuntimeError(f"injected failure for {commit.visitor_key}")
        current = self.profiles.get(commit.visitor_key)
        if (current.version if current else 0) != commit.expected_version:
            raise ConcurrentUpdate(commit.visitor_key)
        state = commit.state.model_copy(deep=True)
        state.closed_sessions = []
        self.profiles[commit.visitor_key] = StoredVisitor(
            state=state,
            version=commit.expected_version + 1,
            watermarks=dict(commit.watermarks),
            recent_ids=commit.recent_ids,
        )
        for session in commit.sessions:
            self.sessions.setdefault(commit.visitor_key, {})[session.session_id] = session.model_copy(
                deep=True
            )
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

    def watermark(self, shard_id: str) -> str | None:
        return self.watermarks.get(shard_id)

    def commit(
        self, shard_id: str, expected: str | None, new_watermark: str, minutes: dict[str, MinuteCounts]
    ) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("injected counter failure")
        if self.watermarks.get(shard_id) != expected:
            raise ConcurrentUpdate(shard_id)
        for bucket, counts in minutes.items():
            for label, amount in counts.counts.items():
                self.counts[label] += amount
            self.visitors.setdefault(bucket, set()).update(counts.visitors)
        self.watermarks[shard_id] = new_watermark


class MemoryLake:
    def __init__(self) -> None:
        self.rows: list[EnrichedEvent] = []
        self.watermarks: dict[str, str] = {}
        self.fail_next = 0

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


class MemoryPoison:
    def __init__(self) -> None:
        self.items: list[PoisonItem] = []

    def record_poison(self, items: list[PoisonItem]) -> None:
        self.items.extend(items)
