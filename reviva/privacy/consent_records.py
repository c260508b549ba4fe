"""Consent records: the append-only history that proves what a visitor agreed to, and when.

`POST /v1/privacy/consent` (write key) is called when a visitor decides: by the tracker's
`consent()`, or by any consent banner. One record holds the policy version shown, each category
(analytics, marketing, personalization) as granted or refused, when the visitor decided, where
(`source`: the banner or platform), when it was recorded, and the visitor's keys as ingest stores
them (the anonymous id, the user id's pseudonym; never a raw user id or e-mail address). Failing
closed as ingest does: a category the body does not name, or names with anything but `true`, is
recorded as refused. Records are never changed or deleted except by erasure; a new decision is a
new record, so the history is the proof.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reviva.contracts.visitor_key import anonymous_key, user_key
from reviva.privacy.consent import CATEGORIES
from reviva.privacy.pseudonymize import looks_like_email, looks_like_phone

MAX_TEXT = 128
MAX_ID = 256
# A decision stamped further from the receipt than this is not believed: the receipt time stands.
CLOCK_TOLERANCE = timedelta(days=1)


class InvalidConsentRecord(ValueError):
    """The body is not a consent record; `field` names what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class ConsentRecord:
    """One decision, as stored."""

    record_id: str
    visitor_key: str | None  # the key profiles use: the anonymous id's, else the user's
    anonymous_id: str | None
    user_pseudonym: str | None
    policy_version: str
    granted: tuple[str, ...]
    refused: tuple[str, ...]
    decided_at: datetime
    recorded_at: datetime
    source: str


def _text(body: Mapping[str, Any], name: str, limit: int, *, required: bool) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise InvalidConsentRecord(name, "is required")
        return None
    if not isinstance(value, str):
        raise InvalidConsentRecord(name, "must be a string")
    if len(value) > limit:
        raise InvalidConsentRecord(name, f"must be at most {limit} characters")
    if any(ord(ch) < 32 for ch in value) or any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise InvalidConsentRecord(name, "must not hold control characters")
    return value


def _categories(body: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    given = body.get("categories")
    if not isinstance(given, Mapping):
        raise InvalidConsentRecord("categories", "must be an object of category: true or false")
    unknown = sorted(str(name) for name in given if name not in CATEGORIES)
    if unknown:
        raise InvalidConsentRecord(
            "categories", f"unknown category {unknown[0][:40]!r}; the categories are {', '.join(CATEGORIES)}"
        )
    for name, value in given.items():
        if not isinstance(value, bool):
            raise InvalidConsentRecord(f"categories.{name}", "must be true or false")
    granted = tuple(name for name in CATEGORIES if given.get(name) is True)
    return granted, tuple(name for name in CATEGORIES if name not in granted)


def _decided_at(body: Mapping[str, Any], received_at: datetime) -> datetime:
    value = body.get("timestamp")
    if value is None:
        return received_at
    if not isinstance(value, str) or len(value) > 40:
        raise InvalidConsentRecord("timestamp", "must be an ISO 8601 date-time")
    try:
        stamped = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidConsentRecord("timestamp", "must be an ISO 8601 date-time") from None
    if stamped.tzinfo is None:
        raise InvalidConsentRecord("timestamp", "must carry a time zone (e.g. Z)")
    return stamped if abs(stamped - received_at) <= CLOCK_TOLERANCE else received_at


def parse_consent_record(
    body: Any, received_at: datetime, pseudonymize_user_id: Callable[[str], str]
) -> ConsentRecord:
    """The record a request body describes; `InvalidConsentRecord` naming the field otherwise."""
    if not isinstance(body, Mapping):
        raise InvalidConsentRecord("body", "must be a JSON object")
    anonymous_id = _text(body, "anonymousId", MAX_ID, required=False)
    user_id = _text(body, "userId", MAX_ID, required=False)
    if anonymous_id is not None and (looks_like_email(anonymous_id) or looks_like_phone(anonymous_id)):
        raise InvalidConsentRecord(
            "anonymousId", "must be an anonymous id, not an e-mail address or phone number"
        )
    policy_version = _text(body, "policyVersion", MAX_TEXT, required=True)
    assert policy_version is not None
    source = _text(body, "source", MAX_TEXT, required=False) or "api"
    granted, refused = _categories(body)
    decided_at = _decided_at(body, received_at)
    user_pseudonym = pseudonymize_user_id(user_id) if user_id is not None else None
    visitor_key = (
        anonymous_key(anonymous_id)
        if anonymous_id is not None
        else user_key(user_pseudonym)
        if user_pseudonym is not None
        else None
    )
    identity = "|".join(
        [
            visitor_key or "",
            user_pseudonym or "",
            policy_version,
            ",".join(granted),
            decided_at.isoformat(),
            received_at.isoformat(),
            source,
        ]
    )
    return ConsentRecord(
        record_id="cr_" + hashlib.blake2b(identity.encode("utf-8"), digest_size=12).hexdigest(),
        visitor_key=visitor_key,
        anonymous_id=anonymous_id,
        user_pseudonym=user_pseudonym,
        policy_version=policy_version,
        granted=granted,
        refused=refused,
        decided_at=decided_at,
        recorded_at=received_at,
        source=source,
    )
