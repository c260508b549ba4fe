"""The rejected-events store on DynamoDB: bad rows, with their reason and (masked) raw payload.

Ingest records messages and requests it refused; enrich records poison records. Operators list
them newest first (`GET /v1/rejected?limit=N`). Items live in day partitions ("R#<YYYY-MM-DD>",
sort key "<ISO time>#<uuid>") so listing the recent ones is a few queries, never a scan, and
expire after 30 days through the table's TTL. A rejection with a stable name (enrich's poison)
is keyed "<ISO time>#<name>" instead, so storing it again on a redelivery overwrites it.
Payloads, reasons and message ids are masked (`mask_pii`, the privacy policy's walker) and cut
before they are stored: a bad row must not become a way around the privacy rules (a reason may
echo a header, an invalid message's id may be an e-mail address).
`RejectedRepository` implements the `RejectedStore` port (`reviva.ingest.ports`).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from reviva.adapters.dynamodb.tables import RejectedItem
from reviva.ingest.ports import Rejection
from reviva.privacy.pseudonymize import HmacKey, mask_pii

logger = logging.getLogger(__name__)

MAX_RAW_BYTES: Final = 32 * 1024
MAX_REASON_CHARS: Final = 2_000
RETENTION: Final = timedelta(days=30)
TRUNCATION_MARK: Final = "…[truncated]"


def _now() -> datetime:
    return datetime.now(UTC)


def day_partition(moment: datetime) -> str:
    """The partition key holding rejections of `moment`'s UTC day."""
    return "R#" + moment.astimezone(UTC).strftime("%Y-%m-%d")


def _as_text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return json.dumps(raw, ensure_ascii=False, separators=(",", ":"), default=str)
    except (ValueError, TypeError, RecursionError):
        return repr(raw)


def render_raw(raw: Any, key: HmacKey | None) -> str:
    """The stored form of a payload: PII masked, JSON text, at most 32 KB of UTF-8."""
    if isinstance(raw, bytes | bytearray):
        text = bytes(raw).decode("utf-8", errors="replace")
        try:
            raw = json.loads(text)
        except (ValueError, RecursionError):
            raw = text
    text = _as_text(mask_pii(raw, key))
    encoded = text.encode("utf-8", errors="replace")
    if len(encoded) <= MAX_RAW_BYTES:
        return encoded.decode("utf-8")
    room = MAX_RAW_BYTES - len(TRUNCATION_MARK.encode("utf-8"))
    return encoded[:room].decode("utf-8", errors="ignore") + TRUNCATION_MARK


class RejectedRepository:
    """`RejectedStore` on the DynamoDB rejected table (tables bound by `bind_tables`)."""

    def __init__(
        self,
        hmac_key: HmacKey | None = None,
        *,
        retention_days: int = RETENTION.days,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._hmac_key = hmac_key
        self._retention = timedelta(days=retention_days)
        self._clock = clock

    def record(self, rejections: Sequence[Rejection]) -> None:
        """Batch-write `rejections`; user ids are pseudonymized when the store has the HMAC key."""
        if not rejections:
            return
        # A named rejection is one item however often it is stored (one request may not name an
        # item twice, so the last of a name wins).
        items = {item.sk: item for item in map(self._item, rejections)}
        with RejectedItem.batch_write() as batch:
            for item in items.values():
                batch.save(item)

    def _item(self, rejection: Rejection) -> RejectedItem:
        moment = rejection.rejected_at.astimezone(UTC)
        return RejectedItem(
            day_partition(moment),
            f"{moment.isoformat(timespec='microseconds')}#{rejection.key or uuid.uuid4()}",
            stage=rejection.stage,
            reason=mask_pii(rejection.reason, self._hmac_key)[:MAX_REASON_CHARS] or "unknown",
            index=rejection.index,
            message_id=mask_pii(rejection.message_id, self._hmac_key) if rejection.message_id else None,
            source_id=rejection.source_id,
            raw=render_raw(rejection.raw, self._hmac_key),
            rejected_at=moment.isoformat(),
            expires_at=moment + self._retention,
        )

    def list_recent(self, limit: int) -> list[dict[str, Any]]:
        """The `limit` newest rejections, newest first, walking back day partitions up to the retention."""
        if limit <= 0:
            return []
        found: list[dict[str, Any]] = []
        today = self._clock().astimezone(UTC)
        for days_back in range(self._retention.days + 1):
            day = today - timedelta(days=days_back)
            for item in RejectedItem.query(
                day_partition(day), scan_index_forward=False, limit=limit - len(found)
            ):
                found.append(_as_dict(item))
                if len(found) >= limit:
                    return found
        return found


def _as_dict(item: RejectedItem) -> dict[str, Any]:
    return {
        "id": item.sk,
        "stage": item.stage,
        "reason": item.reason,
        "index": int(item.index) if item.index is not None else None,
        "message_id": item.message_id,
        "source_id": item.source_id,
        "raw": item.raw,
        "rejected_at": item.rejected_at,
    }
