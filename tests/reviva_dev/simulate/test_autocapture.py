"""Autocapture in the simulator: the browser tracker's automatic events around simulated pages.

The event names and property names are read from tracker/src/tracker.ts itself, so a change to
the tracker that the simulator does not follow fails here.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reviva_dev.cli import app
from reviva_dev.simulate import (
    AUTO_EVENTS,
    TRACK_EVENTS,
    TrafficPlan,
    event_mix,
    generate_traffic,
    plan_traffic,
)
from reviva_dev.simulate.autocapture import BOOKING_FORM, BrowserDevice, merge_records, plan_session
from reviva_dev.simulate.personas import HUMAN_DEVICES, SITE_ORIGIN
from tests.reviva_dev.simulate.conftest import RecordingEndpoint

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TRACKER_SRC = Path(__file__).resolve().parents[3] / "tracker" / "src"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SESSION_TIMEOUT = timedelta(minutes=30)
AUTO = frozenset(AUTO_EVENTS)


@pytest.fixture(scope="module")
def off() -> TrafficPlan:
    return plan_traffic(600, 7, seed=77, now=NOW)


@pytest.fixture(scope="module")
def on() -> TrafficPlan:
    return plan_traffic(600, 7, seed=77, now=NOW, autocapture=True)


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _is_auto(message: dict[str, Any]) -> bool:
    return message["type"] == "track" and message["event"] in AUTO


def _by_device(messages: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    devices: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for message in messages:
        devices[message["anonymousId"]].append(message)
    return devices


def _pages_with_events(plan: TrafficPlan) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Every human page view with the automatic events sent while it was open."""
    bots = {a for t in plan.truths if t.is_bot for a in t.anonymous_ids}
    out: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for device, messages in _by_device(plan.messages).items():
        if device in bots:
            continue
        current: tuple[dict[str, Any], list[dict[str, Any]]] | None = None
        for message in messages:
            if message["type"] == "page":
                current = (message, [])
                out.append(current)
            elif _is_auto(message) and message["event"] != "Session Started":
                assert current is not None, "an automatic event before any page"
                current[1].append(message)
    return out


# -- the tracker's own definition of its events -----------------------------------------------


def _block(text: str, start: int) -> str:
    """The text inside the bracket at `start`, up to its matching close (strings skipped)."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    stack = [pairs[text[start]]]
    index = start + 1
    while stack:
        char = text[index]
        if char in "\"'`":
            index = text.index(char, index + 1)
        elif char in pairs:
            stack.append(pairs[char])
        elif char == stack[-1]:
            stack.pop()
        index += 1
    return text[start + 1 : index - 1]


def _entries(body: str) -> list[str]:
    """Top-level comma-separated entries of an object literal's body."""
    entries, depth, current = [], 0, ""
    for char in body:
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        if char == "," and depth == 0:
            entries.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        entries.append(current.strip())
    return entries


def tracker_events() -> dict[str, set[str]]:
    """Event name -> property names, read from tracker.ts (and formSummary in detectors.ts).

    A dynamic key ("utm_" + k, data-track-* attributes) is given as a prefix ending in "*".
    """
    source = (TRACKER_SRC / "tracker.ts").read_text()
    detectors = (TRACKER_SRC / "detectors.ts").read_text()
    describe = source[source.index("private describe(") :]
    describe_keys = _object_keys(_block(describe, describe.index("return {") + 7), source, detectors)
    events: dict[str, set[str]] = {}
    for match in re.finditer(r'this\.track\("([^"]+)",\s*', source):
        rest = source[match.end() :]
        if rest.startswith("{"):
            keys = _object_keys(_block(rest, 0), source, detectors)
        elif rest.startswith("this.describe("):
            keys = set(describe_keys)
        else:  # a variable built just before: `const props: Props = {...}` plus data-track-*
            variable = re.match(r"(\w+)", rest)
            assert variable, rest[:40]
            before = source[: match.start()]
            declared = before.rindex(f"const {variable.group(1)}: Props = {{")
            keys = _object_keys(_block(before, before.index("{", declared)), source, detectors)
            if 'startsWith("data-track-")' in before[declared:]:
                keys.add("*")
        events[match.group(1)] = keys
    for match in re.finditer(r'event: "([^"]+)",\s*properties: ', source):
        rest = source[match.end() :]
        events[match.group(1)] = _object_keys(_block(rest, 0), source, detectors)
    return events


def _object_keys(body: str, source: str, detectors: str) -> set[str]:
    keys: set[str] = set()
    for entry in _entries(body):
        if entry.startswith("...this.describe("):
            describe = source[source.index("private describe(") :]
            keys |= _object_keys(_block(describe, describe.index("return {") + 7), source, detectors)
        elif entry.startswith("...formSummary("):
            signature = re.search(r"export function formSummary\([^)]*\): \{([^}]*)\}", detectors)
            assert signature
            keys |= {part.split(":")[0].strip() for part in signature.group(1).split(";") if part.strip()}
        elif entry.startswith("...Object.fromEntries("):
            assert '"utm_"' in entry
            keys.add("utm_*")
        else:
            name = re.match(r"(\w+)\s*(:|$)", entry)
            assert name, f"cannot read {entry!r} in tracker.ts"
            keys.add(name.group(1))
    return keys


def _allowed(keys: set[str], name: str) -> bool:
    return name in keys or any(k.endswith("*") and name.startswith(k[:-1]) for k in keys)


# -- off: exactly what it was ------------------------------------------------------------------


# sha256 of the messages, truths and summary that the generator produced before autocapture
# existed (same arguments). A deliberate change to the simulated traffic updates these.
TODAY = {
    (300, 7, 31): (2392, "1b5a0c2f5110cc046831c8290ea298e62e1d212841196653f94850bc308f6014"),
    (40, 2, 7): (430, "3f1f405b9f0c732f21332ed1503ff72e755ea54393b29de7ec44b3a71160d587"),
}


def _digest(plan: TrafficPlan) -> str:
    blob = json.dumps(
        {
            "messages": plan.messages,
            # Without the devices' countries (added later, drawn apart): the digest then shows that
            # adding them changed nothing that was generated before.
            "truths": [{k: v for k, v in asdict(t).items() if k != "countries"} for t in plan.truths],
            "summary": plan.summary.to_dict(),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


@pytest.mark.parametrize(("visitors", "days", "seed"), list(TODAY))
def test_autocapture_off_gives_exactly_todays_traffic(visitors: int, days: int, seed: int) -> None:
    default = plan_traffic(visitors, days, seed=seed, now=NOW)
    explicit = plan_traffic(visitors, days, seed=seed, now=NOW, autocapture=False)
    count, digest = TODAY[(visitors, days, seed)]
    assert len(default.messages) == count
    assert _digest(default) == _digest(explicit) == digest
    assert not any(_is_auto(m) for m in default.messages)


def test_site_messages_and_the_answer_key_are_unchanged_with_autocapture(
    off: TrafficPlan, on: TrafficPlan
) -> None:
    site = [m for m in on.messages if not _is_auto(m)]
    assert site == off.messages, "same ids, times and order for every site message"
    autos = len(on.messages) - len(site)
    assert autos > 2 * len(off.messages)
    for before, after in zip(off.truths, on.truths, strict=True):
        assert asdict(before) | {"messages": 0, "last_timestamp": ""} == asdict(after) | {
            "messages": 0,
            "last_timestamp": "",
        }
        assert after.messages >= before.messages and after.last_timestamp >= before.last_timestamp
    assert sum(t.messages for t in on.truths) == len(on.messages)
    s_off, s_on = off.summary, on.summary
    for name in ("page", "identify", "alias"):
        assert s_on.by_type[name] == s_off.by_type[name]
    assert s_on.by_type["page"] == sum(t.page_views for t in on.truths)
    assert s_on.by_type["track"] == sum(s_on.by_event.values()) == s_off.by_type["track"] + autos
    assert {k: s_on.by_event[k] for k in TRACK_EVENTS} == s_off.by_event
    assert (s_on.conversions, s_on.revenue, s_on.sessions, s_on.devices) == (
        s_off.conversions,
        s_off.revenue,
        s_off.sessions,
        s_off.devices,
    )
    assert s_on.messages == len(on.messages)
    assert sum(s_on.messages_by_persona.values()) == s_on.messages


# -- on: what the tracker sends -------------------------------------------------------------------


def test_event_names_and_properties_are_the_trackers(on: TrafficPlan) -> None:
    spec = tracker_events()
    assert set(spec) == AUTO, "the simulator's automatic events are exactly the tracker's"
    seen: Counter[str] = Counter()
    for message in on.messages:
        if not _is_auto(message):
            continue
        event, props = message["event"], message["properties"]
        seen[event] += 1
        unknown = [k for k in props if not _allowed(spec[event], k)]
        assert unknown == [], (event, unknown)
        assert None not in props.values(), "undefined properties are not sent"
        assert UUID4.match(message["messageId"]) and message["context"]["page"]["path"]
    assert set(seen) == AUTO, f"never generated: {AUTO - set(seen)}"


def test_property_values_have_the_trackers_shapes(on: TrafficPlan) -> None:
    def whole(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    for message in on.messages:
        if not _is_auto(message):
            continue
        event, p = message["event"], message["properties"]
        if event == "Page Performance":
            assert all(whole(p[k]) for k in ("ttfb_ms", "dom_content_loaded_ms", "load_ms", "transfer_bytes"))
            assert p["ttfb_ms"] <= p["dom_content_loaded_ms"] <= p["load_ms"]
            assert p["navigation_type"] in ("navigate", "reload", "back_forward", "prerender")
        elif event == "Web Vitals":
            assert isinstance(p["cls"], (int, float)) and p["cls"] >= 0 and round(p["cls"], 3) == p["cls"]
            assert all(whole(p[k]) for k in ("lcp_ms", "inp_ms") if k in p)
        elif event == "Scroll Depth Reached":
            assert p["percent"] in (25, 50, 75, 100) and whole(p["time_on_page_ms"])
        elif event == "Exit Intent":
            assert p["trigger"] in ("pointer", "visibility")
            assert whole(p["time_on_page_ms"]) and 0 <= p["scroll_depth"] <= 100
        elif event == "Rage Click":
            assert p["clicks"] >= 3 and whole(p["x"]) and whole(p["y"]) and p["element"]
        elif event in ("Element Clicked", "CTA Clicked"):
            assert p["element"] in ("a", "button", "img", "div") and (event == "CTA Clicked" or p["track_id"])
            describe = {"element", "element_id", "classes", "text", "href", "track_id"}
            # data-track-* attributes: snake_case names, values cut at 100 characters.
            extra = {k: v for k, v in p.items() if k not in describe}
            assert all(re.fullmatch(r"[a-z_]+", k) and len(v) <= 100 for k, v in extra.items())
        elif event == "Consent Updated":
            assert {type(v) for v in p.values()} == {bool} and p["analytics"] is True
        elif event == "Session Started":
            assert p["landing_page"].startswith("/") and UUID4.match(p["session_id"])


def test_every_page_has_page_performance_then_web_vitals_when_left(on: TrafficPlan) -> None:
    pages = _pages_with_events(on)
    assert len(pages) > 1_000
    left = 0
    for page, events in pages:
        names = [e["event"] for e in events]
        assert names.count("Page Performance") == 1, page["context"]["page"]["path"]
        assert names.count("Web Vitals") <= 1
        if "Web Vitals" in names:
            left += 1
            assert names.index("Page Performance") < names.index("Web Vitals")
            assert names[-1] == "Web Vitals", "leaving the page is the last thing it sends"
        assert all(e["context"]["page"] == page["context"]["page"] for e in events)
    assert left > 0.98 * len(pages), "only visitors still on a page at `now` have not left it"


def test_bots_get_no_automatic_events(on: TrafficPlan) -> None:
    devices = _by_device(on.messages)
    bots = [t for t in on.truths if t.is_bot]
    assert bots
    for truth in bots:
        assert {m["type"] for a in truth.anonymous_ids for m in devices[a]} == {"page"}


def test_scroll_milestones_ascend_once_per_page_and_time_on_page_adds_up(on: TrafficPlan) -> None:
    scrolled = 0
    for page, events in _pages_with_events(on):
        scrolls = [e for e in events if e["event"] == "Scroll Depth Reached"]
        percents = [e["properties"]["percent"] for e in scrolls]
        assert percents == sorted(set(percents))
        scrolled += bool(scrolls)
        for event in events:
            if "time_on_page_ms" in event["properties"]:
                elapsed = _at(event["timestamp"]) - _at(page["timestamp"])
                assert event["properties"]["time_on_page_ms"] == elapsed // timedelta(milliseconds=1)
    assert scrolled > 0.5 * len(_pages_with_events(on))


def test_forms_report_names_types_and_counts_never_values(on: TrafficPlan) -> None:
    values = set()
    for message in on.messages:
        if message["type"] == "identify":
            values |= {str(v) for v in message["traits"].values() if isinstance(v, str)}
    assert values
    submitted = 0
    for page, events in _pages_with_events(on):
        focused = [e["properties"]["field_name"] for e in events if e["event"] == "Form Field Focused"]
        assert len(focused) == len(set(focused)), "a field's first focus only"
        for event in events:
            if event["event"] == "Form Submitted":
                props = event["properties"]
                assert set(props) == {"form_id", "form_name", "field_names", "field_types", "field_count"}
                assert props["field_count"] == len(props["field_names"]) == len(props["field_types"])
                submitted += 1
            if event["event"] in ("Form Field Focused", "Form Submitted"):
                blob = json.dumps(event)
                assert not [v for v in values if v in blob], "a form value left the page"
        if page["context"]["page"]["path"] == "/book" and any(e["event"] == "Form Submitted" for e in events):
            form = next(e for e in events if e["event"] == "Form Submitted")["properties"]
            assert form["field_names"] == [name for name, _ in BOOKING_FORM.fields]
    assert submitted >= on.summary.conversions


def test_sessions_start_where_the_visits_and_campaign_switches_do(on: TrafficPlan) -> None:
    started = [i for i, m in enumerate(on.messages) if m.get("event") == "Session Started"]
    human = [t for t in on.truths if not t.is_bot]
    assert len(started) == sum(t.sessions + t.campaign_switches for t in human)
    devices = _by_device(on.messages)
    for messages in devices.values():
        for index, message in enumerate(messages):
            if message.get("event") != "Session Started":
                continue
            page = messages[index + 1]
            assert page["type"] == "page" and page["timestamp"] == message["timestamp"]
            props = message["properties"]
            assert props["landing_page"] == page["properties"]["path"]
            assert props.get("referrer", "") == page["properties"]["referrer"]
            campaign = page["context"].get("campaign", {})
            utm = {"utm_source": "source", "utm_medium": "medium", "utm_campaign": "name"}
            utm |= {"utm_term": "term", "utm_content": "content"}
            assert {k: v for k, v in props.items() if k.startswith("utm_")} == {
                k: campaign[v] for k, v in utm.items() if v in campaign
            }
    ids = [on.messages[i]["properties"]["session_id"] for i in started]
    assert len(ids) == len(set(ids))


def test_consent_is_given_once_per_browser_on_its_first_page(on: TrafficPlan) -> None:
    devices = _by_device(on.messages)
    for truth in on.truths:
        for device in truth.anonymous_ids:
            messages = devices[device]
            consent = [i for i, m in enumerate(messages) if m.get("event") == "Consent Updated"]
            if truth.is_bot:
                assert consent == []
                continue
            assert len(consent) == 1
            before = messages[: consent[0]]
            assert [m["type"] for m in before].count("page") == 1, "answered on the first page"
            props = messages[consent[0]]["properties"]
            assert props["marketing"] == messages[0]["context"]["consent"]["marketing"]
            assert messages[consent[0] - 1].get("event") == "CTA Clicked", "the banner's button"


def test_exit_intent_follows_the_trackers_rules(on: TrafficPlan) -> None:
    touch = {d.user_agent for d in HUMAN_DEVICES if d.kind in ("mobile", "tablet")}
    triggers: Counter[str] = Counter()
    for page, events in _pages_with_events(on):
        exits = [e for e in events if e["event"] == "Exit Intent"]
        assert len(exits) <= 1
        is_touch = page["context"]["userAgent"] in touch
        left = any(e["event"] == "Web Vitals" for e in events)
        if is_touch and left:
            # On a touch device every leave after a second on the page is an exit intent.
            assert len(exits) == 1 and exits[0]["properties"]["trigger"] == "visibility"
        for exit_intent in exits:
            triggers[exit_intent["properties"]["trigger"]] += 1
            assert exit_intent["properties"]["trigger"] == ("visibility" if is_touch else "pointer")
    assert triggers["pointer"] and triggers["visibility"]


def test_same_seed_same_bytes_unique_ids_and_ordered_devices(on: TrafficPlan) -> None:
    first = json.dumps(list(generate_traffic(120, 5, seed=3, now=NOW, autocapture=True)))
    again = json.dumps(list(generate_traffic(120, 5, seed=3, now=NOW, autocapture=True)))
    other = json.dumps(list(generate_traffic(120, 5, seed=4, now=NOW, autocapture=True)))
    assert first == again != other
    ids = [m["messageId"] for m in on.messages]
    assert len(ids) == len(set(ids))
    times = [_at(m["timestamp"]) for m in on.messages]
    assert times == sorted(times) and max(times) < NOW
    for truth in on.truths:
        visits = 0
        for device in truth.anonymous_ids:
            own = [_at(m["timestamp"]) for m in _by_device(on.messages)[device]]
            assert all(a <= b for a, b in itertools.pairwise(own))
            visits += 1 + sum(1 for a, b in itertools.pairwise(own) if b - a > SESSION_TIMEOUT)
        assert visits == truth.sessions, "leave events never bridge two visits"


def test_user_id_appears_on_automatic_events_only_once_the_browser_has_it(on: TrafficPlan) -> None:
    for messages in _by_device(on.messages).values():
        known = None
        for message in messages:
            if not _is_auto(message):
                known = message.get("userId")
            elif message["event"] != "Session Started":
                assert message.get("userId") == known


# -- pieces ---------------------------------------------------------------------------------------


def _page(path: str, name: str, referrer: str, search: str = "") -> dict[str, Any]:
    page = {
        "path": path,
        "referrer": referrer,
        "search": search,
        "title": name,
        "url": SITE_ORIGIN + path + search,
    }
    return {
        "type": "page",
        "messageId": "m",
        "anonymousId": "a",
        "context": {"library": {"name": "analytics.js", "version": "1"}, "page": dict(page)},
        "name": name,
        "properties": page,
    }


def test_a_cookieless_browser_sends_everything_but_consent_and_session_ids() -> None:
    landing = _page("/", "Home", "https://www.google.com/")
    inside = _page("/faq", "FAQ", SITE_ORIGIN + "/")
    campaign = _page("/pricing", "Pricing", "https://l.facebook.com/", "?utm_source=facebook&utm_medium=paid")
    records = [(0, landing), (40_000, inside), (90_000, campaign)]
    counter = itertools.count()
    device = BrowserDevice("mobile", "Chrome Mobile", (412, 915, 2.6), None)
    autos = plan_session(
        records,
        rng=random.Random(1),
        device=device,
        first_on_device=True,
        new_id=lambda: f"id-{next(counter)}",
    )
    merged = merge_records(records, autos)
    names = [m.get("event", m["type"]) for _, m in merged]
    assert "Consent Updated" not in names, "nobody answered the banner"
    assert names.count("page") == 3 and names.count("Page Performance") == 3
    starts = [m["properties"] for _, m in merged if m.get("event") == "Session Started"]
    # No memory of the previous page: each landing from outside the site starts a session.
    assert [s["landing_page"] for s in starts] == ["/", "/pricing"]
    assert all("session_id" not in s for s in starts)
    assert starts[1]["utm_source"] == "facebook" and starts[1]["utm_medium"] == "paid"
    offsets = [offset for offset, _ in merged]
    assert offsets == sorted(offsets)

    server = [(0, {**landing, "context": {**landing["context"], "library": {"name": "analytics-python"}}})]
    assert plan_session(server, rng=random.Random(1), device=device, first_on_device=True, new_id=str) == []


def test_events_per_page_view_figure(on: TrafficPlan, record_property: Any) -> None:
    """The cost harness's default size (40 visitors, 2 days): the figure a cost estimate needs."""
    sizes = {}
    for seed in (1, 2, 3):
        plain = plan_traffic(40, 2, seed=seed, now=NOW)
        rich = plan_traffic(40, 2, seed=seed, now=NOW, autocapture=True)
        bots = frozenset(a for t in rich.truths if t.is_bot for a in t.anonymous_ids)
        mix_all, mix_humans = event_mix(rich.messages), event_mix(rich.messages, exclude_ids=bots)
        before = event_mix(plain.messages)
        assert mix_all.page_views == before.page_views == rich.summary.by_type["page"]
        assert mix_all.messages == len(rich.messages)
        sizes[seed] = {"all": mix_all.to_dict(), "humans": mix_humans.to_dict(), "off": before.to_dict()}
        # Several events per human page view, as the real tracker sends; ~1 without autocapture.
        assert 4 <= mix_humans.per_page_view_mean <= 14
        assert mix_all.per_page_view_mean > 2 * before.per_page_view_mean
        assert mix_humans.per_visit_mean > mix_humans.per_page_view_mean
    record_property("event_mix", json.dumps({s: {k: v for k, v in m.items()} for s, m in sizes.items()}))
    print(
        json.dumps(
            {s: {k: {x: v[x] for x in v if x != "by_event"} for k, v in m.items()} for s, m in sizes.items()}
        )
    )


def test_the_cli_sends_automatic_events_with_autocapture(endpoint: RecordingEndpoint) -> None:
    arguments = ["simulate", "--endpoint", endpoint.url, "--write-key", "k", "--visitors", "8"]
    result = CliRunner().invoke(app, [*arguments, "--days", "1", "--seed", "5", "--autocapture"])
    assert result.exit_code == 0, result.output
    received = endpoint.accepted_messages()
    # The CLI plans up to the current time; how many site messages there are does not depend on it.
    site = [m for m in received if not _is_auto(m)]
    assert len(site) == len(plan_traffic(8, 1, seed=5, now=NOW).messages)
    assert len(received) > 2 * len(site)
    assert {m["event"] for m in received if _is_auto(m)} >= {"Session Started", "Page Performance"}
