"""The privacy policy: every decision about the personal data one message may carry.

Ingest hands each raw message to `PrivacyPolicy.apply` once and gets back a `ProtectedMessage`:
the validated message and the fields an event may store, already protected. In order:

- consent: `context.consent` read category by category, failing closed, and the effective state
  after Global Privacy Control and Do Not Track (`reviva.privacy.consent.effective_consent`);
- without analytics consent, the cookieless path: a message that identifies anyone or is not a
  page/track is refused, the others get the day's cookieless visitor key
  (`reviva.privacy.cookieless`) and keep no stable identifier anywhere (identifier keys, hex
  digests, pseudonyms: `without_identifiers`); with it, the cookieless prefix `c_` is reserved;
- identifiers: userId and previousId become user pseudonyms, anonymousId, groupId and messageId
  stay unless they are e-mail addresses or phone numbers; an alias's previousId is also kept as
  the anonymous id it links only when it is one (`_is_anonymous_id`), never when it may be a user id;
- payloads: context (without its IP), properties and traits are scrubbed field by field, and so
  are event, page and screen names;
- without marketing consent, marketing data (personal fields, ad click ids) is removed at any
  depth of context, properties and traits, and from every URL (query and fragment).

IP addresses are kept only truncated (`network_of`), once per request at the edge of ingest.
Refusals raise `MessageRejectedError` with a reason the sender can read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from reviva.contracts.events import MessageType
from reviva.contracts.visitor_key import COOKIELESS_PREFIX
from reviva.privacy.consent import (
    ConsentRefusedError,
    check_cookieless,
    cookieless_context,
    effective_consent,
    names_without_identifiers,
    without_identifiers,
    without_marketing,
)
from reviva.privacy.cookieless import DailySalt, MemorySaltStore, cookieless_id
from reviva.privacy.ip import truncate_ip
from reviva.privacy.pseudonymize import (
    HmacKey,
    NestingTooDeepError,
    looks_like_email,
    looks_like_phone,
    pseudonymize_user_id,
    scrub,
    scrub_identifier,
)
from reviva.segment.messages import (
    AliasMessage,
    GroupMessage,
    MessageRejectedError,
    PageMessage,
    ScreenMessage,
    SegmentMessage,
    TrackMessage,
    parse_message,
)


class RequestSignals(Protocol):
    """What the policy reads from the request a message arrived in (ingest's `RequestContext`)."""

    @property
    def received_at(self) -> datetime: ...
    @property
    def implied_type(self) -> MessageType | None: ...
    @property
    def ip_truncated(self) -> str | None: ...
    @property
    def header_user_agent(self) -> str | None: ...
    @property
    def site_host(self) -> str | None: ...
    @property
    def gpc(self) -> bool: ...
    @property
    def dnt(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ProtectedMessage:
    """A validated message and the protected values its event stores.

    `message` is the validated model, for its type and times only: its identifiers and payloads
    are the raw ones. Everything an event stores comes from the other fields.
    """

    message: SegmentMessage
    message_id: str | None
    anonymous_id: str | None
    user_id: str | None
    context: dict[str, Any]
    properties: dict[str, Any]
    traits: dict[str, Any]
    consent: dict[str, bool] | None
    # Fields of one message type: event; name, category; previous_id, previous_anonymous_id; group_id.
    type_fields: dict[str, Any]


def host_of(url: Any) -> str | None:
    """The host of an absolute URL, lower-case; None for anything else."""
    if not isinstance(url, str) or "//" not in url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host or None


# The form every anonymousId generator we know of uses (analytics.js, Segment's and RudderStack's
# SDKs, our tracker): a UUID, 8-4-4-4-12 hex digits.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _is_anonymous_id(previous_id: str, anonymous_id: str | None) -> bool:
    """Whether an alias's previousId is an anonymous id (kept as is) rather than a user id (never).

    Segment's alias names the visitor's previous identity, which is its anonymousId when it was
    anonymous and its old userId when it was known; a userId is as identifying as an e-mail. Only
    the message's own anonymousId, or a UUID (what SDKs generate), is taken for an anonymous id;
    anything else is linked by its user pseudonym only.
    """
    if looks_like_email(previous_id) or looks_like_phone(previous_id):
        return False
    return previous_id == anonymous_id or _UUID.fullmatch(previous_id) is not None


class PrivacyPolicy:
    """Applies the privacy rules (see the module docstring) with one key and one daily salt."""

    def __init__(self, hmac_key: HmacKey, salts: DailySalt | None = None) -> None:
        self.hmac_key = hmac_key
        # The cookieless salt of the day; in memory unless the composition shares one (DynamoDB).
        self._salts = salts or DailySalt(MemorySaltStore())

    @staticmethod
    def network_of(ip: str | None) -> str | None:
        """The only form of a visitor's IP ingest keeps: its /24 (IPv4) or /48 (IPv6) network."""
        return truncate_ip(ip)

    def protect_header(self, value: str | None) -> str | None:
        """A request header's value as an event may store it (User-Agent): personal data replaced
        by the same rules as every field of a message."""
        return scrub(value, self.hmac_key) if value else value

    def apply(self, raw: Any, request: RequestSignals) -> ProtectedMessage:
        """Validate `raw` under its consent and protect what its event may store.

        Raises `MessageRejectedError` when the message is invalid or carries data its consent
        does not allow. This is on ingest's hot path: no I/O beyond the first salt of a day.
        """
        message_context = raw.get("context") if isinstance(raw, dict) else None
        consent = effective_consent(message_context, gpc_header=request.gpc, dnt_header=request.dnt)
        if consent is not None and not consent.analytics and isinstance(raw, dict):
            raw = self._cookieless(raw, request)
        elif isinstance(raw, dict) and str(raw.get("anonymousId") or "").startswith(COOKIELESS_PREFIX):
            raise MessageRejectedError(
                f"anonymousId: the prefix {COOKIELESS_PREFIX!r} is reserved for cookieless keys"
            )
        message = parse_message(raw, request.implied_type)
        key = self.hmac_key

        raw_context = message.context or {}
        if "ip" in raw_context:
            raw_context = {name: value for name, value in raw_context.items() if name != "ip"}
        try:
            context = scrub(raw_context, key) if raw_context else {}
            properties = scrub(message.properties, key) if message.properties else {}
            traits = scrub(message.traits, key) if message.traits else {}
        except NestingTooDeepError as error:
            raise MessageRejectedError(str(error)) from None
        type_fields = self._type_fields(message, key)
        if consent is not None:
            if not consent.marketing:
                context, properties, traits = without_marketing(context, properties, traits)
            if not consent.analytics:
                context = without_identifiers(context)
                properties = without_identifiers(properties)
                traits = without_identifiers(traits)
                type_fields = names_without_identifiers(type_fields)
            # The context says what the event was processed under, like the `consent` field.
            context["consent"] = consent.as_dict()

        return ProtectedMessage(
            message=message,
            message_id=scrub_identifier(message.messageId, key) if message.messageId else None,
            anonymous_id=scrub_identifier(message.anonymousId, key) if message.anonymousId else None,
            user_id=pseudonymize_user_id(message.userId, key) if message.userId else None,
            context=context,
            properties=properties,
            traits=traits,
            consent=consent.as_dict() if consent is not None else None,
            type_fields=type_fields,
        )

    @staticmethod
    def _type_fields(message: SegmentMessage, key: HmacKey) -> dict[str, Any]:
        """Event and page names scrubbed, alias and group identifiers pseudonymized."""
        fields: dict[str, Any] = {}
        if isinstance(message, TrackMessage):
            fields["event"] = scrub(message.event, key)
        elif isinstance(message, PageMessage | ScreenMessage):
            if message.name is not None:
                fields["name"] = scrub(message.name, key)
            if message.category is not None:
                fields["category"] = scrub(message.category, key)
        elif isinstance(message, AliasMessage):
            fields["previous_id"] = pseudonymize_user_id(message.previousId, key)
            if _is_anonymous_id(message.previousId, message.anonymousId):
                fields["previous_anonymous_id"] = message.previousId
        elif isinstance(message, GroupMessage):
            fields["group_id"] = scrub_identifier(message.groupId, key)
        return fields

    def _cookieless(self, raw: dict[str, Any], request: RequestSignals) -> dict[str, Any]:
        """A message without analytics consent, given the day's cookieless visitor key.

        Refused (MessageRejectedError) if it carries a persistent identifier or is not a page or
        track; see reviva.privacy.consent.
        """
        implied_type = request.implied_type
        message_type = raw.get("type") if implied_type is None else implied_type
        try:
            check_cookieless(raw, message_type if isinstance(message_type, str) else None)
        except ConsentRefusedError as error:
            raise MessageRejectedError(error.reason) from None
        message_context = raw.get("context")
        message_context = message_context if isinstance(message_context, dict) else {}
        page = message_context.get("page")
        user_agent = message_context.get("userAgent")
        site = (host_of(page.get("url")) if isinstance(page, dict) else None) or request.site_host
        visitor = cookieless_id(
            self._salts.salt_for(request.received_at),
            request.ip_truncated,
            user_agent if isinstance(user_agent, str) and user_agent else request.header_user_agent,
            site,
        )
        return {**raw, "anonymousId": visitor, "context": cookieless_context(message_context)}


__all__ = ["PrivacyPolicy", "ProtectedMessage", "RequestSignals", "host_of"]
