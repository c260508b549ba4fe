"""Which days' data changed when: what tells a stored rollup that late data has reached its day.

Every daily rollup records the lake version (commit sequence number) it was computed from. The
change log records, per event day, the sequence number of the newest commit that added or removed
rows of that day, as the lake's commit history tells it (`ports.LakeHistory`). A rollup is current
exactly when no commit after its own version changed its day. Events that arrive days late (the
tracker's offline queue, ingest's 30-day window) or an erasure therefore mark precisely the days
they touch, and nothing else.

The log is kept in the analytics object store because the lake forgets: snapshot expiry removes old
commits, and a rollup computed long ago must still be judged. It is brought up to date by folding in
the commits after `through` on every use. When commits were expired before the log read them,
`floor` records from which version on changes are known: a rollup older than that is recomputed.
Concurrent writers are harmless: a log is always correct up to its own `through`, so a log
overwritten by an older one only makes the next reader fold a few commits again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from reviva.analytics.ports import LakeHistory, LakeVersion, ObjectStore
from reviva.analytics.store import get_json, put_json

CHANGE_LOG_KEY = "rollups/changes.json"
_FORMAT = 1


@dataclass
class ChangeLog:
    """The newest changing commit per day, complete up to the lake version `through`."""

    through: int | None = None
    floor: int = 0
    days: dict[date, int] = field(default_factory=dict)
    # The log's `through` when the rollup schedule last recomputed the days changed before it.
    scheduled_through: int | None = None

    def changed_after(self, day: date, sequence: int) -> bool:
        """Whether `day`'s data changed after lake version `sequence` (or may have: below the floor)."""
        return sequence < self.floor or self.days.get(day, 0) > sequence

    def changed_since(self, sequence: int | None) -> list[date]:
        """Every day a commit after `sequence` changed (all known days when None), oldest first."""
        return sorted(day for day, changed in self.days.items() if sequence is None or changed > sequence)

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "format": _FORMAT,
            "through": self.through,
            "floor": self.floor,
            "scheduled_through": self.scheduled_through,
            "days": {day.isoformat(): sequence for day, sequence in sorted(self.days.items())},
        }

    @classmethod
    def from_json(cls, value: Any) -> ChangeLog:
        """A stored log; an unknown or missing one starts afresh (every rollup is then re-judged)."""
        if not isinstance(value, dict) or value.get("format") != _FORMAT:
            return cls()
        return cls(
            through=value.get("through"),
            floor=int(value.get("floor") or 0),
            scheduled_through=value.get("scheduled_through"),
            days={date.fromisoformat(day): int(sequence) for day, sequence in value["days"].items()},
        )


def current_change_log(history: LakeHistory, store: ObjectStore) -> tuple[ChangeLog, LakeVersion | None]:
    """The stored log with the lake's newer commits folded in (stored again when it moved), and the
    lake version it is complete up to."""
    log = ChangeLog.from_json(get_json(store, CHANGE_LOG_KEY))
    changes = history.changes_since(log.through)
    current = changes.current
    if current is None or (log.through is not None and current.sequence <= log.through):
        return log, current
    for day, sequence in changes.days.items():
        log.days[day] = max(log.days.get(day, 0), sequence)
    if changes.known_from is not None:
        log.floor = max(log.floor, changes.known_from)
    log.through = current.sequence
    put_json(store, CHANGE_LOG_KEY, log.to_json())
    return log, current
