"""The HTTP edge of ingest: the Segment HTTP Tracking API's requests and answers.

`IngestEndpoint` does what only HTTP knows about: CORS and preflight, the path's implied message
type, base64 and bounded gzip decoding, JSON parsing, the write key (Basic auth user name or the
body's `writeKey`), the request's headers (client IP, user agent, geography, privacy signals),
and the answers: status codes and JSON bodies. The messages themselves go to the domain
(`reviva.ingest.Collector`). `refusal` is the one place a typed ingest error becomes an answer;
the ingest function's Powertools app routes to these methods.

Bad input never yields a 5xx; a stream that refuses records after retries yields 503.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Final
from urllib.parse import unquote

from reviva.contracts.events import Geo, MessageType
from reviva.ingest.batch import NonFiniteNumber, read_batch
from reviva.ingest.collector import Collector, CollectOutcome, RequestContext
from reviva.ingest.errors import BadRequestError, IngestError, PayloadTooLargeError, UnauthorizedError
from reviva.privacy.consent_records import InvalidConsentRecord, parse_consent_record
from reviva.privacy.ip import client_ip
from reviva.privacy.policy import host_of
from reviva.privacy.ports import ConsentLedger
from reviva.privacy.pseudonymize import pseudonymize_user_id
from reviva.segment.limits import LIMIT_REQUEST_BYTES, MAX_REQUEST_BYTES
from reviva.segment.messages import BATCH_PATHS, PATH_MESSAGE_TYPES
from reviva.settings import Settings

ALLOWED_METHODS: Final = "POST, OPTIONS"
DEFAULT_ALLOWED_HEADERS: Final = "Content-Type, Content-Encoding, Authorization"
PREFLIGHT_MAX_AGE_SECONDS: Final = "86400"
_UTF8_BOM: Final = b"\xef\xbb\xbf"


class UnsupportedEncodingError(IngestError):
    """A Content-Encoding other than gzip or identity."""


class NotFoundError(IngestError):
    """A path that is not an ingest path."""


class MethodNotAllowedError(IngestError):
    """A method other than POST (or OPTIONS for CORS preflight)."""


# The one mapping of refusals to answers: status code and the `error` of the JSON body.
_REFUSALS: Final[dict[type[IngestError], tuple[int, str]]] = {
    BadRequestError: (400, "bad_request"),
    UnauthorizedError: (401, "unauthorized"),
    NotFoundError: (404, "not_found"),
    MethodNotAllowedError: (405, "method_not_allowed"),
    PayloadTooLargeError: (413, "payload_too_large"),
    UnsupportedEncodingError: (415, "unsupported_content_encoding"),
}


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


@lru_cache(maxsize=64)
def source_id_for(write_key: str) -> str:
    """A short, stable fingerprint of a write key: the first 12 hex digits of its SHA-256."""
    return hashlib.sha256(write_key.encode("utf-8")).hexdigest()[:12]


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names lower-cased (HTTP header names are case-insensitive)."""
    return {name.lower(): value for name, value in headers.items()}


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


def _signal(headers: Mapping[str, str], name: str) -> bool:
    """True when a privacy-signal header (`sec-gpc`, `dnt`) is "1"."""
    return headers.get(name, "").strip() == "1"


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
    """Decode the body as JSON (UTF-8, BOM tolerated); anything else is a 400 with the reason.

    `NaN`, `Infinity` and `-Infinity` are not JSON: they are read as `NonFiniteNumber` stand-ins,
    so `read_batch` refuses the messages holding one, naming it, and accepts the others.
    """
    if payload.startswith(_UTF8_BOM):
        payload = payload[len(_UTF8_BOM) :]
    if not payload.strip():
        raise BadRequestError("body is empty; expected a JSON object")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequestError("body is not UTF-8 text") from None
    try:
        return json.loads(text, parse_constant=NonFiniteNumber)
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


def _body_write_key(document: Any) -> str | None:
    if isinstance(document, dict):
        key = document.get("writeKey")
        if isinstance(key, str):
            return key
    return None


def implied_type_of(path: str) -> MessageType | None:
    """The message type a single-message path implies; None for a batch path."""
    normalized = path.rstrip("/") or "/"
    if normalized in BATCH_PATHS:
        return None
    implied = PATH_MESSAGE_TYPES.get(normalized)
    if implied is None:
        raise NotFoundError(f"{path} is not an ingest path")
    return implied


def refusal_body(error: IngestError) -> tuple[int, dict[str, Any]]:
    """The status and JSON body refusing a whole request: what went wrong, nothing accepted."""
    status, code = next(_REFUSALS[kind] for kind in type(error).__mro__ if kind in _REFUSALS)
    return status, {"success": False, "error": code, "reason": error.reason, "accepted": 0, **error.details}


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class IngestEndpoint:
    """The ingest API over a collector: who may send, from which origins, and the receipt clock."""

    collector: Collector
    write_keys: frozenset[str]
    allowed_origins: tuple[str, ...] = ("*",)
    clock: Callable[[], datetime] = _utc_now
    # Where `POST /v1/privacy/consent` keeps its records (None: the route answers 503).
    consents: ConsentLedger | None = None

    @classmethod
    def from_settings(
        cls, collector: Collector, settings: Settings, consents: ConsentLedger | None = None
    ) -> IngestEndpoint:
        """The endpoint with the write keys and CORS origins of `settings`."""
        return cls(collector, settings.accepted_write_keys(), settings.origins(), consents=consents)

    def record_consent(self, request: IngestRequest) -> IngestResponse:
        """`POST /v1/privacy/consent`: store one consent decision (`reviva.privacy.consent_records`).

        Authenticated by the write key like every ingest path (Basic auth or `writeKey`); 400
        naming the field for a body that is not a record; 200 with the record's id when stored.
        """
        headers = lower_headers(request.headers)
        cors = self.cors_headers(headers)
        header_key = basic_auth_key(headers)
        body = decode_body(
            request.body,
            is_base64=request.is_base64_encoded,
            content_encoding=headers.get("content-encoding", ""),
        )
        document = parse_json(body)
        self._authenticate(header_key if header_key is not None else _body_write_key(document))
        if self.consents is None:
            return IngestResponse(503, {"success": False, "error": "consent_store_unavailable"}, cors)
        policy = self.collector.policy
        try:
            record = parse_consent_record(
                document, self.clock(), lambda value: pseudonymize_user_id(value, policy.hmac_key)
            )
        except InvalidConsentRecord as error:
            answer = {"success": False, "error": "bad_request", "field": error.field, "reason": error.reason}
            return IngestResponse(400, answer, cors, rejected=1)
        self.consents.append(record)
        return IngestResponse(
            200,
            {
                "success": True,
                "recordId": record.record_id,
                "granted": list(record.granted),
                "refused": list(record.refused),
                "recordedAt": record.recorded_at.isoformat().replace("+00:00", "Z"),
            },
            cors,
        )

    def post(self, request: IngestRequest) -> IngestResponse:
        """Collect the messages of a POST: 200, 400 (some refused) or 503 (the stream failed some).

        A request refused as a whole raises `IngestError` (answered by `refusal`); when its sender
        was authenticated, the refusal is stored first.
        """
        headers = lower_headers(request.headers)
        source_id: str | None = None
        payload: Any = None
        try:
            if request.method.upper() != "POST":
                raise MethodNotAllowedError(f"{request.method.upper()} is not allowed; use POST")
            implied_type = implied_type_of(request.path)
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
                source_id = self._authenticate(_body_write_key(document))
            batch = read_batch(document, body, implied_type)
        except IngestError as error:
            if source_id is not None and not isinstance(error, UnauthorizedError):
                self.collector.refuse_request(
                    error.reason, payload if payload is not None else b"", source_id
                )
            raise

        context = RequestContext(
            received_at=self.clock(),
            source_id=source_id,
            ip_truncated=self.collector.policy.network_of(client_ip(headers, request.source_ip)),
            # Stored with each event, so it passes the privacy policy like any field of a message.
            header_user_agent=self.collector.policy.protect_header(headers.get("user-agent")),
            geo=geo_from_headers(headers),
            batch_context=batch.context,
            batch_sent_at=batch.sent_at,
            implied_type=implied_type,
            gpc=_signal(headers, "sec-gpc"),
            dnt=_signal(headers, "dnt"),
            site_host=host_of(headers.get("origin")) or host_of(headers.get("referer")),
        )
        return self._answer(self.collector.collect(batch.messages, context), self.cors_headers(headers))

    def preflight(self, request_headers: Mapping[str, str]) -> IngestResponse:
        """The CORS preflight answer: the grants for an allowed origin, none for any other."""
        headers = lower_headers(request_headers)
        cors = self.cors_headers(headers)
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

    def telemetry(self, request_headers: Mapping[str, str]) -> IngestResponse:
        """analytics.js's own telemetry (`TELEMETRY_PATH`): accepted and dropped, unread and unstored."""
        return IngestResponse(200, {"success": True}, self.cors_headers(lower_headers(request_headers)))

    def refusal(self, error: IngestError, request_headers: Mapping[str, str]) -> IngestResponse:
        """The answer to a request refused as a whole (see `refusal_body`), with its CORS headers."""
        status, body = refusal_body(error)
        return IngestResponse(status, body, self.cors_headers(lower_headers(request_headers)), rejected=1)

    def cors_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """CORS response headers for the request's Origin (lower-case header names)."""
        origins = self.allowed_origins
        if "*" in origins:
            return {"Access-Control-Allow-Origin": "*"}
        origin = headers.get("origin")
        if origin and origin in origins:
            return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        return {"Vary": "Origin"} if origins else {}

    def _authenticate(self, write_key: str | None) -> str:
        if not write_key:
            raise UnauthorizedError("write key missing: send it as the Basic auth user name or as writeKey")
        if write_key not in self.write_keys:
            raise UnauthorizedError("write key unknown")
        return source_id_for(write_key)

    @staticmethod
    def _answer(outcome: CollectOutcome, cors: dict[str, str]) -> IngestResponse:
        rejected = [
            {"index": rejection.index, "messageId": rejection.message_id, "reason": rejection.reason}
            for rejection in outcome.rejections
        ]
        accepted = outcome.accepted
        if outcome.failed:
            return IngestResponse(
                503,
                {
                    "success": False,
                    "error": "stream_unavailable",
                    "reason": f"{len(outcome.failed)} messages could not be stored; retry them",
                    "accepted": accepted,
                    "failed": outcome.failed,
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
