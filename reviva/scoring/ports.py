"""What the scoring domain needs from the outside world."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Protocol

from reviva.scoring.stored_transaction import StoredTransaction


class TransactionStore(Protocol):
    """The lake's `transactions` table."""

    def existing_ids(self, days: Iterable[date]) -> set[str]:
        """The transaction ids already stored for these purchase days."""
        ...

    def append(self, rows: Sequence[StoredTransaction]) -> int:
        """Store these rows in one commit; how many were written."""
        ...


class Pseudonymizer(Protocol):
    """The keyed pseudonyms ingest stores instead of identifiers (`reviva.privacy.pseudonymize`)."""

    def user_id(self, value: str) -> str:
        """The pseudonym of a store's user id (or customer id), as ingest stores `userId`."""
        ...

    def email(self, value: str) -> str:
        """The pseudonym of an e-mail address, normalised as ingest normalises it."""
        ...
