"""The visitor key: who an event, a profile, a session or an identity link belongs to.

Every stage keys a visitor the same way, so the format is defined once, here:

- `a:<anonymousId>`: a browser or device (the tracker's anonymous id, or the day's cookieless
  key `c_<hex>` that ingest derives without analytics consent);
- `u:<pseudonym>`: a known customer (the keyed pseudonym of their userId; never the raw id).

The key is also the stream's partition key, so one visitor's events stay in order on one shard.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

ANONYMOUS_PREFIX: Final = "a:"
USER_PREFIX: Final = "u:"
# Cookieless anonymous ids (reviva.privacy.cookieless): reserved, a sender may not choose one.
COOKIELESS_PREFIX: Final = "c_"


class VisitorKind(StrEnum):
    """Whose key it is: a browser or device, or a known customer."""

    ANONYMOUS = "anonymous"
    USER = "user"


_PREFIXES: Final = {VisitorKind.ANONYMOUS: ANONYMOUS_PREFIX, VisitorKind.USER: USER_PREFIX}


class InvalidVisitorKey(ValueError):
    """Text that is not a visitor key."""


@dataclass(frozen=True, slots=True)
class VisitorKey:
    """A parsed visitor key: its kind and the id after the prefix."""

    kind: VisitorKind
    id: str

    @classmethod
    def anonymous(cls, anonymous_id: str) -> VisitorKey:
        """The key of a browser or device."""
        return cls(VisitorKind.ANONYMOUS, anonymous_id)

    @classmethod
    def user(cls, user_pseudonym: str) -> VisitorKey:
        """The key of a known customer, from the pseudonym of their userId."""
        return cls(VisitorKind.USER, user_pseudonym)

    @classmethod
    def parse(cls, text: str) -> VisitorKey:
        """Read a stored key; `InvalidVisitorKey` for anything else."""
        if text.startswith(ANONYMOUS_PREFIX):
            return cls(VisitorKind.ANONYMOUS, text[len(ANONYMOUS_PREFIX) :])
        if text.startswith(USER_PREFIX):
            return cls(VisitorKind.USER, text[len(USER_PREFIX) :])
        raise InvalidVisitorKey(f"{text[:40]!r} is not a visitor key (a:<anonymousId> or u:<pseudonym>)")

    @staticmethod
    def is_key(text: str) -> bool:
        """True when `text` is written as a visitor key (has a kind prefix)."""
        return text.startswith((ANONYMOUS_PREFIX, USER_PREFIX))

    @staticmethod
    def format(kind: VisitorKind, visitor_id: str) -> str:
        """The key's text without building a `VisitorKey` (ingest's per-event hot path)."""
        return _PREFIXES[kind] + visitor_id

    @property
    def is_cookieless(self) -> bool:
        """A cookieless key of the day: no persistent identifier behind it."""
        return self.kind is VisitorKind.ANONYMOUS and self.id.startswith(COOKIELESS_PREFIX)

    def __str__(self) -> str:
        return _PREFIXES[self.kind] + self.id


def anonymous_key(anonymous_id: str) -> str:
    """`a:<anonymousId>`."""
    return ANONYMOUS_PREFIX + anonymous_id


def user_key(user_pseudonym: str) -> str:
    """`u:<pseudonym>`."""
    return USER_PREFIX + user_pseudonym


# Identity links also join an e-mail address's keyed pseudonym ("h_…", never the address) to the
# visitor keys it was given on: `e:<pseudonym>` is a search key, not a visitor, so merging a person's
# history never follows it (two people may share a mailbox).
EMAIL_LINK_PREFIX: Final = "e:"


def email_link_key(email_pseudonym: str) -> str:
    """`e:<pseudonym of an e-mail address>`: where the People search finds who gave that address."""
    return EMAIL_LINK_PREFIX + email_pseudonym
