"""Cookieless visitor keys: a daily-rotating salted hash, the salt deleted when it rotates.

Before a visitor grants analytics consent the tracker stores nothing and sends no identifier.
Ingest derives a visitor key for the day instead: `c_` + HMAC-SHA256(salt of the day,
truncated IP | user agent | site host), first 32 hex digits. The same browser on the same network
and site gets the same key all day, so sessions and funnels still work, but tomorrow's salt is
unrelated to today's and today's is deleted once tomorrow's exists: after that nobody, us
included, can recompute or link the keys of past days.

The salt must be the same in every Lambda container, so it lives in a `SaltStore`: DynamoDB in
AWS (an item in the counters table with a TTL at the end of its day as a backstop, actively
deleted at rotation) or memory for tests and benchmarks. `DailySalt` caches the salt of the
current UTC day per container and never holds an older one.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from reviva.settings import Settings

COOKIELESS_PREFIX: Final = "c_"
SALT_BYTES: Final = 32
# Partition of the counters table that holds salts: never read by the counters views ("M#…").
SALT_PARTITION: Final = "SALT#cookieless"


class SaltStore(Protocol):
    """Where the salt of each day is shared between containers."""

    def get_or_create(self, day: date, candidate: bytes, expires_at: datetime) -> bytes:
        """The salt of `day`: the stored one, or `candidate` stored now if there is none."""
        ...

    def delete_before(self, day: date) -> int:
        """Delete the salts of every day before `day`; returns how many were deleted."""
        ...


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


class DynamoSaltStore:
    """Salts as items of a DynamoDB table with a TTL attribute (the counters table).

    Creation is a conditional put, so two containers starting the day at once agree on one salt.
    """

    def __init__(self, dynamodb: Any, table_name: str, *, ttl_attribute: str = "expires_at") -> None:
        self._dynamodb = dynamodb
        self._table = table_name
        self._ttl_attribute = ttl_attribute

    def get_or_create(self, day: date, candidate: bytes, expires_at: datetime) -> bytes:
        """Read the day's salt, or store `candidate` if no container stored one yet."""
        key = {"pk": {"S": SALT_PARTITION}, "sk": {"S": day.isoformat()}}
        found = self._dynamodb.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        if found is not None:
            return bytes(found["salt"]["B"])
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    **key,
                    "salt": {"B": candidate},
                    self._ttl_attribute: {"N": str(int(expires_at.timestamp()))},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
            return candidate
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            # Another container created it between our read and our put: use theirs.
            item = self._dynamodb.get_item(TableName=self._table, Key=key, ConsistentRead=True)["Item"]
            return bytes(item["salt"]["B"])

    def delete_before(self, day: date) -> int:
        """Delete every stored salt older than `day` (normally just yesterday's)."""
        response = self._dynamodb.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk < :day",
            ExpressionAttributeValues={":pk": {"S": SALT_PARTITION}, ":day": {"S": day.isoformat()}},
            ProjectionExpression="pk, sk",
            ConsistentRead=True,
        )
        items = response.get("Items", [])
        for item in items:
            self._dynamodb.delete_item(TableName=self._table, Key={"pk": item["pk"], "sk": item["sk"]})
        return len(items)


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


def salt_store_from_settings(settings: Settings) -> SaltStore:
    """The deployed salt store: the counters table (TTL enabled) at the configured endpoint."""
    from reviva.aws_clients import client

    return DynamoSaltStore(client("dynamodb", settings), settings.counters_table)
