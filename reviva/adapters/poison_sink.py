"""Poison stream records go to the rejected-events store, beside ingest's bad rows."""

from __future__ import annotations

from reviva.enrich.ports import PoisonItem
from reviva.ingest.ports import RejectedStore, Rejection


class RejectedPoisonSink:
    """The enrich stage's `PoisonSink` on the shared rejected store."""

    def __init__(self, store: RejectedStore) -> None:
        self._store = store

    def record_poison(self, items: list[PoisonItem]) -> None:
        """Store each poison record with its reason and where it sat on the stream."""
        self._store.record(
            [
                Rejection(
                    stage="enrich",
                    reason=f"{item.reason} (shard {item.shard_id}, sequence {item.sequence_number})",
                    raw=item.raw,
                )
                for item in items
            ]
        )
