"""Poison stream records go to the rejected-events store, beside ingest's bad rows."""

from __future__ import annotations

from datetime import UTC, datetime

from reviva.enrich.ports import PoisonItem
from reviva.ingest.ports import RejectedStore, Rejection


class RejectedPoisonSink:
    """The enrich stage's `PoisonSink` on the shared rejected store."""

    def __init__(self, store: RejectedStore) -> None:
        self._store = store

    def record_poison(self, items: list[PoisonItem]) -> None:
        """Store each poison item with its reason and where it sat on the stream, once.

        Its name on the stream and the time it was first seen make the stored item's key, so a
        redelivered batch finding the same poison overwrites it instead of adding a copy.
        """
        self._store.record(
            [
                Rejection(
                    stage="enrich",
                    reason=f"{item.reason} (shard {item.shard_id}, sequence {item.sequence_number})",
                    raw=item.raw,
                    index=item.index,
                    rejected_at=item.seen_at or datetime.now(UTC),
                    key=item.name,
                )
                for item in items
            ]
        )
