"""Server-side consent: what a message may carry given the visitor's consent state.

The rules (docs/privacy.md explains them for people):

- The consent state is `context.consent` — `analytics`, `marketing`, `personalization` booleans.
  When a message states consent at all, a category it does not name is not granted (opt-in).
  A message stating no consent (server-side SDKs, imports) keeps the site's own legal basis and
  is not changed, unless the request carries a privacy signal.
- Global Privacy Control (`Sec-GPC: 1`, or `context.consent.gpc` from
  `navigator.globalPrivacyControl`) and Do Not Track (`DNT: 1`, or `context.consent.dnt`) are
  standing opt-outs: marketing and personalization are never granted while either is on, whatever
  a banner said. Analytics can still be granted explicitly.
- analytics not granted → cookieless: the message must carry no persistent identifier (no
  `anonymousId`, no `userId`) and be a `track`, `page` or `screen`; identify, alias and group
  are refused. Ingest gives it the day's cookieless visitor key instead (reviva.privacy.cookieless).
- marketing not granted → marketing fields are removed, the event is kept: contact and personal
  traits (e-mail, phone, name, address, birthday, marketing opt-ins) from `traits` and
  `context.traits`, and ad-platform click ids (gclid, fbclid, …) from `context.campaign` and from
  the URLs in `context.page` and `properties`.
- personalization not granted → stored with the event; consumers that personalise (offers,
  behaviour triggers) must skip such events. Ingest changes nothing.
- The effective state (after the signals) is what the event stores in `consent`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

CATEGORIES: Final = ("analytics", "marketing", "personalization")
COOKIELESS_TYPES: Final = frozenset({"track", "page", "screen"})

# Ad-platform click identifiers (the URL parameters reviva.enrich.channel recognises, and a few more).
AD_CLICK_IDS: Final = frozenset(
    {
        "gclid",
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
    }
)
# Trait keys (lower-case, without "_", "-", " ") that describe or reach a person: marketing data.
_PERSONAL_TRAIT_KEYS: Final = frozenset(
    {
        "email",
        "emailaddress",
        "mail",
        "phone",
        "phonenumber",
        "mobile",
        "mobilephone",
        "telephone",
        "tel",
        "whatsapp",
        "name",
        "firstname",
        "lastname",
        "fullname",
        "username",
        "address",
        "street",
        "postcode",
        "postalcode",
        "zip",
        "zipcode",
        "birthday",
        "dateofbirth",
        "dob",
        "age",
        "gender",
        "marketingoptin",
        "newsletter",
        "avatar",
        "title",
    }
)
_URL_KEYS: Final = ("url", "search", "referrer", "path", "href")


@dataclass(frozen=True)
class ConsentState:
    """The effective consent of one message, after GPC and DNT, and what the message stated."""

    analytics: bool
    marketing: bool
    personalization: bool
    gpc: bool = False
    dnt: bool = False
    stated: Mapping[str, bool] = field(default_factory=dict)

    def as_dict(self) -> dict[str, bool]:
        """What `CollectedEvent.consent` stores: the flags as stated, corrected by the signals.

        A category the message did not name stays absent (and counts as not granted), except
        marketing and personalization under a signal, which are stored as refused.
        """
        stored = dict(self.stated)
        for category in CATEGORIES:
            if category in stored:
                stored[category] = getattr(self, category)
        if self.gpc or self.dnt:
            stored["marketing"] = False
            stored["personalization"] = False
        if self.gpc:
            stored["gpc"] = True
        if self.dnt:
            stored["dnt"] = True
        return stored


class ConsentRefusedError(ValueError):
    """A message holds data its consent state does not allow; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def effective_consent(
    context: Any, *, gpc_header: bool = False, dnt_header: bool = False
) -> ConsentState | None:
    """The consent a message is processed under, or None when it states none and no signal is on.

    Without a stated consent but with a signal, analytics is taken as granted (the sender never
    asked; the signals only opt out of marketing and personalization).
    """
    stated = _stated(context.get("consent") if isinstance(context, Mapping) else None)
    gpc = gpc_header or (stated is not None and stated.get("gpc") is True)
    dnt = dnt_header or (stated is not None and stated.get("dnt") is True)
    if stated is None:
        if not gpc and not dnt:
            return None
        return ConsentState(
            analytics=True, marketing=False, personalization=False, gpc=gpc, dnt=dnt, stated={}
        )
    opted_out = gpc or dnt
    return ConsentState(
        analytics=stated.get("analytics") is True,
        marketing=stated.get("marketing") is True and not opted_out,
        personalization=stated.get("personalization") is True and not opted_out,
        gpc=gpc,
        dnt=dnt,
        stated=stated,
    )


def _stated(value: Any) -> dict[str, bool] | None:
    """`context.consent` when it is a non-empty object of booleans; anything else states nothing."""
    if isinstance(value, Mapping) and value and all(type(flag) is bool for flag in value.values()):
        return dict(value)
    return None


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


def _normalized(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


def strip_personal_traits(traits: Mapping[str, Any]) -> dict[str, Any]:
    """`traits` without contact and personal fields (marketing data)."""
    return {name: value for name, value in traits.items() if _normalized(name) not in _PERSONAL_TRAIT_KEYS}


def strip_click_ids_from_url(value: str) -> str:
    """A URL (or a "?query" string) without ad click-id parameters; other text is returned as is."""
    if "=" not in value or not any(click_id in value for click_id in AD_CLICK_IDS):
        return value
    parts = urlsplit(value)
    query = parts.query
    if not query and value.startswith("?"):
        query = value[1:]
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(name, item) for name, item in pairs if name.lower() not in AD_CLICK_IDS]
    if len(kept) == len(pairs):
        return value
    new_query = urlencode(kept)
    if value.startswith("?"):
        return "?" + new_query if new_query else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, new_query, parts.fragment))


def _strip_urls(section: Any) -> Any:
    if not isinstance(section, Mapping):
        return section
    return {
        name: strip_click_ids_from_url(value) if name in _URL_KEYS and isinstance(value, str) else value
        for name, value in section.items()
    }


def without_marketing(
    context: Mapping[str, Any], properties: Mapping[str, Any], traits: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(context, properties, traits) with marketing fields removed: personal traits and click ids."""
    new_context = dict(context)
    if "page" in new_context:
        new_context["page"] = _strip_urls(new_context["page"])
    campaign = new_context.get("campaign")
    if isinstance(campaign, Mapping):
        new_context["campaign"] = {
            name: value for name, value in campaign.items() if name.lower() not in AD_CLICK_IDS
        }
    context_traits = new_context.get("traits")
    if isinstance(context_traits, Mapping):
        new_context["traits"] = strip_personal_traits(context_traits)
    return new_context, _strip_urls(properties), strip_personal_traits(traits)
