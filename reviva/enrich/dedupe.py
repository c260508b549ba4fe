"""Recently applied messageIds of one visitor, for de-duplicating client retries.

Kept as fixed-size digests packed in one binary attribute: 8 bytes an id, so the window costs a
couple of KB on the profile item rather than a write per message. Retries arrive within minutes
of the original, so a window of the last `WINDOW` ids per visitor catches them; a duplicate older
than that is not detected (named in docs/architecture.md).
"""

from __future__ import annotations

import hashlib

DIGEST_BYTES = 8
WINDOW = 200


def message_digest(message_id: str) -> bytes:
    """The 8-byte digest a messageId is remembered by."""
    return hashlib.blake2b(message_id.encode(), digest_size=DIGEST_BYTES).digest()


class RecentMessageIds:
    """A bounded, ordered set of message digests."""

    def __init__(self, packed: bytes | None = None, window: int = WINDOW) -> None:
        self._window = window
        packed = packed or b""
        self._order = [packed[i : i + DIGEST_BYTES] for i in range(0, len(packed), DIGEST_BYTES)]
        self._members = set(self._order)

    def __contains__(self, message_id: str) -> bool:
        return message_digest(message_id) in self._members

    def add(self, message_id: str) -> None:
        """Remember `message_id`, forgetting the oldest beyond the window."""
        digest = message_digest(message_id)
        if digest in self._members:
            return
        self._order.append(digest)
        self._members.add(digest)
        if len(self._order) > self._window:
            oldest = self._order.pop(0)
            self._members.discard(oldest)

    def pack(self) -> bytes:
        """The binary form stored on the profile item."""
        return b"".join(self._order)

    def __len__(self) -> int:
        return len(self._order)
