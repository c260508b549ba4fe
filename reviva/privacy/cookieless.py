"""Cookieless visitor keys: a daily-rotating salted hash, the salt deleted when it rotates.

Before a visitor grants analytics consent the tracker stores nothing and sends no identifier.
Ingest derives a visitor key for the day instead: `c_` + HMAC-SHA256(salt of the day,
truncated IP | user agent | site host), first 32 hex digits. The same browser on the same network
and site gets the same key all day, so sessions and funnels still work, but tomorrow's salt is
unrelated to today's and today's is deleted once tomorrow's exists: after that nobody, us
included, can recompute or link the keys of past days.

The salt must be the same in every Lambda container, so it lives in a `SaltStore`
(`reviva.privacy.ports`): DynamoDB in AWS (`reviva.adapters.dynamodb.salt_store`: an item in the counters
table with a TTL at the end of its day as a backstop, actively deleted at rotation) or memory for
tests and benchmarks. `DailySalt` caches the salt of the current UTC day per container and never
holds an older one.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from reviva.contracts.visitor_key import COOKIELESS_PREFIX
from reviva.privacy.ports import SaltStore

SALT_BYTES: Final = 32


class MemorySaltStore:
    """Salts in process memory: tests, benchmarks, and a single-process ingest."""

    def __init__(self) -> None:
        self.salts: dict[date, bytes] = {}

    def get_or_create(self, day: date, candidate: bytes, expires_at: datetime) -> bytes:
        """The salt of `day`, created from `candidate` on first use."""
        return self.salts.setdefault(day, candidate)

    def delete_before(self, day: date) -> int:
        """Forget the salts of earlier days."""
        old = [stored for stored in self.salts if stored < day]
        for stored in old:
            del self.salts[stored]
        return len(old)


def end_of_day(day: date) -> datetime:
    """The first instant of the next UTC day: when `day`'s salt stops being usable."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


class DailySalt:
    """The salt of the current UTC day, cached per container; rotation deletes older salts."""

    def __init__(
        self,
        store: SaltStore,
        *,
        token: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self._store = store
        self._token = token
        self._lock = threading.Lock()
        self._cached: tuple[date, bytes] | None = None

    def salt_for(self, now: datetime) -> bytes:
        """The salt of `now`'s UTC day (created, and the previous ones deleted, on first use)."""
        day = now.astimezone(UTC).date()
        cached = self._cached
        if cached is not None and cached[0] == day:
            return cached[1]
        with self._lock:
            if self._cached is not None and self._cached[0] == day:
                return self._cached[1]
            # Drop the old salt from memory before anything else can fail.
            self._cached = None
            salt = self._store.get_or_create(day, self._token(SALT_BYTES), end_of_day(day))
            self._store.delete_before(day)
            self._cached = (day, salt)
            return salt


def cookieless_id(salt: bytes, ip_truncated: str | None, user_agent: str | None, site: str | None) -> str:
    """The visitor key of the day: "c_" + 32 hex digits of HMAC-SHA256(salt, ip | user agent | site).

    Only the truncated IP enters the hash, so the key can never be more precise than the /24
    (/48) the rest of the system keeps.
    """
    material = "\x1f".join((ip_truncated or "", user_agent or "", (site or "").lower()))
    digest = hmac.digest(salt, material.encode("utf-8", "surrogatepass"), "sha256")
    return COOKIELESS_PREFIX + digest.hex()[:32]
