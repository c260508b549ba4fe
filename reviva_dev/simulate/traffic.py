"""Realistic, reproducible Segment traffic for the RevivaTech site.

`plan_traffic` plays every visitor's visits (see `personas.py` for who they are), places them
in the `days` before `now`, and returns the messages in the order clients would send them
(merged by event time, each visitor's own messages in order) together with the ground truth:
what each visitor did and a `TrafficSummary` of everything sent, so a test or the CLI can
compare what the pipeline stored with what it was given.

Everything derives from `random.Random` seeded per visitor, including message ids and anonymous
ids (never `uuid.uuid4()`), so a seed reproduces the same bytes; re-sending a simulation is a
replay of the same `messageId`s, which the pipeline must de-duplicate.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from reviva_dev.simulate.autocapture import (
    AUTO_EVENTS,
    AutoRecord,
    BrowserDevice,
    merge_records,
    plan_session,
)
from reviva_dev.simulate.personas import (
    ABOUT,
    ACCOUNT_REPAIRS,
    APPOINTMENT_TYPES,
    BOOK,
    BOOK_CONFIRM,
    BOT_DEVICES,
    BOT_PLACES,
    BROWSING_PAGES,
    CAMPAIGNS,
    CAMPAIGNS_BY_KEY,
    CATEGORIES,
    CONTACT,
    CONTACT_METHODS,
    CURRENCY,
    EMAIL_DOMAINS,
    FAQ,
    FIRST_NAMES,
    HOME,
    HUMAN_DEVICES,
    HUMAN_PLACES,
    LAST_NAMES,
    LIBRARY,
    LOCALES,
    LOGIN,
    MID_VISIT_CAMPAIGN_KEY,
    ORGANIC_SEARCH_REFERRERS,
    PAGES_BY_PATH,
    PERSONAS,
    PHONE_PREFIX,
    PRICING_INDEX,
    REFERRAL_REFERRERS,
    REVIEWS,
    SERVICES,
    SERVICES_BY_CATEGORY,
    SERVICES_INDEX,
    SITE_ORIGIN,
    SOCIAL_REFERRERS,
    Campaign,
    Device,
    Page,
    PersonaName,
    Place,
    Service,
)

MAX_DAYS = 30
DAY_MS = 86_400_000
MINUTE_MS = 60_000
SESSION_TIMEOUT_MS = 30 * MINUTE_MS
# Visits of one visitor are at least this far apart, comfortably over the 30-minute timeout.
MIN_SESSION_GAP_MS = 45 * MINUTE_MS
# The ingest refuses events older than 30 days at receipt: keep the oldest an hour younger.
OLDEST_EVENT_MARGIN_MS = 60 * MINUTE_MS
NEWEST_EVENT_MARGIN_MS = MINUTE_MS

EVENT_PRICING_VIEWED = "Pricing Viewed"
EVENT_SERVICE_COMPARED = "Service Compared"
EVENT_CONTACT_INFO_VIEWED = "Contact Info Viewed"
EVENT_BOOKING_STARTED = "Booking Started"
EVENT_BOOKING_SUBMITTED = "Booking Submitted"
TRACK_EVENTS: tuple[str, ...] = (
    EVENT_PRICING_VIEWED,
    EVENT_SERVICE_COMPARED,
    EVENT_CONTACT_INFO_VIEWED,
    EVENT_BOOKING_STARTED,
    EVENT_BOOKING_SUBMITTED,
)

# Relative traffic per UTC hour: a London shop's visitors sleep at night.
_HOUR_WEIGHTS: tuple[float, ...] = (
    0.15, 0.10, 0.07, 0.05, 0.05, 0.08, 0.20, 0.40, 0.60, 0.80, 0.90, 1.00,
    1.00, 0.95, 0.90, 0.90, 0.90, 0.95, 1.00, 1.00, 0.90, 0.70, 0.45, 0.25,
)  # fmt: skip
_PERSONA_NAMES = tuple(p.name for p in PERSONAS)
_PERSONA_WEIGHTS = tuple(p.weight for p in PERSONAS)
_HUMAN_DEVICE_WEIGHTS = tuple(d.weight for d in HUMAN_DEVICES)
_BOT_DEVICE_WEIGHTS = tuple(d.weight for d in BOT_DEVICES)
_LOCALE_NAMES = tuple(name for name, _ in LOCALES)
_LOCALE_WEIGHTS = tuple(weight for _, weight in LOCALES)
_CAMPAIGN_WEIGHTS = tuple(c.weight for c in CAMPAIGNS)
_CLICK_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_SCRIPTED_BOTS = frozenset({"curl", "python-requests"})


def clamp_days(days: int) -> int:
    """The simulated period in days, within what the ingest accepts (1 to 30)."""
    return max(1, min(MAX_DAYS, int(days)))


def iso_millis(epoch_ms: int) -> str:
    """ISO 8601 UTC with milliseconds, as analytics.js writes timestamps."""
    seconds, millis = divmod(epoch_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


@dataclass(frozen=True)
class VisitorTruth:
    """What one simulated visitor really did: the answer key for pipeline tests."""

    index: int
    persona: PersonaName
    # One per device; a returning customer may come back on a second device.
    anonymous_ids: tuple[str, ...]
    user_id: str | None
    is_bot: bool
    # Visits separated by more than 30 minutes of inactivity.
    sessions: int
    # Visits in which a new campaign arrived mid-visit (the pipeline starts a new session there).
    campaign_switches: int
    # The channel each visit was entered from (the landing's referrer/UTM intent).
    session_channels: tuple[str, ...]
    messages: int
    page_views: int
    conversions: int
    revenue_pence: int
    first_timestamp: str
    last_timestamp: str
    # Where each of its devices browsed from (CloudFront's viewer country), in device order.
    countries: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrafficSummary:
    """Counts of everything generated, to compare with what the pipeline stored."""

    visitors: int
    devices: int
    messages: int
    sessions: int
    campaign_switches: int
    by_type: dict[str, int]
    by_event: dict[str, int]
    visitors_by_persona: dict[str, int]
    messages_by_persona: dict[str, int]
    sessions_by_channel: dict[str, int]
    conversions: int
    converted_visitors: int
    revenue: float
    revenue_by_service: dict[str, float]
    identified_users: int
    bots: int
    bot_messages: int
    first_timestamp: str | None
    last_timestamp: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return asdict(self)


@dataclass(frozen=True)
class TrafficPlan:
    """The generated messages in send order, with the ground truth behind them."""

    visitors: int
    days: int
    seed: int
    now: datetime
    messages: list[dict[str, Any]]
    truths: tuple[VisitorTruth, ...]
    summary: TrafficSummary
    # Where every device browses from, by anonymous id: the sender adds CloudFront's viewer headers.
    places: dict[str, Place] = field(default_factory=dict)

    def viewer_headers(self, message: dict[str, Any]) -> dict[str, str]:
        """The viewer headers CloudFront would add to a request carrying `message` ({} if unknown)."""
        place = self.places.get(str(message.get("anonymousId")))
        return cloudfront_viewer_headers(place) if place else {}


@dataclass
class _Session:
    """One visit being played: messages stamped with milliseconds since the visit began."""

    channel: str
    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    clock_ms: int = 0
    campaign_switches: int = 0
    # The browser tracker's automatic events (autocapture), kept apart so that the site's own
    # messages, and where the visit is placed, are the same with autocapture on or off.
    auto_records: list[AutoRecord] = field(default_factory=list)


def cloudfront_viewer_headers(place: Place) -> dict[str, str]:
    """The geography headers CloudFront adds for a viewer there (it URL-encodes the city)."""
    return {
        "CloudFront-Viewer-Country": place.country,
        "CloudFront-Viewer-Country-Region": place.region,
        "CloudFront-Viewer-City": quote(place.city),
    }


_HUMAN_PLACE_WEIGHTS = tuple(place.weight for place in HUMAN_PLACES)
_BOT_PLACE_WEIGHTS = tuple(place.weight for place in BOT_PLACES)


def _place_of(anonymous_id: str, is_bot: bool) -> Place:
    # A generator of its own, seeded by the (seeded) device id: adding places changed no other draw,
    # so a seed still produces the same messages as before.
    rng = random.Random(f"reviva-simulate/place/{anonymous_id}")
    if is_bot:
        return rng.choices(BOT_PLACES, _BOT_PLACE_WEIGHTS)[0]
    return rng.choices(HUMAN_PLACES, _HUMAN_PLACE_WEIGHTS)[0]


@dataclass
class _DeviceState:
    device: Device
    anonymous_id: str
    locale: str
    timezone: str
    consent: dict[str, bool] | None

    @property
    def place(self) -> Place:
        """Where the device browses from."""
        return _place_of(self.anonymous_id, self.device.kind == "bot")


@dataclass
class _Entry:
    """How a visit begins: the channel, the referrer and, for campaigns, the landing query."""

    channel: str
    referrer: str
    campaign: Campaign | None = None


class _VisitorPlayer:
    """Plays one visitor's visits, building analytics.js-shaped messages."""

    def __init__(self, index: int, seed: int, used_user_ids: set[str]) -> None:
        self.index = index
        self.seed = seed
        self.rng = random.Random(f"reviva-simulate/{seed}/{index}")
        self.persona: PersonaName = self.rng.choices(_PERSONA_NAMES, _PERSONA_WEIGHTS)[0]
        self.is_bot = self.persona is PersonaName.BOT
        self.used_user_ids = used_user_ids
        self.user_id: str | None = None
        self.traits: dict[str, Any] | None = None
        self.devices: list[_DeviceState] = [self._new_device()]
        self.sessions: list[_Session] = []
        self.session_devices: list[_DeviceState] = []
        # Gap before each visit after the first, before fitting the visits into the window.
        self.nominal_gaps_ms: list[int] = []
        self._session: _Session | None = None
        self._device = self.devices[0]
        self._page: dict[str, str] = {}
        self._campaign: dict[str, str] | None = None

    # -- identities -------------------------------------------------------------------------

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _new_device(self) -> _DeviceState:
        rng = self.rng
        if self.is_bot:
            device = rng.choices(BOT_DEVICES, _BOT_DEVICE_WEIGHTS)[0]
            return _DeviceState(device, self._uuid(), "en-US", "UTC", None)
        device = rng.choices(HUMAN_DEVICES, _HUMAN_DEVICE_WEIGHTS)[0]
        locale = rng.choices(_LOCALE_NAMES, _LOCALE_WEIGHTS)[0]
        # Consent categories as the store's tracker reports them (context.consent, flat booleans):
        # everyone simulated accepted analytics; fewer accepted marketing.
        consent = {"analytics": True, "marketing": rng.random() < 0.6}
        return _DeviceState(device, self._uuid(), locale, "Europe/London", consent)

    def _customer(self) -> None:
        """Give the visitor a customer account (user id and traits) if they have none yet."""
        if self.user_id is not None:
            return
        rng = self.rng
        while True:
            user_id = f"cust-{rng.randrange(10**9, 10**10)}"
            if user_id not in self.used_user_ids:
                break
        self.used_user_ids.add(user_id)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}{rng.randrange(1, 100)}@{rng.choice(EMAIL_DOMAINS)}"
        phone = f"{PHONE_PREFIX}{rng.randrange(1000):03d}"
        self.traits = {"email": email, "phone": phone, "marketing_opt_in": rng.random() < 0.5}
        self.user_id = user_id

    # -- visits -----------------------------------------------------------------------------

    def _start_session(self, entry: _Entry, device: _DeviceState | None = None) -> _Session:
        session = _Session(channel=entry.channel)
        self.sessions.append(session)
        self._device = device or self._device
        self.session_devices.append(self._device)
        self._session = session
        self._page = {}
        self._campaign = None
        return session

    def _wait(self, low_ms: float, high_ms: float) -> None:
        assert self._session is not None
        self._session.clock_ms += int(self.rng.uniform(low_ms, high_ms))

    def _read_time(self) -> None:
        """Time spent on a page before the next one: seconds to a few minutes, never 30."""
        assert self._session is not None
        if self.is_bot:
            self._session.clock_ms += self.rng.randint(150, 1500)
            return
        millis = self.rng.lognormvariate(10.3, 0.8)  # median ~30 s
        self._session.clock_ms += int(min(max(millis, 3_000.0), 8 * MINUTE_MS))

    def _message(self, kind: str) -> dict[str, Any]:
        device = self._device
        context: dict[str, Any] = {
            "library": dict(LIBRARY),
            "page": dict(self._page),
            "userAgent": device.device.user_agent,
            "locale": device.locale,
            "timezone": device.timezone,
        }
        width, height, density = device.device.screen
        if width:
            context["screen"] = {"width": width, "height": height, "density": density}
        if self._campaign:
            context["campaign"] = dict(self._campaign)
        if device.consent is not None:
            context["consent"] = dict(device.consent)
        message: dict[str, Any] = {
            "type": kind,
            "messageId": self._uuid(),
            "anonymousId": device.anonymous_id,
        }
        if self.user_id is not None and kind != "alias":
            message["userId"] = self.user_id
        message["context"] = context
        return message

    def _record(self, message: dict[str, Any]) -> None:
        assert self._session is not None
        self._session.records.append((self._session.clock_ms, message))

    def page(self, page: Page, *, entry: _Entry | None = None, campaign: Campaign | None = None) -> None:
        """A page view; the first of a visit carries the entry referrer and any UTM query."""
        session = self._session
        assert session is not None
        if session.records:
            self._read_time()
        referrer = entry.referrer if entry is not None else self._page.get("url", "")
        search = ""
        self._campaign = None
        if campaign is not None:
            search, self._campaign = self._campaign_query(campaign)
        url = f"{SITE_ORIGIN}{page.path}{search}"
        self._page = {
            "path": page.path,
            "referrer": referrer,
            "search": search,
            "title": page.title,
            "url": url,
        }
        message = self._message("page")
        message["name"] = page.name
        message["properties"] = dict(self._page)
        self._record(message)

    def _campaign_query(self, campaign: Campaign) -> tuple[str, dict[str, str]]:
        rng = self.rng
        params = {
            "utm_source": campaign.source,
            "utm_medium": campaign.medium,
            "utm_campaign": campaign.name,
        }
        context = {"name": campaign.name, "source": campaign.source, "medium": campaign.medium}
        if campaign.terms:
            params["utm_term"] = context["term"] = rng.choice(campaign.terms)
        if campaign.contents:
            params["utm_content"] = context["content"] = rng.choice(campaign.contents)
        if campaign.click_id_param == "gclid":
            params["gclid"] = "Cj0KCQiA" + self._token(_CLICK_ID_ALPHABET, 72)
        elif campaign.click_id_param == "fbclid":
            params["fbclid"] = "IwAR" + self._token(_CLICK_ID_ALPHABET[:62], 56)
        elif campaign.click_id_param == "msclkid":
            params["msclkid"] = self._token("0123456789abcdef", 32)
        return "?" + urlencode(params), context

    def _token(self, alphabet: str, length: int) -> str:
        return "".join(self.rng.choices(alphabet, k=length))

    def track(
        self, event: str, properties: dict[str, Any], *, low_ms: int = 1_000, high_ms: int = 40_000
    ) -> None:
        """A track call fired on the current page a little after it loaded."""
        self._wait(low_ms, high_ms)
        message = self._message("track")
        message["event"] = event
        message["properties"] = properties
        self._record(message)

    def identify(self) -> None:
        """identify(userId, traits) as the site calls it on booking and login."""
        self._customer()
        message = self._message("identify")
        message["traits"] = dict(self.traits or {})
        self._record(message)

    def alias(self) -> None:
        """alias(userId): links the device's anonymous id to the new customer id."""
        self._customer()
        message = self._message("alias")
        message["previousId"] = self._device.anonymous_id
        message["userId"] = self.user_id
        self._record(message)

    # -- building blocks of behaviour -------------------------------------------------------

    def _organic_entry(self, weights: tuple[float, float, float, float]) -> _Entry:
        channel = self.rng.choices(("organic_search", "social", "referral", "direct"), weights)[0]
        referrer = ""
        if channel == "organic_search":
            referrer = self.rng.choice(ORGANIC_SEARCH_REFERRERS)
        elif channel == "social":
            referrer = self.rng.choice(SOCIAL_REFERRERS)
        elif channel == "referral":
            referrer = self.rng.choice(REFERRAL_REFERRERS)
        return _Entry(channel, referrer)

    def _campaign_entry(self, campaign: Campaign | None = None) -> _Entry:
        campaign = campaign or self.rng.choices(CAMPAIGNS, _CAMPAIGN_WEIGHTS)[0]
        return _Entry(campaign.channel, self.rng.choice(campaign.referrers), campaign)

    def _land(self, entry: _Entry, page: Page) -> None:
        self.page(page, entry=entry, campaign=entry.campaign)

    def _landing_page_for(self, entry: _Entry, service: Service | None = None) -> Page:
        if entry.campaign is not None:
            return PAGES_BY_PATH[self.rng.choice(entry.campaign.landing_paths)]
        if service is not None and entry.channel in ("organic_search", "referral"):
            return PAGES_BY_PATH[service.path] if self.rng.random() < 0.7 else HOME
        if entry.channel == "organic_search":
            return self.rng.choice(BROWSING_PAGES)
        if entry.channel == "social":
            return self.rng.choice((HOME, *[p for p in BROWSING_PAGES if p.path.startswith("/blog/")]))
        if entry.channel == "referral":
            return self.rng.choice((HOME, REVIEWS))
        return HOME

    def _price(self, service: Service) -> int:
        return self.rng.randrange(service.price_min_pence, service.price_max_pence + 1, 1000)

    def _view_pricing(self, category: str, service: Service | None = None) -> None:
        self.page(PAGES_BY_PATH[f"/pricing/{category}"] if self.rng.random() < 0.8 else PRICING_INDEX)
        services = SERVICES_BY_CATEGORY[category]
        properties: dict[str, Any] = {
            "category": category,
            "price_min": min(s.price_min_pence for s in services) / 100,
            "price_max": max(s.price_max_pence for s in services) / 100,
            "currency": CURRENCY,
        }
        if service is not None:
            properties["service"] = service.slug
        self.track(EVENT_PRICING_VIEWED, properties)

    def _compare(self, category: str) -> None:
        candidates = list(SERVICES_BY_CATEGORY[category])
        if len(candidates) < 2:
            candidates += [s for s in SERVICES if s.category != category][:2]
        compared = self.rng.sample(candidates, k=min(len(candidates), self.rng.choice((2, 2, 3))))
        self.track(
            EVENT_SERVICE_COMPARED,
            {
                "category": category,
                "services": [s.slug for s in compared],
                "compared_count": len(compared),
            },
        )

    def _contact(self) -> None:
        self.page(CONTACT)
        self.track(
            EVENT_CONTACT_INFO_VIEWED,
            {"method": self.rng.choice(CONTACT_METHODS), "location": "contact-page"},
        )

    def _start_booking(self, service: Service) -> tuple[str, int]:
        device_model = self.rng.choice(service.devices)
        price = self._price(service)
        self.page(BOOK)
        self.track(
            EVENT_BOOKING_STARTED,
            {
                "service": service.slug,
                "service_name": service.name,
                "category": service.category,
                "device": device_model,
                "price": price / 100,
                "currency": CURRENCY,
            },
            low_ms=2_000,
            high_ms=20_000,
        )
        return device_model, price

    def _book(self, service: Service, *, alias_first: bool = False) -> None:
        """The booking funnel: form, identify on submit, confirmation page, Booking Submitted."""
        device_model, price = self._start_booking(service)
        self._wait(40_000, 240_000)  # filling in the form
        if alias_first:
            self.alias()
            self._wait(5, 50)
        self.identify()
        self.page(BOOK_CONFIRM)
        booking_id = "BK-" + self._token("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 8)
        self.track(
            EVENT_BOOKING_SUBMITTED,
            {
                "service": service.slug,
                "service_name": service.name,
                "category": service.category,
                "device": device_model,
                "booking_id": booking_id,
                "appointment_type": self.rng.choice(APPOINTMENT_TYPES),
                "revenue": price / 100,
                "currency": CURRENCY,
            },
            low_ms=300,
            high_ms=2_000,
        )

    def _browse(self, pages: int) -> None:
        for _ in range(pages):
            options = [p for p in BROWSING_PAGES if p.path != self._page.get("path")]
            self.page(self.rng.choice(options))

    def _research_visit(self, category: str, entry: _Entry) -> None:
        rng = self.rng
        service = rng.choice(SERVICES_BY_CATEGORY[category])
        self._start_session(entry)
        landing = self._landing_page_for(entry, service)
        self._land(entry, landing)
        if landing.path != service.path:
            self.page(PAGES_BY_PATH[service.path] if rng.random() < 0.7 else SERVICES_INDEX)
        for _ in range(rng.randint(1, 4)):
            step = rng.random()
            if step < 0.35:
                self._view_pricing(category, service)
            elif step < 0.60:
                if rng.random() < 0.5:
                    self.page(SERVICES_INDEX)
                self._compare(category)
            elif step < 0.80:
                other = rng.choice(SERVICES_BY_CATEGORY[category])
                self.page(PAGES_BY_PATH[other.path])
            else:
                self.page(rng.choice((FAQ, REVIEWS, ABOUT)))
        if rng.random() < 0.3:
            self._contact()

    # -- autocapture ------------------------------------------------------------------------

    def autocapture(self) -> None:
        """Add the browser tracker's automatic events to every visit a browser made.

        A generator of its own keeps the site's messages (and their ids) exactly as without
        autocapture. Bots get none: the crawlers and scripts here send bare page views, they
        neither scroll, click nor answer a consent banner.
        """
        if self.is_bot:
            return
        rng = random.Random(f"reviva-simulate/{self.seed}/{self.index}/autocapture")

        def new_id() -> str:
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))

        seen: set[str] = set()
        for session, state in zip(self.sessions, self.session_devices, strict=True):
            device = BrowserDevice(
                state.device.kind, state.device.browser, state.device.screen, state.consent
            )
            first = state.anonymous_id not in seen
            seen.add(state.anonymous_id)
            session.auto_records = plan_session(
                session.records, rng=rng, device=device, first_on_device=first, new_id=new_id
            )

    # -- personas ---------------------------------------------------------------------------

    def play(self) -> None:
        """Play the persona's whole story."""
        {
            PersonaName.CASUAL_BROWSER: self._casual_browser,
            PersonaName.RESEARCHER: self._researcher,
            PersonaName.CONVERTER: self._converter,
            PersonaName.RETURNING_CUSTOMER: self._returning_customer,
            PersonaName.CAMPAIGN: self._campaign_visitor,
            PersonaName.BOT: self._bot,
        }[self.persona]()

    def _gap_days(self, low_days: float, high_days: float) -> None:
        self.nominal_gaps_ms.append(int(self.rng.uniform(low_days, high_days) * DAY_MS))

    def _casual_browser(self) -> None:
        rng = self.rng
        visits = 2 if rng.random() < 0.12 else 1
        for visit in range(visits):
            if visit:
                self._gap_days(0.1, 6)
            entry = self._organic_entry((0.45, 0.25, 0.10, 0.20))
            self._start_session(entry)
            self._land(entry, self._landing_page_for(entry))
            if rng.random() < 0.65:
                continue  # bounce
            self._browse(rng.randint(1, 3))
            if rng.random() < 0.10:
                self._view_pricing(rng.choice(CATEGORIES))

    def _researcher(self) -> None:
        rng = self.rng
        category = rng.choice(CATEGORIES)
        visits = rng.choices((1, 2, 3), (0.5, 0.35, 0.15))[0]
        for visit in range(visits):
            if visit:
                self._gap_days(0.2, 5)
            self._research_visit(category, self._organic_entry((0.6, 0.05, 0.15, 0.2)))
        if rng.random() < 0.18:
            # Starts booking, then abandons the form: a lead, not a conversion.
            self._start_booking(rng.choice(SERVICES_BY_CATEGORY[category]))

    def _converter(self) -> None:
        rng = self.rng
        service = rng.choice(SERVICES)
        if rng.random() < 0.3:
            self._research_visit(service.category, self._organic_entry((0.7, 0.05, 0.1, 0.15)))
            self._gap_days(0.05, 3)
        entry = self._organic_entry((0.45, 0.10, 0.15, 0.30))
        self._start_session(entry)
        landing = self._landing_page_for(entry, service)
        self._land(entry, landing)
        if landing.path != service.path:
            self.page(PAGES_BY_PATH[service.path])
        if rng.random() < 0.7:
            self._view_pricing(service.category, service)
        if rng.random() < 0.25:
            self._compare(service.category)
        if rng.random() < 0.15:
            self._contact()
        self._book(service, alias_first=rng.random() < 0.25)

    def _returning_customer(self) -> None:
        rng = self.rng
        if rng.random() < 0.6:
            # First visit in the window is the original booking.
            entry = self._organic_entry((0.5, 0.1, 0.15, 0.25))
            service = rng.choice(SERVICES)
            self._start_session(entry)
            self._land(entry, self._landing_page_for(entry, service))
            self.page(PAGES_BY_PATH[service.path])
            self._book(service, alias_first=rng.random() < 0.2)
        else:
            # A customer from before the window: logs in to check on a repair.
            self._login_visit(self._organic_entry((0.2, 0.0, 0.0, 0.8)))
        returns = rng.choices((1, 2, 3), (0.6, 0.3, 0.1))[0]
        rebook_on = rng.randrange(returns) if rng.random() < 0.35 else -1
        for visit in range(returns):
            self._gap_days(1, 10)
            device = None
            if rng.random() < 0.2:
                # Back on another device: a new anonymous id that only identify can link.
                device = self._new_device()
                self.devices.append(device)
            if rng.random() < 0.15:
                entry = self._campaign_entry(CAMPAIGNS_BY_KEY[MID_VISIT_CAMPAIGN_KEY])
            else:
                entry = self._organic_entry((0.25, 0.0, 0.0, 0.75))
            self._login_visit(entry, device)
            if visit == rebook_on:
                service = rng.choice(SERVICES)
                self.page(PAGES_BY_PATH[service.path])
                self._book(service)
            elif rng.random() < 0.3:
                self._contact()

    def _login_visit(self, entry: _Entry, device: _DeviceState | None = None) -> None:
        self._start_session(entry, device)
        self._land(entry, self._landing_page_for(entry))
        self.page(LOGIN)
        self._wait(8_000, 40_000)
        self.identify()
        self.page(ACCOUNT_REPAIRS)

    def _campaign_visitor(self) -> None:
        rng = self.rng
        entry = self._campaign_entry()
        self._start_session(entry)
        landing = self._landing_page_for(entry)
        self._land(entry, landing)
        if rng.random() >= 0.4:  # 40% bounce
            service = next((s for s in SERVICES if s.path == landing.path), rng.choice(SERVICES))
            for _ in range(rng.randint(1, 3)):
                self.page(rng.choice((PAGES_BY_PATH[service.path], SERVICES_INDEX, REVIEWS, FAQ, HOME)))
            if rng.random() < 0.5:
                self._view_pricing(service.category, service)
            if rng.random() < 0.15:
                self._compare(service.category)
            if rng.random() < 0.15:
                self._switch_campaign(entry.campaign)
            if rng.random() < 0.12:
                self._book(service)
        if rng.random() < 0.2:
            # Retargeted days later by another campaign, or comes back directly.
            self._gap_days(0.5, 7)
            later = self._campaign_entry() if rng.random() < 0.6 else self._organic_entry((0, 0, 0, 1))
            self._start_session(later)
            self._land(later, self._landing_page_for(later))
            if rng.random() < 0.5:
                self._browse(rng.randint(1, 2))

    def _switch_campaign(self, current: Campaign | None) -> None:
        """A new campaign's link clicked mid-visit: still within 30 minutes, new attribution."""
        assert self._session is not None
        key = MID_VISIT_CAMPAIGN_KEY
        if current is not None and current.key == key:
            key = "google-screen-repair"
        campaign = CAMPAIGNS_BY_KEY[key]
        self._wait(MINUTE_MS, 8 * MINUTE_MS)
        self.page(
            PAGES_BY_PATH[self.rng.choice(campaign.landing_paths)],
            entry=_Entry(campaign.channel, self.rng.choice(campaign.referrers), campaign),
            campaign=campaign,
        )
        self._session.campaign_switches += 1

    def _bot(self) -> None:
        rng = self.rng
        device = self._device.device
        entry = _Entry("bot", "")
        self._start_session(entry)
        paths = list(PAGES_BY_PATH)
        rng.shuffle(paths)
        if device.browser in _SCRIPTED_BOTS:
            count = rng.randint(1, 6)
        else:
            count = rng.randint(10, 40)
            paths.insert(0, "/")
        for number in range(count):
            self.page(PAGES_BY_PATH[paths[number % len(paths)]], entry=entry if number == 0 else None)


def _fit_gaps(durations: list[int], gaps: list[int], window_ms: int, rng: random.Random) -> list[int]:
    """Shrink the gaps between visits so they all fit the window, each staying over 45 min."""
    if not gaps:
        return gaps
    room = window_ms - sum(durations)
    if sum(gaps) <= room:
        return [max(gap, MIN_SESSION_GAP_MS) for gap in gaps]
    # Squeeze into part of the window, not all of it, or every squeezed visitor would begin
    # exactly at the window's start and end exactly at its end.
    spare = int(room * rng.uniform(0.5, 0.95)) - MIN_SESSION_GAP_MS * len(gaps)
    if spare <= 0:
        return [MIN_SESSION_GAP_MS] * len(gaps)
    total = sum(gaps)
    return [MIN_SESSION_GAP_MS + gap * spare // total for gap in gaps]


def _place(
    player: _VisitorPlayer, window_start_ms: int, window_end_ms: int, now_iso: str, now_ms: int
) -> list[tuple[int, int, dict[str, Any]]]:
    """Put the visitor's visits in the window; stamp every message's time.

    Visits are placed by their site messages alone. An automatic event that would come after
    `now` (the visitor is still on the page, so Web Vitals is not sent yet) is left out.
    """
    sessions = player.sessions
    durations = [s.records[-1][0] if s.records else 0 for s in sessions]
    window_ms = window_end_ms - window_start_ms
    # The window is at least a day: when the visits still do not fit, keep the earliest ones.
    while len(sessions) > 1 and sum(durations) + MIN_SESSION_GAP_MS * (len(sessions) - 1) > window_ms:
        sessions.pop()
        durations.pop()
    gaps = _fit_gaps(durations, player.nominal_gaps_ms[: len(sessions) - 1], window_ms, player.rng)
    span = sum(durations) + sum(gaps)
    latest_start = max(window_start_ms, window_end_ms - span)
    rng = player.rng
    start = window_start_ms
    for _ in range(20):
        start = rng.randint(window_start_ms, latest_start)
        if player.is_bot or rng.random() < _HOUR_WEIGHTS[(start // 3_600_000) % 24]:
            break
    stamped: list[tuple[int, int, dict[str, Any]]] = []
    visit_start = start
    for number, session in enumerate(sessions):
        records = session.records
        if session.auto_records:
            latest = now_ms - 1_000 - visit_start
            records = merge_records(records, [a for a in session.auto_records if a[0] <= latest])
        for offset, message in records:
            at = visit_start + offset
            stamp = iso_millis(at)
            message["timestamp"] = stamp
            message["originalTimestamp"] = stamp
            message["sentAt"] = now_iso
            stamped.append((at, len(stamped), message))
        if number < len(gaps):
            visit_start += durations[number] + gaps[number]
    return stamped


def _truth(player: _VisitorPlayer, stamped: list[tuple[int, int, dict[str, Any]]]) -> VisitorTruth:
    conversions = 0
    revenue_pence = 0
    page_views = 0
    for _, _, message in stamped:
        if message["type"] == "page":
            page_views += 1
        elif message.get("event") == EVENT_BOOKING_SUBMITTED:
            conversions += 1
            revenue_pence += round(message["properties"]["revenue"] * 100)
    used_devices = {d.anonymous_id for d in player.session_devices[: len(player.sessions)]}
    return VisitorTruth(
        index=player.index,
        persona=player.persona,
        anonymous_ids=tuple(d.anonymous_id for d in player.devices if d.anonymous_id in used_devices),
        user_id=player.user_id if any(m["type"] == "identify" for _, _, m in stamped) else None,
        is_bot=player.is_bot,
        sessions=len(player.sessions),
        campaign_switches=sum(s.campaign_switches for s in player.sessions),
        session_channels=tuple(s.channel for s in player.sessions),
        messages=len(stamped),
        page_views=page_views,
        conversions=conversions,
        revenue_pence=revenue_pence,
        first_timestamp=stamped[0][2]["timestamp"],
        last_timestamp=stamped[-1][2]["timestamp"],
        countries=tuple(d.place.country for d in player.devices if d.anonymous_id in used_devices),
    )


def summarize(messages: list[dict[str, Any]], truths: tuple[VisitorTruth, ...]) -> TrafficSummary:
    """Count what was generated: per type, event, persona and channel, conversions, revenue."""
    persona_of = {aid: t.persona.value for t in truths for aid in t.anonymous_ids}
    by_type: Counter[str] = Counter()
    by_event: Counter[str] = Counter()
    messages_by_persona: Counter[str] = Counter()
    revenue_by_service: Counter[str] = Counter()
    for message in messages:
        by_type[message["type"]] += 1
        messages_by_persona[persona_of[message["anonymousId"]]] += 1
        event = message.get("event")
        if event is not None:
            by_event[event] += 1
            if event == EVENT_BOOKING_SUBMITTED:
                properties = message["properties"]
                revenue_by_service[properties["service"]] += round(properties["revenue"] * 100)
    human = [t for t in truths if not t.is_bot]
    return TrafficSummary(
        visitors=len(truths),
        devices=sum(len(t.anonymous_ids) for t in truths),
        messages=len(messages),
        sessions=sum(t.sessions for t in truths),
        campaign_switches=sum(t.campaign_switches for t in truths),
        by_type=dict(sorted(by_type.items())),
        # The site's events always; the tracker's automatic ones when there are any.
        by_event={name: by_event[name] for name in TRACK_EVENTS}
        | {name: by_event[name] for name in AUTO_EVENTS if by_event[name]},
        visitors_by_persona={p.value: sum(1 for t in truths if t.persona is p) for p in _PERSONA_NAMES},
        messages_by_persona={p.value: messages_by_persona[p.value] for p in _PERSONA_NAMES},
        sessions_by_channel=dict(Counter(c for t in human for c in t.session_channels).most_common()),
        conversions=by_event[EVENT_BOOKING_SUBMITTED],
        converted_visitors=sum(1 for t in truths if t.conversions),
        revenue=sum(revenue_by_service.values()) / 100,
        revenue_by_service={k: v / 100 for k, v in revenue_by_service.most_common()},
        identified_users=sum(1 for t in truths if t.user_id is not None),
        bots=sum(1 for t in truths if t.is_bot),
        bot_messages=sum(t.messages for t in truths if t.is_bot),
        first_timestamp=messages[0]["timestamp"] if messages else None,
        last_timestamp=messages[-1]["timestamp"] if messages else None,
    )


def plan_traffic(
    visitors: int, days: int, seed: int, now: datetime | None = None, *, autocapture: bool = False
) -> TrafficPlan:
    """Generate `visitors` visitors' traffic over the `days` (clamped to 1-30) before `now`.

    Messages come in the order clients would send them: merged across visitors by event time,
    each device's own messages in order (strictly in time without autocapture; with it, a
    few events share the millisecond of the click, load or leave that sends them together, as
    the tracker's do). `now` defaults to the current time; pass a fixed one for reproducible
    timestamps. `autocapture` adds the browser tracker's automatic events (see `autocapture`)
    to every human visit without changing the site's own messages.
    """
    if visitors < 0:
        raise ValueError("visitors must not be negative")
    days = clamp_days(days)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    now_ms = int(now.timestamp() * 1000)
    now_iso = iso_millis(now_ms)
    window_start_ms = now_ms - days * DAY_MS + OLDEST_EVENT_MARGIN_MS
    window_end_ms = now_ms - NEWEST_EVENT_MARGIN_MS
    used_user_ids: set[str] = set()
    keyed: list[tuple[int, int, int, dict[str, Any]]] = []
    truths: list[VisitorTruth] = []
    places: dict[str, Place] = {}
    for index in range(visitors):
        player = _VisitorPlayer(index, seed, used_user_ids)
        player.play()
        places.update((device.anonymous_id, device.place) for device in player.devices)
        if autocapture:
            player.autocapture()
        stamped = _place(player, window_start_ms, window_end_ms, now_iso, now_ms)
        truths.append(_truth(player, stamped))
        keyed.extend((at, index, sequence, message) for at, sequence, message in stamped)
    # (time, visitor, sequence) is unique, so messages themselves are never compared.
    keyed.sort(key=lambda item: (item[0], item[1], item[2]))
    messages = [item[3] for item in keyed]
    truth_tuple = tuple(truths)
    return TrafficPlan(
        visitors=visitors,
        days=days,
        seed=seed,
        now=now,
        messages=messages,
        truths=truth_tuple,
        summary=summarize(messages, truth_tuple),
        places=places,
    )


def generate_traffic(
    visitors: int, days: int, seed: int, now: datetime | None = None, *, autocapture: bool = False
) -> Iterator[dict[str, Any]]:
    """The messages of `plan_traffic(visitors, days, seed, now, autocapture=...)`, in send order."""
    yield from plan_traffic(visitors, days, seed, now, autocapture=autocapture).messages
