"""The ingest service: a Segment HTTP Tracking API request in, an HTTP answer out.

`IngestService.handle` takes a framework-free `IngestRequest` (path, headers, body, source IP)
and returns an `IngestResponse` (status, JSON body, headers). On the way it authenticates the
write key, decodes the body (base64, gzip with a decompression budget), enforces Segment's
limits, validates every message, corrects client clock skew, pseudonymizes identifiers and
scrubs personal data, publishes the valid messages to the stream and stores the rejected ones
with their reasons. Bad input never yields a 5xx; a stream that refuses records after retries
yields 503, and nothing the stream did not accept is reported as accepted.

Timestamps follow Segment: `receivedAt` is the server clock when the request arrived; with
`sentAt` and a client time (`originalTimestamp`, else `timestamp`) the event time is
receivedAt - (sentAt - client time); a `timestamp` without `sentAt` is taken as is (server-side
imports), an `originalTimestamp` without `sentAt` likewise; otherwise the event time is
receivedAt. An event time more than 30 days before or 1 day after receipt is rejected with that
reason rather than clamped (see `reviva.segment.limits`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import uuid
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from pydantic_core import PydanticSerializationError, to_json

from reviva.events import CollectedEvent, Geo, MessageType
from reviva.ingest.errors import (
    BadRequestError,
    IngestError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
    UnsupportedEncodingError,
)
from reviva.ingest.publisher import EventPublisher
from reviva.ingest.rejected import RejectedStore, Rejection
from reviva.privacy.consent import (
    ConsentRefusedError,
    ConsentState,
    check_cookieless,
    cookieless_context,
    effective_consent,
    without_marketing,
)
from reviva.privacy.cookieless import COOKIELESS_PREFIX, DailySalt, MemorySaltStore, cookieless_id
from reviva.privacy.ip import client_ip, truncate_ip
from reviva.privacy.pseudonymize import (
    HmacKey,
    NestingTooDeepError,
    looks_like_email,
    looks_like_phone,
    pseudonymize_user_id,
    scrub,
    scrub_identifier,
)
from reviva.segment.libraries import is_non_browser_library
from reviva.segment.limits import (
    LIMIT_BATCH_MESSAGES,
    LIMIT_MESSAGE_BYTES,
    LIMIT_REQUEST_BYTES,
    MAX_BATCH_MESSAGES,
    MAX_EVENT_AGE,
    MAX_EVENT_FUTURE,
    MAX_MESSAGE_BYTES,
    MAX_REQUEST_BYTES,
)
from reviva.segment.messages import (
    BATCH_PATHS,
    PATH_MESSAGE_TYPES,
    AliasMessage,
    GroupMessage,
    MessageRejectedError,
    PageMessage,
    ScreenMessage,
    SegmentMessage,
    TrackMessage,
    parse_message,
)
from reviva.settings import Settings

logger = logging.getLogger(__name__)

STAGE: Final = "ingest"
ALLOWED_METHODS: Final = "POST, OPTIONS"
DEFAULT_ALLOWED_HEADERS: Final = "Content-Type, Content-Encoding, Authorization"
PREFLIGHT_MAX_AGE_SECONDS: Final = "86400"
# JSON escapes of UTF-16 surrogates: only they can smuggle a lone surrogate into a decoded string,
# which no UTF-8 record can carry. Checked on the raw body so the common case costs one search.
_SURROGATE_ESCAPE_RE: Final = re.compile(rb"\\u[dD][89a-fA-F]")
_UTF8_BOM: Final = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class IngestRequest:
    """An HTTP request as ingest needs it, free of any framework type."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: str | bytes | None = None
    is_base64_encoded: bool = False
    source_ip: str | None = None


@dataclass
class IngestResponse:
    """The answer: status, JSON body (None for 204), headers, and counts for metrics."""

    status_code: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)
    accepted: int = 0
    rejected: int = 0


@dataclass(frozen=True)
class IngestConfig:
    """What ingest needs from the settings."""

    write_keys: frozenset[str]
    hmac_key: HmacKey
    allowed_origins: tuple[str, ...] = ("*",)

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestConfig:
        """Read write keys, pseudonymization key and CORS origins from `settings`."""
        return cls(
            write_keys=settings.accepted_write_keys(),
            hmac_key=settings.hmac_key(),
            allowed_origins=settings.origins(),
        )


@dataclass(frozen=True)
class RequestContext:
    """What every message of one request shares: receipt time and what only the edge knows."""

    received_at: datetime
    source_id: str
    ip_truncated: str | None = None
    header_user_agent: str | None = None
    geo: Geo = field(default_factory=Geo)
    batch_context: dict[str, Any] | None = None
    batch_sent_at: datetime | None = None
    # Privacy signals of the browser that sent the request: `Sec-GPC: 1`, `DNT: 1`.
    gpc: bool = False
    dnt: bool = False
    # The site the request came from (Origin, else Referer host): part of the cookieless key.
    site_host: str | None = None


@dataclass
class BuiltBatch:
    """Messages of one request turned into events, and those refused with reasons."""

    events: list[CollectedEvent] = field(default_factory=list)
    # Position in the request of each event in `events`.
    event_indexes: list[int] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


@lru_cache(maxsize=64)
def source_id_for(write_key: str) -> str:
    """A short, stable fingerprint of a write key: the first 12 hex digits of its SHA-256."""
    return hashlib.sha256(write_key.encode("utf-8")).hexdigest()[:12]


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _parse_sent_at(value: Any) -> datetime | None:
    """The batch-level `sentAt`; an unreadable one is ignored rather than failing every message."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _consent(value: Any) -> dict[str, bool] | None:
    """`context.consent` when it is an object of booleans (categories → granted)."""
    if isinstance(value, dict) and value and all(type(flag) is bool for flag in value.values()):
        return dict(value)
    return None


def _host_of(url: Any) -> str | None:
    """The host of an absolute URL, lower-case; None for anything else."""
    if not isinstance(url, str) or "//" not in url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host or None


def _signal(headers: Mapping[str, str], name: str) -> bool:
    """True when a privacy-signal header (`sec-gpc`, `dnt`) is "1"."""
    return headers.get(name, "").strip() == "1"


def geo_from_headers(headers: Mapping[str, str]) -> Geo:
    """Viewer geography from CloudFront's viewer headers (lower-case names), when present."""
    country = headers.get("cloudfront-viewer-country")
    region = headers.get("cloudfront-viewer-country-region")
    city = headers.get("cloudfront-viewer-city")
    if country is None and region is None and city is None:
        return Geo()
    return Geo(
        country=country or None,
        region=region or None,
        # CloudFront URL-encodes city names ("S%C3%A3o%20Paulo").
        city=unquote(city) if city else None,
    )


def decode_body(body: str | bytes | None, *, is_base64: bool, content_encoding: str) -> bytes:
    """The request body as bytes: base64 undone, gzip inflated within the 500 KB budget."""
    if body is None:
        return b""
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body)
    if is_base64:
        if len(data) > (MAX_REQUEST_BYTES * 4) // 3 + 4:
            raise _request_too_large()
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequestError("body is flagged base64 but is not valid base64") from None
    if len(data) > MAX_REQUEST_BYTES:
        raise _request_too_large()
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return data
    if encoding in ("gzip", "x-gzip"):
        return gunzip_bounded(data, MAX_REQUEST_BYTES)
    raise UnsupportedEncodingError(f"Content-Encoding {encoding!r} is not supported (use gzip or none)")


def gunzip_bounded(data: bytes, limit: int) -> bytes:
    """Inflate gzip `data` (several members allowed), never beyond `limit` bytes: a gzip bomb is cut off."""
    out = bytearray()
    remaining = data
    try:
        while remaining:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += inflater.decompress(remaining, limit + 1 - len(out))
            if len(out) > limit or inflater.unconsumed_tail:
                raise _request_too_large(decompressed=True)
            if not inflater.eof:
                raise BadRequestError("body is truncated gzip")
            remaining = inflater.unused_data
    except zlib.error as error:
        raise BadRequestError(f"body is not valid gzip ({error})") from None
    return bytes(out)


def _request_too_large(*, decompressed: bool = False) -> PayloadTooLargeError:
    what = "decompressed request body" if decompressed else "request body"
    return PayloadTooLargeError(
        f"{what} exceeds {MAX_REQUEST_BYTES // 1024} KB",
        limit=LIMIT_REQUEST_BYTES,
        maximum=MAX_REQUEST_BYTES,
    )


def parse_json(payload: bytes) -> Any:
    """Decode the body as JSON (UTF-8, BOM tolerated); anything else is a 400 with the reason."""
    if payload.startswith(_UTF8_BOM):
        payload = payload[len(_UTF8_BOM) :]
    if not payload.strip():
        raise BadRequestError("body is empty; expected a JSON object")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError("body is not UTF-8 text") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise BadRequestError("body is not valid JSON: nested too deeply") from None
    except ValueError as error:
        raise BadRequestError(f"body is not valid JSON: {error}") from None


def basic_auth_key(headers: Mapping[str, str]) -> str | None:
    """The write key from `Authorization: Basic base64(key:)`, or None without a Basic header."""
    authorization = headers.get("authorization")
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise UnauthorizedError("Authorization header is not valid Basic credentials") from None
    return decoded.split(":", 1)[0]


def _message_id_of(raw: Any) -> str | None:
    if isinstance(raw, dict):
        value = raw.get("messageId")
        if isinstance(value, str) and value:
            return value[:256]
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


class IngestService:
    """Validates, pseudonymizes and publishes Segment requests; see the module docstring."""

    def __init__(
        self,
        config: IngestConfig,
        publisher: EventPublisher,
        rejected_store: RejectedStore,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        salts: DailySalt | None = None,
    ) -> None:
        self.config = config
        self._publisher = publisher
        self._rejected = rejected_store
        self._clock = clock
        # The cookieless salt of the day; in memory unless the composition shares one (DynamoDB).
        self._salts = salts or DailySalt(MemorySaltStore())

    # ----------------------------------------------------------------------------------- HTTP

    def handle(self, request: IngestRequest) -> IngestResponse:
        """Answer one HTTP request to an ingest path."""
        headers = _lower_headers(request.headers)
        cors = self.cors_headers(headers)
        method = request.method.upper()
        if method == "OPTIONS":
            return self._preflight(headers, cors)
        source_id: str | None = None
        payload: Any = None
        try:
            if method != "POST":
                raise MethodNotAllowedError(f"{method} is not allowed; use POST")
            implied_type = self._message_type_of_path(request.path)
            header_key = basic_auth_key(headers)
            if header_key is not None:
                source_id = self._authenticate(header_key)
            body = decode_body(
                request.body,
                is_base64=request.is_base64_encoded,
                content_encoding=headers.get("content-encoding", ""),
            )
            payload = body
            document = parse_json(body)
            payload = document
            if source_id is None:
                source_id = self._authenticate(self._body_write_key(document))
            messages, batch_context, batch_sent_at = self._split(document, implied_type, len(body))
            # Only a batch body above 32 KB can hold a message above 32 KB: small requests skip the sizing.
            check_sizes = implied_type is None and len(body) > MAX_MESSAGE_BYTES
            if check_sizes or _SURROGATE_ESCAPE_RE.search(body) is not None:
                messages = self._screen(messages, check_sizes=check_sizes)
        except IngestError as error:
            if source_id is not None and not isinstance(error, UnauthorizedError):
                raw = payload if payload is not None else b""
                self._store_rejections([Rejection(STAGE, error.reason, raw, source_id=source_id)])
            return IngestResponse(error.status_code, error.body(), cors, rejected=1)

        context = RequestContext(
            received_at=self._clock(),
            source_id=source_id,
            ip_truncated=truncate_ip(client_ip(headers, request.source_ip)),
            header_user_agent=headers.get("user-agent"),
            geo=geo_from_headers(headers),
            batch_context=batch_context,
            batch_sent_at=batch_sent_at,
            gpc=_signal(headers, "sec-gpc"),
            dnt=_signal(headers, "dnt"),
            site_host=_host_of(headers.get("origin")) or _host_of(headers.get("referer")),
        )
        built = self.build_events(messages, context, implied_type)
        return self._publish(built, cors)

    def cors_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """CORS response headers for the request's Origin (lower-case header names)."""
        origins = self.config.allowed_origins
        if "*" in origins:
            return {"Access-Control-Allow-Origin": "*"}
        origin = headers.get("origin")
        if origin and origin in origins:
            return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        return {"Vary": "Origin"} if origins else {}

    def _preflight(self, headers: Mapping[str, str], cors: dict[str, str]) -> IngestResponse:
        if "Access-Control-Allow-Origin" not in cors:
            # Not an allowed origin: answer without the grants, so the browser blocks the call.
            return IngestResponse(204, None, cors)
        return IngestResponse(
            204,
            None,
            {
                **cors,
                "Access-Control-Allow-Methods": ALLOWED_METHODS,
                "Access-Control-Allow-Headers": headers.get("access-control-request-headers")
                or DEFAULT_ALLOWED_HEADERS,
                "Access-Control-Max-Age": PREFLIGHT_MAX_AGE_SECONDS,
            },
        )

    @staticmethod
    def _message_type_of_path(path: str) -> MessageType | None:
        normalized = path.rstrip("/") or "/"
        if normalized in BATCH_PATHS:
            return None
        implied = PATH_MESSAGE_TYPES.get(normalized)
        if implied is None:
            raise NotFoundError(f"{path} is not an ingest path")
        return implied

    def _authenticate(self, write_key: str | None) -> str:
        if not write_key:
            raise UnauthorizedError("write key missing: send it as the Basic auth user name or as writeKey")
        if write_key not in self.config.write_keys:
            raise UnauthorizedError("write key unknown")
        return source_id_for(write_key)

    @staticmethod
    def _body_write_key(document: Any) -> str | None:
        if isinstance(document, dict):
            key = document.get("writeKey")
            if isinstance(key, str):
                return key
        return None

    @staticmethod
    def _split(
        document: Any, implied_type: MessageType | None, body_bytes: int
    ) -> tuple[list[Any], dict[str, Any] | None, datetime | None]:
        """The request's messages, its batch-level context and sentAt; enforces the Segment limits."""
        if implied_type is not None:
            if body_bytes > MAX_MESSAGE_BYTES:
                raise PayloadTooLargeError(
                    f"message exceeds {MAX_MESSAGE_BYTES // 1024} KB",
                    limit=LIMIT_MESSAGE_BYTES,
                    maximum=MAX_MESSAGE_BYTES,
                    index=0,
                )
            return [document], None, None
        if not isinstance(document, dict):
            raise BadRequestError('body must be a JSON object with a "batch" array')
        batch = document.get("batch")
        if not isinstance(batch, list):
            raise BadRequestError('"batch" must be an array of messages')
        if len(batch) > MAX_BATCH_MESSAGES:
            raise PayloadTooLargeError(
                f"batch holds {len(batch)} messages; at most {MAX_BATCH_MESSAGES} are allowed",
                limit=LIMIT_BATCH_MESSAGES,
                maximum=MAX_BATCH_MESSAGES,
            )
        batch_context = document.get("context")
        return (
            batch,
            batch_context if isinstance(batch_context, dict) and batch_context else None,
            _parse_sent_at(document.get("sentAt")),
        )

    @staticmethod
    def _screen(messages: list[Any], *, check_sizes: bool) -> list[Any]:
        """Enforce the per-message size limit and set apart messages no UTF-8 record can carry."""
        screened: list[Any] = []
        for index, message in enumerate(messages):
            try:
                size = len(to_json(message))
            except PydanticSerializationError:  # a lone surrogate from a "\udXXX" escape
                screened.append(_Unencodable(message))
                continue
            if check_sizes and size > MAX_MESSAGE_BYTES:
                raise PayloadTooLargeError(
                    f"message {index} exceeds {MAX_MESSAGE_BYTES // 1024} KB",
                    limit=LIMIT_MESSAGE_BYTES,
                    maximum=MAX_MESSAGE_BYTES,
                    index=index,
                )
            screened.append(message)
        return screened

    # ------------------------------------------------------------------------------- messages

    def build_events(
        self, messages: Sequence[Any], context: RequestContext, implied_type: MessageType | None = None
    ) -> BuiltBatch:
        """Validate each message and build its `CollectedEvent`; refused ones become `Rejection`s.

        This is the hot path `make bench` measures: no I/O, no regex compilation.
        """
        built = BuiltBatch()
        for index, raw in enumerate(messages):
            try:
                if isinstance(raw, _Unencodable):
                    raw = raw.message
                    raise MessageRejectedError(
                        "message holds text that is not valid Unicode (a lone surrogate)"
                    )
                event = self.build_event(raw, context, implied_type)
            except MessageRejectedError as error:
                built.rejections.append(
                    Rejection(
                        STAGE,
                        error.reason,
                        raw,
                        index=index,
                        message_id=_message_id_of(raw),
                        source_id=context.source_id,
                        rejected_at=context.received_at,
                    )
                )
                continue
            built.events.append(event)
            built.event_indexes.append(index)
        return built

    def build_event(
        self, raw: Any, context: RequestContext, implied_type: MessageType | None = None
    ) -> CollectedEvent:
        """Validate one message and turn it into the pseudonymized event put on the stream."""
        if context.batch_context is not None and isinstance(raw, dict):
            own_context = raw.get("context")
            if own_context is None:
                raw = {**raw, "context": context.batch_context}
            elif isinstance(own_context, dict):
                # Segment semantics: the batch's context applies to each message; the message's own keys win.
                raw = {**raw, "context": {**context.batch_context, **own_context}}
        consent = self._consent_of(raw, context)
        if consent is not None and not consent.analytics and isinstance(raw, dict):
            raw = self._cookieless(raw, context, implied_type)
        elif isinstance(raw, dict) and str(raw.get("anonymousId") or "").startswith(COOKIELESS_PREFIX):
            raise MessageRejectedError(
                f"anonymousId: the prefix {COOKIELESS_PREFIX!r} is reserved for cookieless keys"
            )
        message = parse_message(raw, implied_type)
        received_at = context.received_at
        timestamp, client_time, sent_at = self._event_time(message, context)
        key = self.config.hmac_key

        raw_context = message.context or {}
        if "ip" in raw_context:
            raw_context = {name: value for name, value in raw_context.items() if name != "ip"}
        try:
            scrubbed_context = scrub(raw_context, key) if raw_context else {}
            properties = scrub(message.properties, key) if message.properties else {}
            traits = scrub(message.traits, key) if message.traits else {}
        except NestingTooDeepError as error:
            raise MessageRejectedError(str(error)) from None
        if consent is not None:
            if not consent.marketing:
                scrubbed_context, properties, traits = without_marketing(scrubbed_context, properties, traits)
            # The context says what the event was processed under, like the `consent` field.
            scrubbed_context["consent"] = consent.as_dict()

        user_id = pseudonymize_user_id(message.userId, key) if message.userId else None
        anonymous_id = scrub_identifier(message.anonymousId, key) if message.anonymousId else None
        visitor_key = "a:" + anonymous_id if anonymous_id else "u:" + (user_id or "")

        user_agent = scrubbed_context.get("userAgent")
        if (not isinstance(user_agent, str) or not user_agent) and not is_non_browser_library(raw_context):
            # A browser's request header describes the visitor's device; a server SDK's names the SDK.
            user_agent = context.header_user_agent

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
            previous = message.previousId
            if not looks_like_email(previous) and not looks_like_phone(previous):
                fields["previous_anonymous_id"] = previous
        elif isinstance(message, GroupMessage):
            fields["group_id"] = scrub_identifier(message.groupId, key)

        fields.update(
            message_id=scrub_identifier(message.messageId, key) if message.messageId else str(uuid.uuid4()),
            type=message.type,
            visitor_key=visitor_key,
            anonymous_id=anonymous_id,
            user_id=user_id,
            timestamp=timestamp,
            original_timestamp=client_time,
            sent_at=sent_at,
            received_at=received_at,
            properties=properties,
            traits=traits,
            context=scrubbed_context,
            ip_truncated=context.ip_truncated,
            user_agent=user_agent,
            geo=context.geo,
            consent=consent.as_dict() if consent is not None else _consent(scrubbed_context.get("consent")),
            source_id=context.source_id,
        )
        # model_validate (compiled) is cheaper than model_construct (Python) and checks the contract too.
        return CollectedEvent.model_validate(fields)

    @staticmethod
    def _consent_of(raw: Any, context: RequestContext) -> ConsentState | None:
        message_context = raw.get("context") if isinstance(raw, dict) else None
        return effective_consent(message_context, gpc_header=context.gpc, dnt_header=context.dnt)

    def _cookieless(
        self, raw: dict[str, Any], context: RequestContext, implied_type: MessageType | None
    ) -> Any:
        """A message without analytics consent, given the day's cookieless visitor key.

        Refused (MessageRejectedError) if it carries a persistent identifier or is not a page or
        track; see reviva.privacy.consent.
        """
        message_type = raw.get("type") if implied_type is None else implied_type
        try:
            check_cookieless(raw, message_type if isinstance(message_type, str) else None)
        except ConsentRefusedError as error:
            raise MessageRejectedError(error.reason) from None
        message_context = raw.get("context")
        message_context = message_context if isinstance(message_context, dict) else {}
        page = message_context.get("page")
        user_agent = message_context.get("userAgent")
        site = (_host_of(page.get("url")) if isinstance(page, dict) else None) or context.site_host
        visitor = cookieless_id(
            self._salts.salt_for(context.received_at),
            context.ip_truncated,
            user_agent if isinstance(user_agent, str) and user_agent else context.header_user_agent,
            site,
        )
        return {**raw, "anonymousId": visitor, "context": cookieless_context(message_context)}

    @staticmethod
    def _event_time(
        message: SegmentMessage, context: RequestContext
    ) -> tuple[datetime, datetime | None, datetime | None]:
        """(event time, client time, sentAt), after Segment's clock-skew correction and the window check."""
        received_at = context.received_at
        sent_at = message.sentAt or context.batch_sent_at
        client_time = message.originalTimestamp or message.timestamp
        if sent_at is not None and client_time is not None:
            try:
                timestamp = received_at - (sent_at - client_time)
            except OverflowError:
                raise MessageRejectedError(
                    "timestamp: sentAt and timestamp are implausibly far apart"
                ) from None
        elif message.timestamp is not None:
            timestamp = message.timestamp
        elif message.originalTimestamp is not None:
            timestamp = message.originalTimestamp
        else:
            timestamp = received_at
        if timestamp < received_at - MAX_EVENT_AGE:
            raise MessageRejectedError(
                f"timestamp: {timestamp.isoformat()} is more than {MAX_EVENT_AGE.days} days before receipt"
            )
        if timestamp > received_at + MAX_EVENT_FUTURE:
            raise MessageRejectedError(
                f"timestamp: {timestamp.isoformat()} is more than {MAX_EVENT_FUTURE.days} day after receipt"
            )
        return timestamp, client_time, sent_at

    # ---------------------------------------------------------------------------- publishing

    def _publish(self, built: BuiltBatch, cors: dict[str, str]) -> IngestResponse:
        failed_positions: list[int] = []
        if built.events:
            result = self._publisher.publish(built.events)
            failed_positions = sorted(result.failed_indexes())
        self._store_rejections(built.rejections)

        rejected = [
            {"index": rejection.index, "messageId": rejection.message_id, "reason": rejection.reason}
            for rejection in built.rejections
        ]
        accepted = len(built.events) - len(failed_positions)
        if failed_positions:
            failed_indexes = [built.event_indexes[position] for position in failed_positions]
            logger.error("stream did not accept %d messages after retries", len(failed_indexes))
            return IngestResponse(
                503,
                {
                    "success": False,
                    "error": "stream_unavailable",
                    "reason": f"{len(failed_indexes)} messages could not be stored; retry them",
                    "accepted": accepted,
                    "failed": failed_indexes,
                    "rejected": rejected,
                },
                {**cors, "Retry-After": "1"},
                accepted=accepted,
                rejected=len(rejected),
            )
        if rejected:
            return IngestResponse(
                400,
                {"success": False, "accepted": accepted, "rejected": rejected},
                cors,
                accepted=accepted,
                rejected=len(rejected),
            )
        return IngestResponse(200, {"success": True}, cors, accepted=accepted)

    def _store_rejections(self, rejections: list[Rejection]) -> None:
        if not rejections:
            return
        try:
            self._rejected.record(rejections)
        except Exception:
            # The sender cannot fix our store; answer them anyway, and make the loss loud here.
            logger.exception("could not store %d rejected messages", len(rejections))


@dataclass(frozen=True)
class _Unencodable:
    """A message holding a lone surrogate: it cannot be encoded as UTF-8, so it is refused."""

    message: Any
