"""Server-side consent: what a message may carry given the visitor's consent state.

The rules (docs/privacy.md explains them for people, with the mapping table):

- The consent state is `context.consent`. When it is absent (or null) the message states no
  consent (server-side SDKs, imports): it keeps the site's own legal basis and is not changed,
  unless the request carries a privacy signal. Anything else is a stated consent and is read
  category by category (`read_consent`), failing closed: a category is granted only when every
  statement about it clearly grants it (`true` or `"granted"`); a category stated in any other
  way (`false`, `"denied"`, `0`, `"false"`, `"yes"`, an object, …) or not named at all is refused.
  An unreadable consent (a string, a number, a `categoryPreferences` that is not an object) refuses
  every category. Values that name no category (`updatedAt`, `necessary`, …) are not consent.
- The vocabularies read: booleans under our names (`analytics`, `marketing`, `personalization`);
  Google Consent Mode v2 (`analytics_storage`, `ad_storage`, `ad_user_data`, `ad_personalization`,
  `personalization_storage`, `functionality_storage` = `"granted"`/`"denied"`); Segment's Consent
  Management (`categoryPreferences: {"Analytics": true, "Advertising": false}`); and a list of
  granted categories (`["analytics", "marketing"]`, or `{"categories": [...]}`). Names match
  case-insensitively, ignoring `_`, `-`, `.` and spaces (`CATEGORY_NAMES`).
- Global Privacy Control (`Sec-GPC: 1`, or `context.consent.gpc` from
  `navigator.globalPrivacyControl`) and Do Not Track (`DNT: 1`, or `context.consent.dnt`) are
  standing opt-outs: marketing and personalization are never granted while either is on, whatever
  a banner said. Analytics can still be granted explicitly. A stated signal is off only when it is
  `false` or null: an unclear signal counts as on (it can only refuse more).
- analytics not granted → cookieless: the message must carry no persistent identifier (no
  `anonymousId`, no `userId`) and be a `track`, `page` or `screen`; identify, alias and group
  are refused. Ingest gives it the day's cookieless visitor key instead (reviva.privacy.cookieless),
  and `without_identifiers` removes every stable identifier from what the event stores.
- marketing not granted → `without_marketing` removes marketing data, the event is kept: ad click
  ids under any key at any depth and as parameters of any URL or query string (query and
  fragment, also percent-encoded), and personal fields (contact details, names, address,
  birthday, opt-ins) at any depth of context, properties and traits.
- personalization not granted → stored with the event; consumers that personalise (offers,
  behaviour triggers) must skip such events. Ingest changes nothing.
- The effective state (after the signals) is what the event stores in `consent`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

CATEGORIES: Final = ("analytics", "marketing", "personalization")
COOKIELESS_TYPES: Final = frozenset({"track", "page", "screen"})

# The consent vocabularies, by normalized name (`_normalized`): which category each name states.
CATEGORY_NAMES: Final[Mapping[str, str]] = {
    # Our own names; Segment Consent Management's and OneTrust-style category names.
    "analytics": "analytics",
    "performance": "analytics",
    "statistics": "analytics",
    "marketing": "marketing",
    "advertising": "marketing",
    "targeting": "marketing",
    "personalization": "personalization",
    "personalisation": "personalization",
    "functional": "personalization",
    "preferences": "personalization",
    # Google Consent Mode v2.
    "analyticsstorage": "analytics",
    "adstorage": "marketing",
    "aduserdata": "marketing",
    "adpersonalization": "marketing",
    "personalizationstorage": "personalization",
    "functionalitystorage": "personalization",
}
# Objects or lists inside the consent object that hold category statements (Segment's shape).
_CONTAINER_NAMES: Final = frozenset({"categorypreferences", "categories"})
_SIGNAL_NAMES: Final = frozenset({"gpc", "dnt"})
_GRANTED_WORD: Final = "granted"

# Ad-platform click and e-mail recipient identifiers (URL parameters and cookie names).
AD_CLICK_IDS: Final = frozenset(
    {
        "gclid",
        "gclsrc",
        "gbraid",
        "wbraid",
        "dclid",
        "msclkid",
        "ttclid",
        "li_fat_id",
        "fbclid",
        "twclid",
        "epik",
        "yclid",
        "irclid",
        "sccid",
        "rdt_cid",
        "qclid",
        "s_kwcid",
        "ef_id",
        "srsltid",
        "igshid",
        "_kx",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "_fbc",
        "_fbp",
        "_gcl_aw",
        "_gcl_dc",
        "_gcl_au",
    }
)
# Keys (normalized) that describe or reach a person wherever they appear: marketing data.
_PERSONAL_KEYS: Final = frozenset(
    {
        "email",
        "emailaddress",
        "mail",
        "phone",
        "phonenumber",
        "mobilephone",
        "mobilenumber",
        "telephone",
        "tel",
        "whatsapp",
        "firstname",
        "lastname",
        "fullname",
        "givenname",
        "familyname",
        "surname",
        "middlename",
        "maidenname",
        "displayname",
        "username",
        "address",
        "streetaddress",
        "addressline1",
        "addressline2",
        "street",
        "postcode",
        "postalcode",
        "zip",
        "zipcode",
        "birthday",
        "birthdate",
        "dateofbirth",
        "dob",
        "age",
        "gender",
        "marketingoptin",
        "newsletter",
        "avatar",
    }
)
# Suffixes that make any key personal ("customer_email", "billing_first_name", "contactPhoneNumber").
_PERSONAL_SUFFIXES: Final = (
    "email",
    "emailaddress",
    "phonenumber",
    "firstname",
    "lastname",
    "fullname",
    "surname",
)
# Objects that describe a person: there, and in `traits`, a bare `name`, `title` or `phone` is the
# person's. Elsewhere `name` is a page, product or campaign name (Segment's specs) and is kept.
_PERSON_OBJECTS: Final = frozenset(
    {
        "traits",
        "customer",
        "user",
        "contact",
        "person",
        "buyer",
        "purchaser",
        "billing",
        "shipping",
        "recipient",
        "member",
        "visitor",
        "profile",
        "lead",
        "guest",
        "owner",
        "identity",
        "customers",
        "users",
        "contacts",
        "people",
        "recipients",
        "members",
        "guests",
    }
)
_PERSON_ONLY_KEYS: Final = frozenset({"name", "title", "mobile", "nickname"})

# Keys (normalized) whose values identify a visitor or device over time: never stored without
# analytics consent, whatever the value.
_IDENTIFIER_KEYS: Final = frozenset(
    {
        "uid",
        "cid",
        "ga",
        "gl",
        "rvl",
        "ajsuid",
        "ajsaid",
        "idfa",
        "idfv",
        "gaid",
        "adid",
        "aaid",
        "androidid",
        "imei",
        "macaddress",
        "fingerprint",
        "pushtoken",
        "devicetoken",
        "emailhash",
        "hashedemail",
        "emailsha256",
        "sha256email",
        "emailmd5",
        "md5email",
        "phonehash",
        "hashedphone",
        "mceid",
        "kx",
        "hsenc",
        "mkttok",
    }
)
_IDENTIFIER_SUFFIXES: Final = (
    "userid",
    "anonymousid",
    "visitorid",
    "deviceid",
    "customerid",
    "clientid",
    "advertisingid",
    "externalid",
    "memberid",
    "personid",
    "contactid",
    "profileid",
    "leadid",
    "fingerprint",
)
# A stable identifier written as a value: a hex digest (MD5, SHA-1, SHA-256, a pseudonym's 32
# digits), optionally behind a short prefix (`u_…` user and `h_…` value pseudonyms, `sha256_…`).
_DIGEST_MIN_LENGTH: Final = 32
# Texts up to this length are cached (4,096 of them, so at most ~2 MB): URLs repeat within a page view.
_CACHED_TEXT_LENGTH: Final = 512
_STABLE_ID_RE: Final = re.compile(
    r"(?<![0-9A-Za-z])(?:[A-Za-z][A-Za-z0-9]{0,7}_)?[0-9A-Fa-f]{32,}(?![0-9A-Za-z])"
)
# URL separators, also percent-encoded once or more ("%3F", "%253F"): a URL inside a parameter.
_URL_SEPARATOR_SPLIT: Final = re.compile(r"([?&#;]|%(?:25)*(?:3[Ff]|26|23|3[Bb]))")
_PAIR_SEPARATOR_RE: Final = re.compile(r"[&;]|%(?:25)*(?:26|3[Bb])")


def _parameter_pattern(names: frozenset[str]) -> re.Pattern[str]:
    """`name=value` at the start of a query piece, for one of `names` (the `=` also encoded)."""
    alternatives = "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?:{alternatives})(?:=|%(?:25)*3[Dd])\S*", re.IGNORECASE)


_CLICK_ID_PARAMETER_RE: Final = _parameter_pattern(AD_CLICK_IDS)
_IDENTIFIER_PARAMETER_RE: Final = _parameter_pattern(
    frozenset(
        {
            "uid",
            "user_id",
            "userid",
            "anonymous_id",
            "anonymousid",
            "visitor_id",
            "device_id",
            "client_id",
            "cid",
            "_ga",
            "_gl",
            "_rvl",
            "ajs_uid",
            "ajs_aid",
            "mc_eid",
            "_kx",
            "_hsenc",
            "mkt_tok",
            "email",
            "e-mail",
            "em",
            "ph",
        }
    )
)
_NORMALIZED_CLICK_IDS: Final = frozenset(name.replace("_", "") for name in AD_CLICK_IDS)


@dataclass(frozen=True)
class ConsentState:
    """The effective consent of one message, after GPC and DNT, and what the message stated."""

    analytics: bool
    marketing: bool
    personalization: bool
    gpc: bool = False
    dnt: bool = False
    # Every category the message named, in any vocabulary: True only where clearly granted.
    stated: Mapping[str, bool] = field(default_factory=dict)

    def as_dict(self) -> dict[str, bool]:
        """What `CollectedEvent.consent` stores: the categories as read, corrected by the signals.

        A category the message did not name stays absent (and counts as not granted), except
        marketing and personalization under a signal, which are stored as refused.
        """
        stored = {category: getattr(self, category) for category in CATEGORIES if category in self.stated}
        if self.gpc or self.dnt:
            stored["marketing"] = False
            stored["personalization"] = False
        if self.gpc:
            stored["gpc"] = True
        if self.dnt:
            stored["dnt"] = True
        return stored


@dataclass(frozen=True)
class StatedConsent:
    """A consent object read category by category (`read_consent`)."""

    categories: Mapping[str, bool]
    gpc: bool = False
    dnt: bool = False


class ConsentRefusedError(ValueError):
    """A message holds data its consent state does not allow; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _normalized(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(" ", "").replace(".", "")


def _clearly_granted(flag: Any) -> bool:
    """Only `true` and the word "granted" grant; everything else (also "true", 1, "yes") refuses."""
    return flag is True or (isinstance(flag, str) and flag.strip().lower() == _GRANTED_WORD)


class _Verdicts:
    """Statements about categories, combined so that one unclear or refusing statement refuses."""

    def __init__(self) -> None:
        self.categories: dict[str, bool] = {}

    def state(self, category: str, granted: bool) -> None:
        self.categories[category] = self.categories.get(category, True) and granted

    def refuse_all(self) -> None:
        for category in CATEGORIES:
            self.state(category, False)

    def read_granted_list(self, items: list[Any]) -> None:
        listed = {CATEGORY_NAMES.get(_normalized(item)) for item in items if isinstance(item, str)}
        for category in CATEGORIES:
            self.state(category, category in listed)

    def read_container(self, value: Any) -> None:
        if isinstance(value, list):
            self.read_granted_list(value)
        elif isinstance(value, Mapping):
            for name, flag in value.items():
                category = CATEGORY_NAMES.get(_normalized(name)) if isinstance(name, str) else None
                if category is not None:
                    self.state(category, _clearly_granted(flag))
        else:
            self.refuse_all()


def read_consent(value: Any) -> StatedConsent | None:
    """Read `context.consent` category by category; None only when it is absent (None).

    Fails closed: see the module docstring. Never raises, whatever the value holds.
    """
    if value is None:
        return None
    verdicts = _Verdicts()
    gpc = dnt = False
    if isinstance(value, Mapping):
        for name, flag in value.items():
            normalized = _normalized(name) if isinstance(name, str) else ""
            if normalized in _SIGNAL_NAMES:
                # A signal can only refuse more: it is off only when clearly off.
                on = flag is not False and flag is not None
                gpc = gpc or (on and normalized == "gpc")
                dnt = dnt or (on and normalized == "dnt")
            elif normalized in CATEGORY_NAMES:
                verdicts.state(CATEGORY_NAMES[normalized], _clearly_granted(flag))
            elif normalized in _CONTAINER_NAMES:
                verdicts.read_container(flag)
    elif isinstance(value, list):
        verdicts.read_granted_list(value)
    else:
        verdicts.refuse_all()
    return StatedConsent(verdicts.categories, gpc=gpc, dnt=dnt)


def effective_consent(
    context: Any, *, gpc_header: bool = False, dnt_header: bool = False
) -> ConsentState | None:
    """The consent a message is processed under, or None when it states none and no signal is on.

    Without a stated consent but with a signal, analytics is taken as granted (the sender never
    asked; the signals only opt out of marketing and personalization).
    """
    stated = read_consent(context.get("consent") if isinstance(context, Mapping) else None)
    gpc = gpc_header or (stated is not None and stated.gpc)
    dnt = dnt_header or (stated is not None and stated.dnt)
    if stated is None:
        if not gpc and not dnt:
            return None
        return ConsentState(
            analytics=True, marketing=False, personalization=False, gpc=gpc, dnt=dnt, stated={}
        )
    opted_out = gpc or dnt
    categories = stated.categories
    return ConsentState(
        analytics=categories.get("analytics") is True,
        marketing=categories.get("marketing") is True and not opted_out,
        personalization=categories.get("personalization") is True and not opted_out,
        gpc=gpc,
        dnt=dnt,
        stated=dict(categories),
    )


def check_cookieless(raw: Mapping[str, Any], message_type: str | None) -> None:
    """Refuse a message without analytics consent that identifies anyone or is not a page/track."""
    if message_type is not None and message_type not in COOKIELESS_TYPES:
        raise ConsentRefusedError(f"consent: a {message_type} message needs analytics consent")
    if raw.get("userId") not in (None, ""):
        raise ConsentRefusedError("consent: userId needs analytics consent")
    if raw.get("anonymousId") not in (None, ""):
        raise ConsentRefusedError("consent: a persistent anonymousId needs analytics consent")


def cookieless_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """A cookieless message's context without anything that could identify the device over time."""
    cleaned = {name: value for name, value in context.items() if name not in ("traits", "fingerprint")}
    device = cleaned.get("device")
    if isinstance(device, Mapping):
        cleaned["device"] = {
            name: value for name, value in device.items() if name not in ("id", "advertisingId", "token")
        }
    return cleaned


def _strip_parameters(parameter: re.Pattern[str], value: str) -> str:
    """`value` without the URL parameters `parameter` matches, in queries and fragments.

    One pass over the separators (linear, whatever the number of parameters): a removed
    parameter takes one separator with it, so "?gclid=1&x=1" becomes "?x=1", "?a=1&gclid=1#top"
    becomes "?a=1#top" and "?gclid=1" becomes "".
    """
    parts = _URL_SEPARATOR_SPLIT.split(value)
    # (separator before, piece): the first piece has none.
    pieces = [("", parts[0]), *zip(parts[1::2], parts[2::2], strict=True)]
    out: list[str] = []
    run_separator: str | None = None  # the separator before a run of removed parameters
    changed = False
    for separator, piece in pieces:
        match = parameter.match(piece)
        if match is None:
            if run_separator is not None and _PAIR_SEPARATOR_RE.fullmatch(separator):
                # "?gclid=1&x=1": the kept parameter takes the place (and "?") of the removed one.
                separator = run_separator
            out.append(separator + piece)
            run_separator = None
            continue
        changed = True
        rest = piece[match.end() :]
        if rest:
            # Free text after the value ("see ?gclid=1 there"): the text stays, the separator goes.
            out.append(rest)
            run_separator = None
        elif run_separator is None:
            run_separator = separator
    return "".join(out) if changed else value


def strip_click_ids_from_url(value: str) -> str:
    """A URL (or any text) without ad click-id parameters, in the query and the fragment."""
    if "=" not in value and "%" not in value:
        return value
    if len(value) <= _CACHED_TEXT_LENGTH:
        return _cached_without_click_ids(value)
    return _strip_parameters(_CLICK_ID_PARAMETER_RE, value)


@lru_cache(maxsize=4096)
def _cached_without_click_ids(value: str) -> str:
    # The events of one page view repeat its URL: cache short texts (bounded memory).
    return _strip_parameters(_CLICK_ID_PARAMETER_RE, value)


def _marketing_key(name: str) -> tuple[bool, bool, bool]:
    """(always marketing data, marketing data inside a person object, names a person object)."""
    normalized = _normalized(name)
    always = (
        normalized in _NORMALIZED_CLICK_IDS
        or normalized in _PERSONAL_KEYS
        or normalized.endswith(_PERSONAL_SUFFIXES)
        # "customer_name", "shippingPhone": a person object's name or phone flattened into one key.
        or any(
            normalized.endswith(suffix) and normalized[: -len(suffix)] in _PERSON_OBJECTS
            for suffix in ("name", "phone", "mobile")
        )
    )
    return always, normalized in _PERSON_ONLY_KEYS, normalized in _PERSON_OBJECTS


_PLAIN_KEY: Final = (False, False, False)
# Key roles are cached per name (every message repeats the same keys); long names are not, so a
# hostile payload cannot fill memory with them.
_CACHED_KEY_LENGTH: Final = 64
_cached_marketing_key: Final = lru_cache(maxsize=8192)(_marketing_key)


def _marketing_role(name: Any) -> tuple[bool, bool, bool]:
    if type(name) is not str:
        return _PLAIN_KEY
    return _cached_marketing_key(name) if len(name) <= _CACHED_KEY_LENGTH else _marketing_key(name)


KeyRole = Callable[[Any], tuple[bool, bool, bool]]


def _walk_keys(
    value: Any,
    in_person: bool,
    role: KeyRole,
    text: Callable[[str], str],
    drop: Callable[[str], bool] | None = None,
) -> Any:
    """`value` without the keys `role` removes (always, or inside a person's object), its strings
    passed through `text`, and strings `drop` refuses left out, at any depth.

    `role(name)` says (always removed, removed inside a person's object, the value is a person's).
    """
    kind = type(value)
    if kind is str:
        return text(value)
    if kind is list:
        return [
            _walk_keys(item, in_person, role, text, drop)
            for item in value
            if drop is None or not (type(item) is str and drop(item))
        ]
    if kind is not dict:
        return value
    kept: dict[str, Any] = {}
    for name, item in value.items():
        always, in_person_only, person = role(name)
        if always or (in_person and in_person_only):
            continue
        item_kind = type(item)
        if item_kind is str:
            if drop is None or not drop(item):
                kept[name] = text(item)
        elif item_kind is dict or item_kind is list:
            kept[name] = _walk_keys(item, person, role, text, drop)
        else:
            kept[name] = item
    return kept


def _walk_without_marketing(value: Any, in_person: bool) -> Any:
    return _walk_keys(value, in_person, _marketing_role, strip_click_ids_from_url)


def strip_personal_traits(traits: Mapping[str, Any]) -> dict[str, Any]:
    """`traits` without contact and personal fields (marketing data), at any depth."""
    return dict(_walk_without_marketing(dict(traits), True))


def without_marketing(
    context: Mapping[str, Any], properties: Mapping[str, Any], traits: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(context, properties, traits) without marketing data: click ids and personal fields.

    Click ids go under any key at any depth and from every string that carries them as URL
    parameters; personal fields go at any depth (`name` and `title` only where they belong to a
    person: traits, `context.traits` and objects such as `customer` or `billing`).
    """
    return (
        dict(_walk_without_marketing(dict(context), False)),
        dict(_walk_without_marketing(dict(properties), False)),
        strip_personal_traits(traits),
    )


def _identifier_key(name: str) -> tuple[bool, bool, bool]:
    """(always an identifier, an identifier inside a person object, names a person object)."""
    normalized = _normalized(name)
    always = (
        normalized in _IDENTIFIER_KEYS
        or normalized.endswith(_IDENTIFIER_SUFFIXES)
        or is_stable_identifier(name)
    )
    return always, normalized == "id", normalized in _PERSON_OBJECTS


_cached_identifier_key: Final = lru_cache(maxsize=8192)(_identifier_key)


def _identifier_role(name: Any) -> tuple[bool, bool, bool]:
    if type(name) is not str:
        return _PLAIN_KEY
    return _cached_identifier_key(name) if len(name) <= _CACHED_KEY_LENGTH else _identifier_key(name)


def strip_identifiers_from_text(value: str, replacement: str = "") -> str:
    """`value` without identifier URL parameters (`uid=`, `_ga=`, …); digests become `replacement`."""
    if "=" not in value and "%" not in value and len(value) < _DIGEST_MIN_LENGTH:
        return value
    if len(value) <= _CACHED_TEXT_LENGTH:
        return _cached_without_identifiers(value, replacement)
    return _without_identifiers_in_text(value, replacement)


@lru_cache(maxsize=4096)
def _cached_without_identifiers(value: str, replacement: str) -> str:
    return _without_identifiers_in_text(value, replacement)


def _without_identifiers_in_text(value: str, replacement: str) -> str:
    if "=" in value or "%" in value:
        value = _strip_parameters(_IDENTIFIER_PARAMETER_RE, value)
    if len(value) >= _DIGEST_MIN_LENGTH:
        value = _STABLE_ID_RE.sub(replacement, value)
    return value


def is_stable_identifier(value: str) -> bool:
    """True when `value` is entirely a stable identifier: a hex digest or a `u_`/`h_` pseudonym."""
    return len(value) >= _DIGEST_MIN_LENGTH and _STABLE_ID_RE.fullmatch(value.strip()) is not None


def _walk_without_identifiers(value: Any, in_person: bool) -> Any:
    return _walk_keys(value, in_person, _identifier_role, strip_identifiers_from_text, is_stable_identifier)


def without_identifiers(payload: Any) -> Any:
    """`payload` (context, properties, traits or a name) without any stable identifier.

    For a message without analytics consent: identifier-named keys (user, visitor, device,
    advertising and client ids, e-mail hashes, the `id` of a person object such as `user` or
    `customer`) are removed whatever their value; a value that is a
    hex digest or a pseudonym is removed with its key; inside text and URLs, identifier
    parameters are removed and digests cut out.
    """
    return _walk_without_identifiers(payload, False)


def names_without_identifiers(type_fields: Mapping[str, Any]) -> dict[str, Any]:
    """Event, page and screen names without stable identifiers: each digest becomes "[id]".

    A name is kept (never removed with its key) so that a track still has an event name.
    """
    return {
        name: strip_identifiers_from_text(value, "[id]") if isinstance(value, str) else value
        for name, value in type_fields.items()
    }


__all__ = [
    "AD_CLICK_IDS",
    "CATEGORIES",
    "CATEGORY_NAMES",
    "ConsentRefusedError",
    "ConsentState",
    "StatedConsent",
    "check_cookieless",
    "cookieless_context",
    "effective_consent",
    "is_stable_identifier",
    "names_without_identifiers",
    "read_consent",
    "strip_click_ids_from_url",
    "strip_identifiers_from_text",
    "strip_personal_traits",
    "without_identifiers",
    "without_marketing",
]
