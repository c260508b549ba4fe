"""Pseudonymization: identifiers become keyed HMACs, e-mail addresses and phone numbers never pass.

`pseudonymize_user_id` turns a site's user id into the stable pseudonym every store uses
("u_" + 32 hex digits); the query API calls it to find a visitor by the raw id an operator types.
`scrub` walks properties/traits/context and replaces values under PII-named keys (email,
phone, mobile, …) and any e-mail address or phone number found in a string by an "h_" pseudonym,
so equal values stay joinable without being readable. `mask_pii` does the same for raw payloads
kept for operators (rejected messages), where even malformed input must not fail.

The same HMAC key (REVIVA_PSEUDONYMIZATION_KEY) keys every pseudonym; without it a pseudonym
cannot be reversed or recomputed from a guessed e-mail address.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Final
from urllib.parse import unquote

import phonenumbers

from reviva.privacy.ip import truncate_ip
from reviva.segment.limits import MAX_NESTING_DEPTH

HmacKey = bytes

USER_PREFIX: Final = "u_"
VALUE_PREFIX: Final = "h_"
PSEUDONYM_HEX_CHARS: Final = 32

# Key names (lower-cased, without "_", "-", " ", ".") whose values are e-mail addresses or phones.
_PII_KEY_NAMES: Final = frozenset(
    {
        "email",
        "emailaddress",
        "mail",
        "phone",
        "phonenumber",
        "phoneno",
        "mobile",
        "mobilephone",
        "mobilenumber",
        "cellphone",
        "cell",
        "telephone",
        "tel",
        "fax",
        "whatsapp",
        "contact",
        "contactnumber",
        "contactphone",
        "cellnumber",
        "telnumber",
        "telephonenumber",
    }
)
# Key names ending in one of these hold contact details too ("home_phone", "work_email",
# "billing_mobile_number").
_PII_KEY_SUFFIXES: Final = ("email", "emailaddress", "phone", "phonenumber", "mobilenumber", "contactnumber")
# Key names whose values are IP addresses: kept only truncated.
_IP_KEY_NAMES: Final = frozenset({"ip", "ipaddress", "clientip", "remoteip", "ipv4", "ipv6"})
# Key names holding the site's user ids (raw payloads only; validated messages handle them apart).
# They are as identifying as `userId` wherever they appear, so they get the same "u_" pseudonym.
_USER_ID_KEY_NAMES: Final = frozenset({"userid", "previousid"})

_KEY_PLAIN, _KEY_PII, _KEY_IP, _KEY_USER_ID = 0, 1, 2, 3

# Compiled once: the hot path must never compile a pattern per message.
# Local part and domain may be Unicode (RFC 6531 addresses, internationalised domain names); "@"
# may be percent-encoded once ("%40") or twice ("%2540", a URL inside a URL parameter).
_EMAIL_RE: Final = re.compile(
    r"[\w!#$*+^`{|}~\-][\w!#$'*+^`{|}~.\-]*(?:@|%40|%2540)[^\W_](?:[\w\-]*[^\W_])?(?:\.[\w\-]+)*\.(?:[^\W\d_]{2,}|xn--[a-z0-9\-]+)",
    re.IGNORECASE,
)
_PHONE_RE: Final = re.compile(r"\+?\(?\d[\d\s().\-/]*\d")
_DATE_LIKE_RE: Final = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d+\.\d+")
# PII carried as URL query parameters ("?email=…", "&phone=…").
_PII_QUERY_RE: Final = re.compile(
    r"([?&;#](?:e-?mail|email_?address|[a-z_]*phone(?:_?(?:number|no))?|mobile(?:_?(?:number|no))?|"
    r"cell(?:_?(?:phone|number))?|tel|telephone|contact(?:_?(?:number|phone|email))?|whatsapp)=)([^&#;]*)",
    re.IGNORECASE,
)
# Phone numbers in free text: libphonenumber's matcher, national numbers read as this region's.
PHONE_REGION: Final = "GB"
_NATIONAL_PREFIX: Final = "0"
_MIN_PHONE_DIGITS: Final = 7
_NATIONAL_MIN_DIGITS: Final = 10
_DIGIT_DELETER: Final = str.maketrans("", "", "0123456789")
# A run of 7+ digits, separated at most by phone punctuation, not part of a longer token.
_PHONE_CANDIDATE_RE: Final = re.compile(r"(?<![\w\-.:/])[+(]?\d(?:[ ().\-/]{0,2}\d){6,}(?![\w\-])")
# IP address candidates, confirmed by `ipaddress` before anything is replaced.
_IPV4_RE: Final = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.]*\d)")
_IPV6_RE: Final = re.compile(
    r"(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}(?:[0-9a-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?(?![\w:])", re.IGNORECASE
)
# International numbers ("+44 20 7946 0958") are distinctive enough to find inside free text.
_EMBEDDED_PHONE_RE: Final = re.compile(r"(?<![\w+])\+\d[\d\s().\-]{5,20}\d")
_PHONE_FIRST_CHARS: Final = frozenset("+(0123456789")
_PHONE_SEPARATORS: Final = frozenset(" .-()/")


class NestingTooDeepError(ValueError):
    """A payload nests objects/arrays deeper than the scrubber walks."""


@lru_cache(maxsize=65_536)
def _hmac_hex(value: str, key: HmacKey) -> str:
    return hmac.digest(key, value.encode("utf-8", "surrogatepass"), "sha256").hex()[:PSEUDONYM_HEX_CHARS]


def pseudonymize(value: str, key: HmacKey) -> str:
    """Return the keyed pseudonym of `value`: "h_" + the first 32 hex digits of HMAC-SHA256.

    The exact string is hashed; callers normalise first when formatting should not matter
    (`scrub` lower-cases e-mail addresses and keeps only the digits of phone numbers).
    """
    return VALUE_PREFIX + _hmac_hex(value, key)


def pseudonymize_user_id(user_id: str, key: HmacKey) -> str:
    """Return the pseudonym of a site's user id: "u_" + the first 32 hex digits of HMAC-SHA256.

    User ids are case-sensitive and hashed exactly as sent. Every store keys known users by this
    value, so the query API computes it to look a visitor up by the id an operator knows.
    """
    return USER_PREFIX + _hmac_hex(user_id, key)


def normalize_email(value: str) -> str:
    """The form an e-mail address is hashed in: decoded (also twice-encoded), trimmed, lower-case."""
    for _ in range(3):
        if "%" not in value:
            break
        value = unquote(value)
    return value.strip().lower()


def normalize_phone(value: str) -> str:
    """The form a phone number is hashed in: its digits, with a leading "+" when it had one."""
    digits = "".join(ch for ch in value if ch.isdigit())
    return "+" + digits if value.lstrip().startswith("+") else digits


def _may_hold_email(value: str) -> bool:
    return ("@" in value or "%40" in value or "%2540" in value) and _EMAIL_RE.search(value) is not None


def looks_like_email(value: str) -> bool:
    """True when `value` contains an e-mail address (Unicode or IDN too; "@" also as "%40", "%2540")."""
    return _may_hold_email(value)


def _digit_count(value: str) -> int:
    return len(value) - len(value.translate(_DIGIT_DELETER))


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char in "_-"


@lru_cache(maxsize=16_384)
def phone_spans(value: str) -> tuple[tuple[int, int], ...]:
    """Where phone numbers are in free text, found by libphonenumber's matcher.

    National numbers are read as `PHONE_REGION`'s. A match counts when libphonenumber finds it a
    valid number, or when it is written with the national prefix or "+" and has at least 10 digits
    (a possible number: reserved ranges such as 07700 900xxx are not "valid" but are phone numbers).
    A match inside a longer token (a UUID, a hex digest, a pseudonym) is not a phone number.
    The matcher is the costly step of ingest, so it only reads runs of at least 7 digits (with
    phone separators between them) that stand alone and are not dates: ids, timestamps and
    prices never reach it.
    """
    if _digit_count(value) < _MIN_PHONE_DIGITS:
        return ()
    spans: list[tuple[int, int]] = []
    for candidate in _PHONE_CANDIDATE_RE.finditer(value):
        text = candidate.group(0)
        if _DATE_LIKE_RE.match(text) is not None or _digit_count(text) < _MIN_PHONE_DIGITS:
            continue
        if text.count(".") == 3 and _confirmed_ip(text) is not None:
            continue
        offset = candidate.start()
        for match in phonenumbers.PhoneNumberMatcher(
            text, PHONE_REGION, leniency=phonenumbers.Leniency.POSSIBLE
        ):
            start, end = offset + match.start, offset + match.end
            if (start > 0 and _is_word_char(value[start - 1])) or (
                end < len(value) and _is_word_char(value[end])
            ):
                continue
            raw = match.raw_string
            if phonenumbers.is_valid_number(match.number) or (
                raw[0] in ("+", _NATIONAL_PREFIX, "(") and _digit_count(raw) >= _NATIONAL_MIN_DIGITS
            ):
                spans.append((start, end))
    return tuple(spans)


def _confirmed_ip(candidate: str) -> str | None:
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return None
    return truncate_ip(candidate)


def looks_like_phone(value: str) -> bool:
    """True when `value` is written like a phone number.

    It must consist of phone characters only, hold 7 to 15 digits, and start with "+" or use
    separators (spaces, dots, dashes, parentheses). Bare digit strings are left alone: they are
    far more often order or product ids, timestamps or amounts than phone numbers, and a value
    under a phone-named key is pseudonymized whatever its form. Dates and decimals are excluded.
    """
    length = len(value)
    if length < 7 or length > 25 or value[0] not in _PHONE_FIRST_CHARS:
        return False
    if _PHONE_RE.fullmatch(value) is None or _DATE_LIKE_RE.fullmatch(value) is not None:
        return False
    if value.count(".") == 3 and _confirmed_ip(value) is not None:
        return False
    digits = sum(ch.isdigit() for ch in value)
    if digits < 7 or digits > 15:
        return False
    return value[0] == "+" or any(ch in _PHONE_SEPARATORS for ch in value)


@lru_cache(maxsize=8192)
def _key_kind(name: str) -> int:
    normalized = name.lower()
    for separator in ("_", "-", " ", "."):
        normalized = normalized.replace(separator, "")
    if normalized in _PII_KEY_NAMES or normalized.endswith(_PII_KEY_SUFFIXES):
        return _KEY_PII
    if normalized in _IP_KEY_NAMES:
        return _KEY_IP
    if normalized in _USER_ID_KEY_NAMES:
        return _KEY_USER_ID
    return _KEY_PLAIN


class _Walker:
    """Walks JSON-like data, replacing personal data; one instance per (key, mode)."""

    __slots__ = ("key", "mask_user_ids", "strict", "text")

    def __init__(self, key: HmacKey | None, *, strict: bool, mask_user_ids: bool) -> None:
        self.key = key
        self.strict = strict  # raise on excessive nesting (validation) or mark it (raw payloads)
        self.mask_user_ids = mask_user_ids
        self.text: Callable[[str], str] = self._text

    def _hide(self, normalized: str, marker: str) -> str:
        return pseudonymize(normalized, self.key) if self.key is not None else marker

    def _email_match(self, match: re.Match[str]) -> str:
        found, start = match.group(0), match.start()
        if start > 0 and match.string[start - 1] == "%":
            # "%3Dbob%40…": the two hex digits of the escape before the address are not its own.
            return found[:2] + self._hide(normalize_email(found[2:]), "[email]")
        return self._hide(normalize_email(found), "[email]")

    def _query_match(self, match: re.Match[str]) -> str:
        raw_value = unquote(match.group(2))
        if not raw_value:
            return match.group(0)
        kind = normalize_email(raw_value) if "@" in raw_value else normalize_phone(raw_value)
        return match.group(1) + self._hide(kind or raw_value, "[masked]")

    def _text(self, value: str) -> str:
        if "=" in value and ("?" in value or "&" in value or "#" in value):
            value = _PII_QUERY_RE.sub(self._query_match, value)
        if _may_hold_email(value):
            value = _EMAIL_RE.sub(self._email_match, value)
        if value.count(":") >= 2:
            value = _IPV6_RE.sub(self._ip_match, value)
        if value.count(".") >= 3:
            value = _IPV4_RE.sub(self._ip_match, value)
        if looks_like_phone(value):
            return self._hide(normalize_phone(value), "[phone]")
        if "+" in value:
            value = _EMBEDDED_PHONE_RE.sub(self._phone_match, value)
        spans = phone_spans(value)
        for start, end in reversed(spans):
            value = value[:start] + self._hide(normalize_phone(value[start:end]), "[phone]") + value[end:]
        return value

    @staticmethod
    def _ip_match(match: re.Match[str]) -> str:
        found = match.group(0)
        return _confirmed_ip(found) or found

    def _phone_match(self, match: re.Match[str]) -> str:
        found = match.group(0)
        return self._hide(normalize_phone(found), "[phone]") if looks_like_phone(found) else found

    def _pii_value(self, value: Any, depth: int) -> Any:
        if isinstance(value, str):
            if not value:
                return value
            normalized = normalize_email(value) if "@" in value else normalize_phone(value) or value
            return self._hide(normalized, "[masked]")
        if isinstance(value, int) and not isinstance(value, bool):
            return self._hide(str(value), "[masked]")
        return self.walk(value, depth)

    def _user_id_value(self, value: Any, depth: int) -> Any:
        if isinstance(value, str | int) and not isinstance(value, bool):
            text = str(value)
            return pseudonymize_user_id(text, self.key) if self.key is not None else "[user id]"
        return self.walk(value, depth)

    def walk(self, value: Any, depth: int = 0) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return self.walk_dict(value, depth)
        if isinstance(value, list):
            if depth >= MAX_NESTING_DEPTH:
                return self._too_deep()
            return [self.walk(item, depth + 1) for item in value]
        return value

    def walk_dict(self, value: dict[str, Any], depth: int = 0) -> Any:
        if depth >= MAX_NESTING_DEPTH:
            return self._too_deep()
        out: dict[str, Any] = {}
        text = self.text
        for name, item in value.items():
            if type(name) is str:
                kind = _key_kind(name)
                if "@" in name or "+" in name or "%40" in name:
                    # Some sites key maps by e-mail address or phone number: keys must not leak either.
                    name = text(name)
            else:
                kind = _KEY_PLAIN
            if kind == _KEY_PLAIN:
                # Inline the common cases: this loop runs for every key of every message.
                if type(item) is str:
                    out[name] = text(item)
                elif type(item) is dict or type(item) is list:
                    out[name] = self.walk(item, depth + 1)
                else:
                    out[name] = item
            elif kind == _KEY_PII:
                out[name] = self._pii_value(item, depth + 1)
            elif kind == _KEY_IP:
                out[name] = truncate_ip(item) if isinstance(item, str) else None
            elif self.mask_user_ids:
                out[name] = self._user_id_value(item, depth + 1)
            else:
                out[name] = self.walk(item, depth + 1)
        return out

    def _too_deep(self) -> Any:
        if self.strict:
            raise NestingTooDeepError(f"nested deeper than {MAX_NESTING_DEPTH} levels")
        return "[too deeply nested]"


@lru_cache(maxsize=16)
def _scrubber(key: HmacKey) -> _Walker:
    walker = _Walker(key, strict=True, mask_user_ids=True)
    # Page URLs, titles and user agents repeat from event to event: each string is searched once.
    walker.text = lru_cache(maxsize=65_536)(walker._text)
    return walker


def scrub(obj: Any, key: HmacKey) -> Any:
    """Return a copy of `obj` with e-mail addresses, phone numbers and IPs replaced.

    Values under PII-named keys (email, phone, phone_number, mobile, …) become "h_" pseudonyms;
    e-mail addresses and international ("+…") phone numbers inside any string (also in URLs), and
    strings written like phone numbers, become pseudonyms in place; values under IP-named keys are
    truncated (IPv4 /24, IPv6 /48).
    Raises `NestingTooDeepError` (a ValueError) past `MAX_NESTING_DEPTH` levels.
    """
    return _scrubber(key).walk(obj)


def scrub_identifier(value: str, key: HmacKey) -> str:
    """Return `value` unless it is an e-mail address or phone number, else its pseudonym.

    For identifiers that must stay usable as ids (anonymousId, groupId): a site that puts an
    e-mail address into one gets a stable pseudonym instead.
    """
    if _may_hold_email(value):
        return pseudonymize(normalize_email(value), key)
    if looks_like_phone(value) or phone_spans(value):
        return pseudonymize(normalize_phone(value), key)
    if (value.count(":") >= 2 or value.count(".") == 3) and _confirmed_ip(value.strip()) is not None:
        return pseudonymize(value.strip(), key)
    return _scrubber(key).text(value)


def mask_pii(obj: Any, key: HmacKey | None = None) -> Any:
    """Mask personal data in an arbitrary (possibly malformed) payload kept for operators.

    Like `scrub`, and also replaces `userId`/`previousId` values by their user pseudonyms. With no
    key, markers ("[email]", "[phone]", "[masked]", "[user id]") replace the values instead. Never
    raises: excessive nesting is replaced by a marker.
    """
    return _Walker(key, strict=False, mask_user_ids=True).walk(obj)


class KeyedPseudonyms:
    """The pseudonyms of one key, for domains that take identifiers from elsewhere (imports, search)."""

    def __init__(self, key: HmacKey) -> None:
        self._key = key

    def user_id(self, value: str) -> str:
        """`pseudonymize_user_id`: what every store keys a known user (or customer id) by."""
        return pseudonymize_user_id(value, self._key)

    def email(self, value: str) -> str:
        """The pseudonym ingest stores for this e-mail address (normalised first, as ingest does)."""
        return pseudonymize(normalize_email(value), self._key)
