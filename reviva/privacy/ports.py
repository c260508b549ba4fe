"""The port privacy needs from outside: where the cookieless day's salt is shared.

The DynamoDB adapter lives in `reviva.adapters.dynamodb.salt_store`; `MemorySaltStore`
(`reviva.privacy.cookieless`) serves tests, benchmarks and a single-process ingest.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol


class SaltStore(Protocol):
    """Where the salt of each day is shared between containers."""

    def get_or_create(self, day: date, candidate: bytes, expires_at: datetime) -> bytes:
        """The salt of `day`: the stored one, or `candidate` stored now if there is none."""
        ...

    def delete_before(self, day: date) -> int:
        """Delete the salts of every day before `day`; returns how many were deleted."""
        ...
