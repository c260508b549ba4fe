"""The ports privacy needs from outside: where the cookieless day's salt is shared, where consent
records are kept.

The DynamoDB adapters live in `reviva.adapters.dynamodb.salt_store` and `consent_ledger`;
`MemorySaltStore` (`reviva.privacy.cookieless`) serves tests, benchmarks and a single-process ingest.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from reviva.privacy.consent_records import ConsentRecord


class SaltStore(Protocol):
    """Where the salt of each day is shared between containers."""

    def get_or_create(self, day: date, candidate: bytes, expires_at: datetime) -> bytes:
        """The salt of `day`: the stored one, or `candidate` stored now if there is none."""
        ...

    def delete_before(self, day: date) -> int:
        """Delete the salts of every day before `day`; returns how many were deleted."""
        ...


class ConsentLedger(Protocol):
    """The append-only history of consent decisions."""

    def append(self, record: ConsentRecord) -> None:
        """Store a record; storing the same record again changes nothing."""
        ...

    def history(self, visitor_key: str) -> list[ConsentRecord]:
        """Every record of one visitor key, oldest first."""
        ...
