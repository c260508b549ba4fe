"""Recently applied messageIds of one visitor, for de-duplicating client retries.

Kept as fixed-size digests packed in one binary attribute on the profile item, whose size is what
every visitor write is billed by (1 WRU per KB). A client retries a request it got no answer for
before it sends the next one (the tracker and Segment's SDKs send one request at a time, at most
100 messages), so the duplicates of a message arrive within the next ~100 messages of its visitor:
a window of `WINDOW` ids catches them; a duplicate older than that is not detected (named in
docs/architecture.md). 6-byte digests keep the window at 768 bytes; the chance that a new message
collides with one of 128 remembered digests is 128 / 2**48 (~5e-13), a false "duplicate" in about
one of 2 trillion events.
"""

from __future__ import annotations

import hashlib

DIGEST_BYTES = 6
WINDOW = 128


def message_digest(message_id: str) -> bytes:
    """The 6-byte digest a messageId is remembered by."""
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
