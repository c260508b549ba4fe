"""Messages already in the lake and the live counters that no profile holds yet.

Enrich writes the lake, then the counters, then each visitor. When a visitor's write fails, its
events are already in the lake and counted; Lambda redelivers them and the watermarks make the
retry exact. But when the retries run out (the visitors table throttled or unavailable for
longer than they last), those events stay in the lake and the counters and in no profile, so the
profile's window of recent messageIds cannot recognise them: a client re-sending them, or a
replay, would write their lake rows and count them a second time.

So the lake keeps, per shard, the set of such messages, each marked with whether the counters hold
it too. A visitor write that fails adds every event it carried (all are in the lake and counted by
then); a failed counter commit adds every visitor's events of the batch, as in the lake only. An
event found in the set is applied to its profile without a second lake row, and counted only if
the counters do not hold it; a visitor write that succeeds removes its events. The set is read
with the shard's watermark (the same table load) and written only when it changes, which happens
only around a failure: an ordinary batch pays nothing.

An entry is remembered by the 8-byte BLAKE2b digest of (visitor key, messageId): with at most
`MAX_ENTRIES` entries, a new message is mistaken for one of them with probability below
2**20 / 2**64 ≈ 6e-14, and only while a failure's entries are held. An entry is true for good (the
message is in the lake), so forgetting is only a matter of size: entries are dropped after
`KEEP_DAYS` days (ingest refuses events older than `MAX_EVENT_AGE`, so no re-send of an older
message can arrive) and beyond `MAX_ENTRIES` (oldest first, with a warning).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import date, timedelta

from reviva.segment.limits import MAX_EVENT_AGE

logger = logging.getLogger(__name__)

DIGEST_BYTES = 8
DAY_BYTES = 4  # the day an entry was added, with the top bit set when the counters hold it too
_COUNTED = 1 << (DAY_BYTES * 8 - 1)
ENTRY_BYTES = DIGEST_BYTES + DAY_BYTES
# Ingest's age limit, plus a day either side of the clock for the skew correction.
KEEP_DAYS = MAX_EVENT_AGE.days + 2
# About 12 MB: a shard's whole traffic for hours of an outage of the visitors table.
MAX_ENTRIES = 1 << 20
_EPOCH = date(1970, 1, 1)


def message_key(visitor_key: str, message_id: str) -> bytes:
    """The digest a message of a visitor is remembered by."""
    joined = f"{visitor_key}\x00{message_id}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(joined, digest_size=DIGEST_BYTES).digest()


class UnappliedMessages:
    """One shard's messages in the lake (and maybe the counters) but in no profile, by day added."""

    def __init__(self, packed: bytes | None = None) -> None:
        self._days: dict[bytes, int] = {}
        data = packed or b""
        for start in range(0, len(data) - len(data) % ENTRY_BYTES, ENTRY_BYTES):
            digest = data[start : start + DIGEST_BYTES]
            self._days[digest] = int.from_bytes(data[start + DIGEST_BYTES : start + ENTRY_BYTES], "big")
        self._changed = False

    def __contains__(self, key: bytes) -> bool:
        """Whether the lake holds the message."""
        return key in self._days

    def is_counted(self, key: bytes) -> bool:
        """Whether the live counters hold the message too."""
        return bool(self._days.get(key, 0) & _COUNTED)

    def __len__(self) -> int:
        return len(self._days)

    @property
    def changed(self) -> bool:
        """Whether `add`, `discard` or `forget_before` changed the set since it was read."""
        return self._changed

    def add(self, messages: Iterable[tuple[bytes, bool]], today: date) -> None:
        """Remember (key, counted) messages as in the lake, and if counted in the counters, in no profile.

        A message once counted stays counted: the counters never forget it.
        """
        added = (today - _EPOCH).days
        for key, counted in messages:
            before = self._days.get(key)
            day = added | (_COUNTED if counted else 0) | ((before or 0) & _COUNTED)
            if before != day:
                self._days.pop(key, None)  # re-inserted: a dict keeps insertion order, oldest first
                self._days[key] = day
                self._changed = True
        overflow = len(self._days) - MAX_ENTRIES
        if overflow > 0:
            for key in list(self._days)[:overflow]:
                del self._days[key]
            logger.warning(
                "unapplied messages over their cap: the oldest forgotten",
                extra={"forgotten": overflow, "cap": MAX_ENTRIES},
            )

    def discard(self, keys: Iterable[bytes]) -> None:
        """Forget messages a profile now holds."""
        for key in keys:
            if self._days.pop(key, None) is not None:
                self._changed = True

    def forget_before(self, today: date) -> None:
        """Forget entries older than `KEEP_DAYS`: no re-send of them can reach the stream any more."""
        oldest = (today - timedelta(days=KEEP_DAYS) - _EPOCH).days
        stale = [key for key, day in self._days.items() if day & ~_COUNTED < oldest]
        for key in stale:
            del self._days[key]
        self._changed = self._changed or bool(stale)

    def pack(self) -> bytes:
        """The stored form: entries back to back, oldest first."""
        return b"".join(key + day.to_bytes(DAY_BYTES, "big") for key, day in self._days.items())
