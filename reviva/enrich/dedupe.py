"""Recently applied messageIds of one visitor, for de-duplicating client retries.

Kept as fixed-size digests packed in one binary attribute on the profile item, whose size is what
every visitor write is billed by (1 WRU per KB).

The window. A client retries a request it got no answer for before it sends the next one (the
tracker and Segment's SDKs send one request at a time; the tracker's `maxBatch`, the largest
request, is 100 messages), and a retry may carry the unanswered messages together with newer ones.
So the duplicates of a message arrive within the next ~100 messages of its visitor: a window of
`WINDOW` = 128 ids catches a retried full request, with room for another tab of the same browser
interleaving a few messages. A smaller window (64) would let up to 36 duplicates of a retried
100-message request through, so it is not used. A duplicate older than the window is not detected
(named in docs/architecture.md). Redelivered Kinesis records never reach this check: the per-shard
watermark on the profile item skips them first.

The digest. A new message is wrongly taken for a duplicate (and dropped) only if its digest equals
one of the at most `WINDOW` digests remembered for its visitor: probability at most
128 / 2**44 ≈ 7.3e-12 per event. At 1 billion events a month (1.2e10 a year) that is at most
1.2e10 * 7.3e-12 ≈ 0.087 lost events a year — one in about 11 years — even if every visitor's
window were always full (most hold far fewer). 40-bit digests would lose ~1.4 events a year, so 44
bits is the shortest that keeps the loss well under one a year. The 44 bits are the top bits of
the 6-byte BLAKE2b digest the previous format stored, so a window stored in that format converts
exactly (`from_legacy`).

The packing. Digests are packed back to back, oldest first, 44 bits each, and the last byte padded
with zero bits: n digests take ceil(5.5 n) bytes (a full window 704 bytes; the previous 6-byte
digests took 768), and a packed window of L bytes holds floor(8 L / 44) digests.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable

DIGEST_BITS = 44
WINDOW = 128
# Whole deliveries. A record larger than the message window cannot be caught message by message
# when it is delivered twice (ingest re-putting a record whose PutRecords answer was lost, a client
# re-sending a request): each re-applied message evicts the id that would have caught the next.
# So a record of more than `DELIVERY_MIN_EVENTS` events is also remembered whole, by the digest of
# its sorted messageIds, in a window of its own. The tracker flushes at 20 messages, so its ordinary
# requests never reach the threshold and their profiles store nothing more (only a backlog flushed
# after a visitor was offline can); a request of 2,500 messages (Segment's limit) fills at most 5
# records of 500, well within the window.
DELIVERY_MIN_EVENTS = 32
DELIVERY_WINDOW = 16
LEGACY_DIGEST_BYTES = 6  # the previous format: whole 6-byte digests, back to back
_MASK = (1 << DIGEST_BITS) - 1
_LEGACY_SHIFT = LEGACY_DIGEST_BYTES * 8 - DIGEST_BITS


def message_digest(message_id: str) -> int:
    """The 44-bit digest a messageId is remembered by (the top bits of its 6-byte BLAKE2b digest)."""
    legacy = hashlib.blake2b(message_id.encode(), digest_size=LEGACY_DIGEST_BYTES).digest()
    return int.from_bytes(legacy, "big") >> _LEGACY_SHIFT


def delivery_key(message_ids: Iterable[str]) -> str:
    """What a whole delivery is remembered by: its messageIds, in any order, as one key."""
    joined = "\n".join(sorted(message_ids)).encode("utf-8", "surrogatepass")
    return "delivery:" + hashlib.blake2b(joined, digest_size=16).hexdigest()


def pack_digests(digests: Iterable[int]) -> bytes:
    """Digests back to back, `DIGEST_BITS` each, the last byte padded with zero bits."""
    value = 0
    count = 0
    for digest in digests:
        value = (value << DIGEST_BITS) | (digest & _MASK)
        count += 1
    if not count:
        return b""
    size = (count * DIGEST_BITS + 7) // 8
    return (value << (size * 8 - count * DIGEST_BITS)).to_bytes(size, "big")


def unpack_digests(packed: bytes) -> list[int]:
    """The digests `pack_digests` packed, in order."""
    if not packed:
        return []
    count = len(packed) * 8 // DIGEST_BITS
    value = int.from_bytes(packed, "big") >> (len(packed) * 8 - count * DIGEST_BITS)
    return [(value >> (DIGEST_BITS * (count - 1 - i))) & _MASK for i in range(count)]


def from_legacy(packed: bytes | None) -> bytes:
    """A window stored by the previous format (6-byte digests) in the current packing, same order."""
    if not packed:
        return b""
    step = LEGACY_DIGEST_BYTES
    return pack_digests(
        int.from_bytes(packed[i : i + step], "big") >> _LEGACY_SHIFT for i in range(0, len(packed), step)
    )


class RecentMessageIds:
    """A bounded, ordered set of message digests (oldest forgotten first)."""

    def __init__(self, packed: bytes | None = None, window: int = WINDOW) -> None:
        self._window = window
        # A digest stored twice (two legacy digests that share their top 44 bits) is kept once, at
        # its latest position, so forgetting the older copy cannot forget it.
        latest = {digest: index for index, digest in enumerate(unpack_digests(packed or b""))}
        ordered = sorted(latest, key=latest.__getitem__)[-window:] if window else []
        self._order: deque[int] = deque(ordered)
        self._members = set(ordered)

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
            self._members.discard(self._order.popleft())

    def pack(self) -> bytes:
        """The binary form stored on the profile item."""
        return pack_digests(self._order)

    def __len__(self) -> int:
        return len(self._order)
