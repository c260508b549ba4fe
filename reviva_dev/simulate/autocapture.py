"""The browser tracker's automatic events, added around simulated page views (`autocapture=True`).

Besides the site's own `page`/`track`/`identify` calls, `tracker/src/tracker.ts` sends events
nobody codes by hand, and they multiply the events per page view the pipeline pays for:

- "Session Started" with the `page` that opens a session (30 idle minutes or a new campaign; a
  cookieless browser, which remembers nothing, on every page not reached from the site itself),
- "Page Performance" just after the page's `load`, "Web Vitals" when the page is left,
- "Scroll Depth Reached" at 25/50/75/100 % (only on scroll events, several at once when one
  scroll passes several milestones),
- "Element Clicked" for `[data-track]` elements and "CTA Clicked" for buttons and `.btn` links
  (plain links are not tracked), "Rage Click" for three quick clicks on one spot,
- "Form Field Focused" (first focus of each field) and "Form Submitted" (names, types, count),
- "Exit Intent": on a desktop when the pointer leaves through the top edge; on a touch device at
  every page leave (pagehide/visibility hidden) after a second on the page,
- "Consent Updated" when the visitor answers the consent banner (whose buttons are `.btn`, so the
  click is a "CTA Clicked" too).

None of these needs consent: a cookieless browser sends them all (without ids), except that its
"Session Started" has no `session_id` and it never sends "Consent Updated" unless asked.

`plan_session` works on one simulated visit after the personas have played it: it reads the
visit's messages (pages, the site's events, identify on a form's submit) and returns the
automatic events with their offsets, from its own random generator, so the site's messages,
their ids and their times are the same with and without autocapture. `merge_records` interleaves
them. `event_mix` measures events per page view and per visit.
"""

from __future__ import annotations

import copy
import itertools
import math
import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from reviva_dev.simulate.personas import (
    ACCOUNT_REPAIRS,
    BOOK,
    BOOK_CONFIRM,
    CONTACT,
    LOGIN,
    PHONE_PREFIX,
    SITE_ORIGIN,
)

EVENT_SESSION_STARTED = "Session Started"
EVENT_PAGE_PERFORMANCE = "Page Performance"
EVENT_WEB_VITALS = "Web Vitals"
EVENT_SCROLL_DEPTH = "Scroll Depth Reached"
EVENT_ELEMENT_CLICKED = "Element Clicked"
EVENT_CTA_CLICKED = "CTA Clicked"
EVENT_RAGE_CLICK = "Rage Click"
EVENT_FORM_FIELD_FOCUSED = "Form Field Focused"
EVENT_FORM_SUBMITTED = "Form Submitted"
EVENT_EXIT_INTENT = "Exit Intent"
EVENT_CONSENT_UPDATED = "Consent Updated"
AUTO_EVENTS: tuple[str, ...] = (
    EVENT_SESSION_STARTED,
    EVENT_PAGE_PERFORMANCE,
    EVENT_WEB_VITALS,
    EVENT_SCROLL_DEPTH,
    EVENT_ELEMENT_CLICKED,
    EVENT_CTA_CLICKED,
    EVENT_RAGE_CLICK,
    EVENT_FORM_FIELD_FOCUSED,
    EVENT_FORM_SUBMITTED,
    EVENT_EXIT_INTENT,
    EVENT_CONSENT_UPDATED,
)

SCROLL_MILESTONES: tuple[int, ...] = (25, 50, 75, 100)
SESSION_TIMEOUT_MS = 30 * 60_000
# Libraries that run in a browser and so can autocapture; a server-side SDK's messages get none.
BROWSER_LIBRARIES = frozenset({"analytics.js", "reviva-tracker"})
# The tracker's Exit Intent on touch devices needs this long on the page.
TOUCH_EXIT_MIN_MS = 1_000
# How long after the last recorded event a visitor stays on the last page, at least.
LAST_PAGE_LINGER_MS = (2_000, 30_000)

# Where an automatic event goes relative to a site message at the same millisecond.
BEFORE = 0
SITE = 1
AFTER = 2

_CHROMIUM = frozenset({"Chrome", "Edge", "Chrome Mobile", "Samsung Internet"})
# Firefox reports LCP (since 122) but neither layout shifts nor interaction ids; WebKit none.
_FIREFOX = frozenset({"Firefox"})
_TOUCH_KINDS = frozenset({"mobile", "tablet"})
_UTM_KEYS = {"utm_source": "source", "utm_medium": "medium", "utm_campaign": "name"}
_UTM_KEYS |= {"utm_term": "term", "utm_content": "content"}
_CLICK_IDS = frozenset(
    {"gclid", "gbraid", "wbraid", "dclid", "msclkid", "ttclid", "li_fat_id", "fbclid", "twclid"}
)


@dataclass(frozen=True)
class Form:
    """A form of the site as the tracker sees it: ids and (name, type) of its value fields."""

    form_id: str
    fields: tuple[tuple[str, str], ...]
    submit_text: str
    # Chance each field is focused when the form is filled in (the rest are skipped).
    focus_chance: tuple[float, ...]

    def summary(self) -> dict[str, Any]:
        """What formSummary() reports for the form: every value field, focused or not."""
        names = [name for name, _ in self.fields]
        return {
            "field_names": names,
            "field_types": [kind for _, kind in self.fields],
            "field_count": len(names),
        }


# The store's forms, shaped like the demo's booking form (tracker/../demo/book.html): a hidden
# `service` input and the submit button are not value fields.
BOOKING_FORM = Form(
    "booking",
    (("name", "text"), ("email", "email"), ("phone", "tel"), ("device", "select-one"), ("issue", "textarea")),
    "Book my repair",
    (1.0, 1.0, 0.75, 0.9, 0.8),
)
LOGIN_FORM = Form("login", (("email", "email"), ("password", "password")), "Sign in", (1.0, 1.0))
CONTACT_FORM = Form(
    "contact",
    (("name", "text"), ("email", "email"), ("phone", "tel"), ("message", "textarea")),
    "Send message",
    (1.0, 1.0, 0.5, 1.0),
)
FORMS_BY_PATH: dict[str, Form] = {BOOK.path: BOOKING_FORM, LOGIN.path: LOGIN_FORM, CONTACT.path: CONTACT_FORM}
# Pages a submitted form leads to: reached by the submit, not by a click on a link.
_AFTER_SUBMIT_PATHS = frozenset({BOOK_CONFIRM.path, ACCOUNT_REPAIRS.path})

# Page length in viewports on a desktop (phones are ~2.2x longer, tablets ~1.4x): scroll depth.
_DESKTOP_VIEWPORTS: dict[str, float] = {
    "Home": 3.5,
    "Services": 3.0,
    "Service": 3.0,
    "Pricing": 2.5,
    "Blog": 4.5,
    "FAQ": 4.0,
    "Reviews": 4.0,
    "About": 2.5,
    "Contact": 1.6,
    "Book": 1.8,
    "Booking Confirmed": 1.1,
    "Login": 1.0,
    "Account": 1.5,
}
_VIEWPORT_FACTOR = {"desktop": 1.0, "tablet": 1.4, "mobile": 2.2}

# Elements clicked on the way to a page (destination page name -> chance the click was on a
# tracked element rather than a plain link, and that element's attributes).
_NAV_CTA: dict[str, tuple[float, str, str]] = {
    "Login": (0.6, "btn ghost", "Sign in"),
    "Contact": (0.5, "btn", "Contact us"),
    "Pricing": (0.5, "btn", "See prices"),
}
_OTHER_NAV_CTA_CHANCE = 0.12
_OTHER_NAV_CTA_TEXTS = ("Read more", "Learn more", "Find out more")
_SERVICE_CARD_CHANCE = 0.45
_QUOTE_BUTTON = {"element": "button", "element_id": "quote", "classes": "btn", "text": "Get a free quote"}
_QUOTE_PAGES = frozenset({"Home", "Service", "Pricing"})
_QUOTE_CHANCE = 0.04
_RAGE_CHANCE = 0.015
_RAGE_TARGETS: tuple[dict[str, Any], ...] = (
    {"element": "img", "classes": "service-photo"},
    {"element": "div", "classes": "price-card", "text": "From £49"},
    _QUOTE_BUTTON,
)
_CONTACT_LINKS = {
    "phone": f"tel:{PHONE_PREFIX}000",
    "email": "mailto:hello@revivatech.co.uk",
    "whatsapp": "https://wa.me/447700900000",
}
_CONSENT_BUTTONS = {
    True: {"element": "button", "element_id": "consent-all", "classes": "btn", "text": "Accept all"},
    False: {
        "element": "button",
        "element_id": "consent-analytics",
        "classes": "btn ghost",
        "text": "Analytics only",
    },
}
_DESKTOP_EXIT_CHANCE = {"last": 0.55, "other": 0.06}
_CONTACT_FORM_CHANCE = 0.3
_CONTACT_SUBMIT_CHANCE = 0.6
_ENTER_KEY_SUBMIT_CHANCE = 0.15


@dataclass(frozen=True)
class BrowserDevice:
    """What autocapture needs to know of the browser a visit is played on."""

    kind: str  # desktop | mobile | tablet
    browser: str
    screen: tuple[int, int, float]
    # The device's consent as context.consent reports it; None or no analytics: cookieless.
    consent: dict[str, bool] | None

    @property
    def has_storage(self) -> bool:
        """With analytics consent the tracker keeps its session (and ids) in localStorage."""
        return bool(self.consent and self.consent.get("analytics"))

    @property
    def touch(self) -> bool:
        """matchMedia("(hover: none) and (pointer: coarse)"): phones and tablets."""
        return self.kind in _TOUCH_KINDS


# (offset ms within the visit, BEFORE/AFTER a site message at the same offset, message).
AutoRecord = tuple[int, int, dict[str, Any]]


def _campaign_key(search: str) -> str:
    """The tracker's session campaign key: UTM tags and click ids of the page's query."""
    tags = {}
    for key, value in parse_qsl(search.lstrip("?")):
        name = key.lower()
        if value and (name in _UTM_KEYS or name in _CLICK_IDS):
            tags[_UTM_KEYS.get(name, name)] = value[:200]
    return repr(sorted(tags.items())) if tags else ""


def _utm_properties(search: str) -> dict[str, str]:
    """Session Started's utm_* properties, in the query's order ("name" is utm_campaign)."""
    return {
        key.lower(): value[:200] for key, value in parse_qsl(search.lstrip("?")) if key.lower() in _UTM_KEYS
    }


def _lognormal_ms(rng: random.Random, median_ms: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median_ms), sigma)


@dataclass
class _Page:
    """One page view of the visit and the site messages sent while it was open."""

    index: int  # position of the page message in the visit's records
    offset: int
    message: dict[str, Any]
    site: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    next_offset: int | None = None
    next_message: dict[str, Any] | None = None

    @property
    def props(self) -> dict[str, Any]:
        return self.message["properties"]


class _VisitCapture:
    """Builds one visit's automatic events with its own random generator."""

    def __init__(
        self,
        rng: random.Random,
        device: BrowserDevice,
        new_id: Callable[[], str],
        first_on_device: bool,
        session_id: Callable[[], str],
    ) -> None:
        self.rng = rng
        self.device = device
        self.new_id = new_id
        self.session_id = session_id
        self.first_on_device = first_on_device
        self.out: list[AutoRecord] = []
        self.campaign_key: str | None = None
        self.last_active: int | None = None

    def track(
        self, offset: int, page: _Page, event: str, properties: dict[str, Any], rank: int = AFTER
    ) -> None:
        """One automatic track message on `page` (ids and userId are filled in by merge)."""
        message: dict[str, Any] = {
            "type": "track",
            "messageId": self.new_id(),
            "anonymousId": page.message["anonymousId"],
            "context": copy.deepcopy(page.message["context"]),
            "event": event,
            "properties": {k: v for k, v in properties.items() if v is not None},
        }
        self.out.append((offset, rank, message))

    # -- one page ---------------------------------------------------------------------------

    def page(self, page: _Page, first_of_visit: bool) -> None:
        rng = self.rng
        p = page.offset
        submit_at = self._submit_offset(page)
        nav_click = self._nav_click(page, submit_at is not None)
        # When the page is left (pagehide) and when the visitor is last active on it.
        if page.next_offset is not None:
            span = page.next_offset - p
            lead = int(rng.uniform(300, min(2_500, 0.3 * span)))
            click_at = page.next_offset - lead
            leave_at = page.next_offset - int(lead * rng.uniform(0.1, 0.6))
            last = False
        else:
            dwell = int(min(max(_lognormal_ms(rng, 30_000, 0.8), 3_000), 8 * 60_000))
            latest_site = page.site[-1][0] if page.site else p
            leave_at = max(p + dwell, latest_site + int(rng.uniform(*LAST_PAGE_LINGER_MS)))
            click_at = leave_at
            last = True
        active_until = click_at if nav_click is not None else leave_at
        interacted = False

        self._session_started(page, first_of_visit)
        self._performance(page, first_of_visit)
        if self.first_on_device and first_of_visit and self.device.has_storage:
            interacted |= self._consent(page, active_until)
        scroll = self._scroll(page, active_until)
        interacted |= self._forms(page, submit_at, active_until)
        interacted |= self._site_clicks(page)
        interacted |= self._in_page_clicks(page, active_until)
        if nav_click is not None:
            self.track(click_at, page, nav_click[0], nav_click[1])
        self._exit_intent(page, leave_at, active_until, last, scroll)
        self._web_vitals(page, leave_at, interacted)
        self.last_active = leave_at

    def _session_started(self, page: _Page, first_of_visit: bool) -> None:
        props = page.props
        key = _campaign_key(props["search"])
        referrer = props["referrer"]
        if self.device.has_storage:
            idle = self.last_active is None or page.offset - self.last_active > SESSION_TIMEOUT_MS
            start = first_of_visit or idle or (key != "" and key != self.campaign_key)
        else:
            # Nothing remembers the previous page: every page not reached from the site is a start.
            start = not referrer.startswith(SITE_ORIGIN + "/")
        if not start:
            return
        self.campaign_key = key
        properties: dict[str, Any] = {
            "session_id": self.session_id() if self.device.has_storage else None,
            "landing_page": props["path"],
            "referrer": referrer or None,
            **_utm_properties(props["search"]),
        }
        # The tracker enqueues it inside the page's send(): same millisecond, just before.
        self.track(page.offset, page, EVENT_SESSION_STARTED, properties, rank=BEFORE)

    def _performance(self, page: _Page, first_of_visit: bool) -> None:
        rng = self.rng
        slow = 1.8 if self.device.kind == "mobile" else 1.0
        ttfb = _lognormal_ms(rng, 160 * slow, 0.5)
        dom_content_loaded = ttfb + _lognormal_ms(rng, 450 * slow, 0.5)
        after_dcl = rng.uniform(30, 1_800)
        kind = "navigate"
        if not first_of_visit:
            kind = rng.choices(("navigate", "back_forward", "reload"), (0.9, 0.08, 0.02))[0]
        transfer = {
            "navigate": rng.randint(14_000, 48_000),
            "back_forward": 0,
            "reload": rng.randint(280, 420),
        }
        properties = {
            "ttfb_ms": max(0, round(ttfb)),
            "dom_content_loaded_ms": max(0, round(dom_content_loaded)),
            "load_ms": max(0, round(dom_content_loaded + after_dcl)),
            "transfer_bytes": transfer[kind],
            "navigation_type": kind,
        }
        # Sent from a setTimeout after `load`; the page message went at script start (~DOM ready).
        self.track(
            page.offset + int(after_dcl) + rng.randint(1, 30), page, EVENT_PAGE_PERFORMANCE, properties
        )

    def _consent(self, page: _Page, active_until: int) -> bool:
        consent = self.device.consent or {}
        room = active_until - page.offset
        if room < 1_500:
            return False
        at = page.offset + int(self.rng.uniform(min(1_200, room * 0.3), min(12_000, room * 0.5)))
        marketing = bool(consent.get("marketing"))
        # The banner's button is a .btn: its click is captured (in the capture phase, first).
        self.track(at, page, EVENT_CTA_CLICKED, dict(_CONSENT_BUTTONS[marketing]))
        choice = {"analytics": True, "marketing": marketing, "personalization": marketing}
        self.track(at, page, EVENT_CONSENT_UPDATED, choice)
        return True

    def _scroll(self, page: _Page, active_until: int) -> Callable[[int], int]:
        """Emit the page's scroll milestones; return the page's max scroll % at a given offset."""
        rng = self.rng
        p = page.offset
        viewports = _DESKTOP_VIEWPORTS.get(page.message.get("name", ""), 2.5)
        viewports *= _VIEWPORT_FACTOR.get(self.device.kind, 1.0) * rng.uniform(0.8, 1.2)
        room = active_until - 50 - p
        scrolls = viewports > 1.05 and room > 1_500 and rng.random() < (0.85 if room >= 8_000 else 0.45)
        if not scrolls:
            return lambda offset: 0
        first = p + int(rng.uniform(800, min(6_000, room * 0.3)))
        # The first scroll event already counts the viewport: a short page passes 25-75 at once.
        view_pct = 100 / viewports
        start_pct = min(100.0, view_pct + view_pct * rng.uniform(0.1, 0.4))
        needed_ms = viewports * rng.uniform(8_000, 20_000)
        read = min(1.0, (p + room - first) / needed_ms) * rng.uniform(0.6, 1.05)
        depth = min(100.0, start_pct + (100 - start_pct) * read)
        if rng.random() < 0.12:
            depth = 100.0  # a glance at the footer
        deepest_at = first + int((p + room - first) * rng.uniform(0.4, 0.95))

        def percent_at(offset: int) -> int:
            if offset < first:
                return 0
            share = 1.0 if deepest_at <= first else min(1.0, (offset - first) / (deepest_at - first))
            return round(start_pct + (depth - start_pct) * share)

        for milestone in SCROLL_MILESTONES:
            reach = milestone - 1 if milestone == 100 else milestone  # 99 % counts as the bottom
            if round(depth) < reach:
                break
            if round(start_pct) >= reach or deepest_at <= first:
                at = first
            else:
                at = first + math.ceil((reach - start_pct) / (depth - start_pct) * (deepest_at - first))
            at = max(first, min(at, deepest_at))
            self.track(at, page, EVENT_SCROLL_DEPTH, {"percent": milestone, "time_on_page_ms": at - p})
        return percent_at

    def _submit_offset(self, page: _Page) -> int | None:
        """When the page's form was submitted: just before the identify (or alias) it triggers."""
        form = FORMS_BY_PATH.get(page.props["path"])
        if form is None or form is CONTACT_FORM:
            return None
        for offset, message in page.site:
            if message["type"] in ("identify", "alias"):
                return offset - self.rng.randint(1, 25)
        return None

    def _forms(self, page: _Page, submit_at: int | None, active_until: int) -> bool:
        rng = self.rng
        form = FORMS_BY_PATH.get(page.props["path"])
        if form is None:
            return False
        p = page.offset
        fields = [
            f for f, chance in zip(form.fields, form.focus_chance, strict=True) if rng.random() < chance
        ]
        if form is CONTACT_FORM:
            if active_until - p < 15_000 or rng.random() >= _CONTACT_FORM_CHANCE:
                return False
            if rng.random() < _CONTACT_SUBMIT_CHANCE:
                submit_at = p + int((active_until - p) * rng.uniform(0.6, 0.9))
            else:
                fields = fields[: rng.randint(1, len(fields))]
        elif submit_at is None:
            # Started and abandoned: the first few fields, or none.
            fields = fields[: rng.choice((0, 1, 1, 2, 3))]
        if not fields:
            return False
        end = (submit_at if submit_at is not None else active_until) - 300
        begin = p + 1_000
        if end <= begin:
            return False
        times = sorted(rng.randint(begin, end) for _ in fields)
        for (name, kind), at in zip(fields, times, strict=True):
            focus = {
                "form_id": form.form_id,
                "form_name": form.form_id,
                "field_name": name,
                "field_type": kind,
            }
            self.track(at, page, EVENT_FORM_FIELD_FOCUSED, focus)
        if submit_at is not None:
            if rng.random() >= _ENTER_KEY_SUBMIT_CHANCE:
                button = {"element": "button", "classes": "btn", "text": form.submit_text}
                self.track(submit_at, page, EVENT_CTA_CLICKED, button)
            submitted = {"form_id": form.form_id, "form_name": form.form_id, **form.summary()}
            self.track(submit_at, page, EVENT_FORM_SUBMITTED, submitted)
        return True

    def _site_clicks(self, page: _Page) -> bool:
        """Site events fired by a click on a [data-track] element: the click is captured first."""
        clicked = False
        for offset, message in page.site:
            event = message.get("event")
            props: dict[str, Any]
            if event == "Service Compared":
                props = {
                    "element": "button",
                    "classes": "btn",
                    "text": "Compare services",
                    "track_id": "compare-services",
                }
            elif event == "Contact Info Viewed":
                method = message["properties"].get("method", "")
                link = _CONTACT_LINKS.get(method)
                props = {
                    "element": "a" if link else "button",
                    "classes": "contact-method",
                    "text": {
                        "phone": "Call us",
                        "email": "Email us",
                        "whatsapp": "WhatsApp",
                        "map": "Show map",
                    }.get(method, method),
                    "href": link,
                    "track_id": "contact-method",
                    "method": method,
                }
            else:
                continue
            self.track(offset, page, EVENT_ELEMENT_CLICKED, props, rank=BEFORE)
            clicked = True
        return clicked

    def _in_page_clicks(self, page: _Page, active_until: int) -> bool:
        rng = self.rng
        p = page.offset
        name = page.message.get("name", "")
        clicked = False
        if name in _QUOTE_PAGES and rng.random() < _QUOTE_CHANCE and active_until - p > 3_000:
            self.track(
                rng.randint(p + 1_500, active_until - 500), page, EVENT_CTA_CLICKED, dict(_QUOTE_BUTTON)
            )
            clicked = True
        if rng.random() < _RAGE_CHANCE and active_until - p > 4_000:
            target = rng.choice(_RAGE_TARGETS)
            width, height, _ = self.device.screen
            x, y = rng.randrange(max(width, 1)), rng.randrange(max(height, 1))
            at = rng.randint(p + 1_500, active_until - 1_500)
            for click in range(3):
                # The third click within a second and 30 px completes the burst.
                if click == 2:
                    self.track(at, page, EVENT_RAGE_CLICK, {**target, "clicks": 3, "x": x, "y": y})
                if target is _QUOTE_BUTTON:
                    self.track(at, page, EVENT_CTA_CLICKED, dict(target))
                at += rng.randint(110, 300)
            clicked = True
        return clicked

    def _nav_click(self, page: _Page, submitted: bool) -> tuple[str, dict[str, Any]] | None:
        """The tracked element clicked to reach the next page, if the next page came by a click."""
        rng = self.rng
        following = page.next_message
        if following is None or submitted:
            return None
        props = following["properties"]
        if props["referrer"] != page.props["url"] or props["path"] in _AFTER_SUBMIT_PATHS:
            return None  # arrived from outside (a campaign link) or by a form's redirect
        path, name = props["path"], following.get("name", "")
        here = page.props["path"]
        if path == BOOK.path:
            if here.startswith("/services/"):
                slug = here.rsplit("/", 1)[1]
                return EVENT_ELEMENT_CLICKED, {
                    "element": "a",
                    "classes": "btn",
                    "text": "Book this repair",
                    "href": f"{BOOK.path}?service={slug}",
                    "track_id": "service-book",
                    "service": slug,
                }
            return EVENT_ELEMENT_CLICKED, {
                "element": "a",
                "classes": "btn",
                "text": "Book a repair",
                "href": BOOK.path,
                "track_id": "nav-book",
            }
        if path.startswith("/services/") and rng.random() < _SERVICE_CARD_CHANCE:
            slug = path.rsplit("/", 1)[1]
            title = following["properties"]["title"].split(" | ", 1)[0]
            return EVENT_ELEMENT_CLICKED, {
                "element": "a",
                "classes": "service-card",
                "text": title,
                "href": path,
                "track_id": "service-card",
                "service": slug,
            }
        chance, classes, text = _NAV_CTA.get(name, (_OTHER_NAV_CTA_CHANCE, "btn", ""))
        if rng.random() >= chance:
            return None  # a plain link: the tracker does not record it
        text = text or rng.choice(_OTHER_NAV_CTA_TEXTS)
        return EVENT_CTA_CLICKED, {"element": "a", "classes": classes, "text": text, "href": path}

    def _exit_intent(
        self, page: _Page, leave_at: int, active_until: int, last: bool, scroll: Callable[[int], int]
    ) -> None:
        rng = self.rng
        p = page.offset
        at: int | None = None
        trigger = "pointer"
        if self.device.touch:
            if leave_at - p > TOUCH_EXIT_MIN_MS:
                at, trigger = leave_at, "visibility"
        elif rng.random() < _DESKTOP_EXIT_CHANCE["last" if last else "other"] and active_until - p > 2_000:
            at = (
                active_until - rng.randint(100, 1_500) if last else rng.randint(p + 1_000, active_until - 100)
            )
        if at is None:
            return
        props = {"trigger": trigger, "time_on_page_ms": at - p, "scroll_depth": scroll(at)}
        self.track(at, page, EVENT_EXIT_INTENT, props)

    def _web_vitals(self, page: _Page, leave_at: int, interacted: bool) -> None:
        rng = self.rng
        browser = self.device.browser
        slow = 1.8 if self.device.kind == "mobile" else 1.0
        lcp: int | None = None
        cls = 0.0
        inp: int | None = None
        if browser in _CHROMIUM or browser in _FIREFOX:
            lcp = round(_lognormal_ms(rng, 1_100 * slow, 0.45))
        if browser in _CHROMIUM:
            if rng.random() < 0.35:
                cls = round(min(_lognormal_ms(rng, 30, 1.0) / 1000, 1.5), 3)
            if interacted:
                inp = max(16, 8 * round(_lognormal_ms(rng, 96 * slow, 0.6) / 8))
        self.track(leave_at, page, EVENT_WEB_VITALS, {"lcp_ms": lcp, "cls": cls, "inp_ms": inp})


def _pages(records: list[tuple[int, dict[str, Any]]]) -> list[_Page]:
    pages: list[_Page] = []
    for index, (offset, message) in enumerate(records):
        if message["type"] == "page":
            if pages:
                pages[-1].next_offset, pages[-1].next_message = offset, message
            pages.append(_Page(index, offset, message))
        elif pages:
            pages[-1].site.append((offset, message))
    return pages


def is_browser_message(message: dict[str, Any]) -> bool:
    """Sent by a browser library (which autocaptures), not by a server-side SDK."""
    library = message.get("context", {}).get("library", {})
    return isinstance(library, dict) and library.get("name") in BROWSER_LIBRARIES


def plan_session(
    records: list[tuple[int, dict[str, Any]]],
    *,
    rng: random.Random,
    device: BrowserDevice,
    first_on_device: bool,
    new_id: Callable[[], str],
) -> list[AutoRecord]:
    """The tracker's automatic events for one visit of one browser, offsets as `records`'.

    `records` are the visit's site messages as (offset ms, message); `first_on_device` says
    whether this is the browser's first visit (the consent banner is answered then). Messages
    of a server-side library get nothing.
    """
    capture = _VisitCapture(rng, device, new_id, first_on_device, new_id)
    for number, page in enumerate(_pages(records)):
        if is_browser_message(page.message):
            capture.page(page, first_of_visit=number == 0)
    return capture.out


def merge_records(
    records: list[tuple[int, dict[str, Any]]], autos: Iterable[AutoRecord]
) -> list[tuple[int, dict[str, Any]]]:
    """Site and automatic messages in the order the browser sends them.

    Ties at one millisecond keep the tracker's order (BEFORE/AFTER the site message, then the
    order they were made in). Each automatic message takes the userId the browser had then.
    """
    keyed: list[tuple[int, int, int, int, dict[str, Any]]] = []
    for sequence, (offset, message) in enumerate(records):
        keyed.append((offset, SITE, 0, sequence, message))
    for sequence, (offset, rank, message) in enumerate(autos):
        keyed.append((offset, rank, 1, sequence, message))
    keyed.sort(key=lambda item: item[:4])
    merged: list[tuple[int, dict[str, Any]]] = []
    user_id = records[0][1].get("userId") if records else None
    for offset, _, source, _, message in keyed:
        if source == 0:
            user_id = message.get("userId")
        elif user_id is not None:
            # Key order as the site's track messages: type, messageId, anonymousId, userId, ...
            message = {
                **{k: message[k] for k in ("type", "messageId", "anonymousId")},
                "userId": user_id,
                **{k: v for k, v in message.items() if k not in ("type", "messageId", "anonymousId")},
            }
        merged.append((offset, message))
    return merged


# -- measuring the mix ------------------------------------------------------------------------


@dataclass(frozen=True)
class EventMix:
    """Messages per page view and per visit (a visit: one device, gaps under 30 minutes)."""

    messages: int
    page_views: int
    visits: int
    per_page_view_mean: float
    per_page_view_median: float
    per_visit_mean: float
    per_visit_median: float
    by_event: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy, rounded for reading."""
        return {
            "messages": self.messages,
            "page_views": self.page_views,
            "visits": self.visits,
            "per_page_view_mean": round(self.per_page_view_mean, 2),
            "per_page_view_median": self.per_page_view_median,
            "per_visit_mean": round(self.per_visit_mean, 2),
            "per_visit_median": self.per_visit_median,
            "by_event": self.by_event,
        }


def _at(message: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(message["timestamp"]).replace("Z", "+00:00"))


def event_mix(messages: Iterable[dict[str, Any]], *, exclude_ids: frozenset[str] = frozenset()) -> EventMix:
    """Measure the mix of stamped messages (e.g. a plan's), skipping devices in `exclude_ids`.

    Each message counts for the page view it was sent on: "Session Started" for the page it
    opens, anything before a visit's first page for that page, the rest for the page before.
    """
    devices: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_event: Counter[str] = Counter()
    total = 0
    for message in messages:
        device = message.get("anonymousId")
        if device in exclude_ids:
            continue
        devices[str(device)].append(message)
        total += 1
        if message["type"] == "track":
            by_event[message["event"]] += 1
    per_page: list[int] = []
    per_visit: list[int] = []
    for own in devices.values():
        visits: list[list[dict[str, Any]]] = [[own[0]]]
        for before, message in itertools.pairwise(own):
            if (_at(message) - _at(before)).total_seconds() * 1000 > SESSION_TIMEOUT_MS:
                visits.append([])
            visits[-1].append(message)
        for visit in visits:
            per_visit.append(len(visit))
            counts: list[int] = []
            pending = 0  # messages waiting for the page they belong to
            for message in visit:
                if message["type"] == "page":
                    counts.append(pending + 1)
                    pending = 0
                elif message.get("event") == EVENT_SESSION_STARTED or not counts:
                    pending += 1
                else:
                    counts[-1] += 1
            if counts:
                counts[-1] += pending
            per_page.extend(counts)

    def mean(values: list[int]) -> float:
        return statistics.fmean(values) if values else 0.0

    def median(values: list[int]) -> float:
        return float(statistics.median(values)) if values else 0.0

    return EventMix(
        messages=total,
        page_views=len(per_page),
        visits=len(per_visit),
        per_page_view_mean=mean(per_page),
        per_page_view_median=median(per_page),
        per_visit_mean=mean(per_visit),
        per_visit_median=median(per_visit),
        by_event=dict(by_event.most_common()),
    )
