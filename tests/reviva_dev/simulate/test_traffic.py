"""The traffic generator: reproducible, valid Segment messages that behave like the personas."""

from __future__ import annotations

import itertools
import json
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from crawlerdetect import CrawlerDetect

from reviva import segment
from reviva.enrich import channel
from reviva_dev.simulate import (
    PERSONA_WEIGHTS,
    TRACK_EVENTS,
    PersonaName,
    TrafficPlan,
    generate_traffic,
    plan_traffic,
)
from reviva_dev.simulate.personas import CAMPAIGNS, SERVICES_BY_SLUG, SITE_ORIGIN

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DAYS = 14
ISO_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SESSION_TIMEOUT = timedelta(minutes=30)


@pytest.fixture(scope="module")
def plan() -> TrafficPlan:
    """1,000 visitors over two weeks: shared by the read-only tests of this module."""
    return plan_traffic(1_000, DAYS, seed=2026, now=NOW)


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _by_device(messages: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    devices: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for message in messages:
        devices[message["anonymousId"]].append(message)
    return devices


def segment_problems(message: dict[str, Any]) -> list[str]:
    """What makes a message fall short of the Segment spec as analytics.js fills it in."""
    problems: list[str] = []
    kind = message.get("type")
    if kind not in ("page", "track", "identify", "alias"):
        return [f"type {kind!r}"]
    if not UUID4.match(str(message.get("messageId"))):
        problems.append("messageId is not a uuid4")
    if not UUID4.match(str(message.get("anonymousId"))):
        problems.append("anonymousId is not a uuid4")
    for name in ("timestamp", "originalTimestamp", "sentAt"):
        if not ISO_MILLIS.match(str(message.get(name))):
            problems.append(f"{name} is not ISO 8601 UTC with milliseconds")
    context = message.get("context")
    if not isinstance(context, dict):
        return [*problems, "context missing"]
    if context.get("library", {}).get("name") != "analytics.js" or not context["library"].get("version"):
        problems.append("context.library")
    page = context.get("page", {})
    if set(page) != {"path", "url", "referrer", "title", "search"}:
        problems.append(f"context.page keys {sorted(page)}")
    elif not page["url"].startswith(SITE_ORIGIN + page["path"]) or not page["url"].endswith(page["search"]):
        problems.append("context.page.url does not agree with path and search")
    consent = context.get("consent")
    if consent is not None and (
        consent.get("analytics") is not True or not isinstance(consent.get("marketing"), bool)
    ):
        problems.append("context.consent must be flat booleans with analytics granted")
    if not context.get("userAgent") or not context.get("locale"):
        problems.append("context.userAgent/locale")
    if "userId" in message and not re.fullmatch(r"cust-\d{10}", message["userId"]):
        problems.append("userId shape")
    if kind == "page":
        if message.get("properties") != page or not message.get("name"):
            problems.append("page properties must repeat context.page, name set")
    elif kind == "track":
        if message.get("event") not in TRACK_EVENTS or not isinstance(message.get("properties"), dict):
            problems.append("track event/properties")
    elif kind == "identify":
        traits = message.get("traits", {})
        if "userId" not in message or "@" not in traits.get("email", "") or not traits.get("phone"):
            problems.append("identify needs userId and traits with email and phone")
    elif kind == "alias" and not (message.get("userId") and message.get("previousId")):
        problems.append("alias needs userId and previousId")
    return problems


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not() -> None:
    first = json.dumps(list(generate_traffic(150, 7, seed=11, now=NOW)))
    again = json.dumps(list(generate_traffic(150, 7, seed=11, now=NOW)))
    other = json.dumps(list(generate_traffic(150, 7, seed=12, now=NOW)))
    assert first == again
    assert first != other


def test_message_ids_are_unique_and_every_message_is_a_valid_segment_message(plan: TrafficPlan) -> None:
    ids = [m["messageId"] for m in plan.messages]
    assert len(ids) == len(set(ids))
    problems = {m["messageId"]: p for m in plan.messages if (p := segment_problems(m))}
    assert problems == {}
    assert {m["type"] for m in plan.messages} == {"page", "track", "identify", "alias"}
    assert {m["event"] for m in plan.messages if m["type"] == "track"} == set(TRACK_EVENTS)


def test_the_ingest_models_accept_every_message(plan: TrafficPlan) -> None:
    for message in plan.messages:
        segment.parse_message(message)


def test_persona_mix_follows_the_weights(plan: TrafficPlan) -> None:
    shares = {name: count / 1_000 for name, count in plan.summary.visitors_by_persona.items()}
    for persona, weight in PERSONA_WEIGHTS.items():
        assert shares[persona.value] == pytest.approx(weight, abs=0.04), persona
    assert sum(plan.summary.visitors_by_persona.values()) == 1_000


def test_timestamps_lie_in_the_period_and_each_device_sends_in_time_order(plan: TrafficPlan) -> None:
    oldest, newest = NOW - timedelta(days=DAYS), NOW
    times = [_at(m["timestamp"]) for m in plan.messages]
    assert all(oldest <= t <= newest for t in times)
    assert times == sorted(times), "messages are merged by event time"
    # Visits spread over the whole period, not bunched at one end.
    assert min(times) < oldest + timedelta(days=1) and max(times) > newest - timedelta(days=1)
    for messages in _by_device(plan.messages).values():
        own = [_at(m["timestamp"]) for m in messages]
        assert all(a < b for a, b in itertools.pairwise(own))
        assert all(m["originalTimestamp"] == m["timestamp"] for m in messages)


def test_visits_are_separated_by_more_than_thirty_minutes_and_clicks_by_less(plan: TrafficPlan) -> None:
    devices = _by_device(plan.messages)
    multi_visit = 0
    for truth in plan.truths:
        visits = 0
        for anonymous_id in truth.anonymous_ids:
            times = [_at(m["timestamp"]) for m in devices[anonymous_id]]
            gaps = [b - a for a, b in itertools.pairwise(times)]
            # Inside a visit: seconds to minutes; between visits: at least 45 minutes.
            assert all(g < SESSION_TIMEOUT or g >= timedelta(minutes=45) for g in gaps)
            visits += 1 + sum(1 for g in gaps if g >= SESSION_TIMEOUT)
        assert visits == truth.sessions, truth
        multi_visit += truth.sessions > 1
    assert multi_visit > 100
    returning = [t for t in plan.truths if t.persona is PersonaName.RETURNING_CUSTOMER]
    assert all(t.sessions >= 2 and t.user_id for t in returning)
    assert any(len(t.anonymous_ids) == 2 for t in returning), "some come back on another device"


def test_a_one_day_period_squeezes_return_visits_but_keeps_them_apart() -> None:
    short = plan_traffic(300, 1, seed=21, now=NOW)
    devices = _by_device(short.messages)
    squeezed = 0
    for truth in short.truths:
        for anonymous_id in truth.anonymous_ids:
            times = [_at(m["timestamp"]) for m in devices[anonymous_id]]
            assert NOW - timedelta(days=1) <= times[0] and times[-1] <= NOW
            gaps = [b - a for a, b in itertools.pairwise(times)]
            assert all(g < SESSION_TIMEOUT or g >= timedelta(minutes=45) for g in gaps)
            squeezed += sum(1 for g in gaps if g >= SESSION_TIMEOUT)
    assert squeezed > 20, "returning customers still return, hours apart"


def test_campaign_landings_carry_utm_parameters_and_click_ids(plan: TrafficPlan) -> None:
    campaigns = {c.name: c for c in CAMPAIGNS}
    landings = [
        m for m in plan.messages if m["type"] == "page" and "utm_source=" in m["context"]["page"]["url"]
    ]
    assert len(landings) >= 150
    seen_click_ids = set()
    for message in landings:
        query = {k: v[0] for k, v in parse_qs(urlsplit(message["context"]["page"]["url"]).query).items()}
        campaign = campaigns[query["utm_campaign"]]
        context = message["context"]["campaign"]
        assert context["source"] == query["utm_source"] == campaign.source
        assert context["medium"] == query["utm_medium"] == campaign.medium
        assert context["name"] == campaign.name
        assert context.get("term") == query.get("utm_term")
        assert context.get("content") == query.get("utm_content")
        click_ids = {"gclid", "fbclid", "msclkid"} & set(query)
        assert click_ids == ({campaign.click_id_param} if campaign.click_id_param else set())
        seen_click_ids |= click_ids
        if campaign.medium == "email":
            assert message["context"]["page"]["referrer"] == ""
        else:
            assert urlsplit(message["context"]["page"]["referrer"]).hostname
    assert seen_click_ids == {"gclid", "fbclid", "msclkid"}
    # Pages without UTM parameters carry no campaign context (analytics.js reads it from the URL).
    assert all("campaign" not in m["context"] for m in plan.messages if not m["context"]["page"]["search"])
    channels = plan.summary.sessions_by_channel
    assert {"paid_search", "paid_social", "email", "organic_search", "social", "referral", "direct"} <= set(
        channels
    )


def test_some_visits_switch_campaign_mid_visit(plan: TrafficPlan) -> None:
    assert plan.summary.campaign_switches > 0
    devices = _by_device(plan.messages)
    switched = [t for t in plan.truths if t.campaign_switches]
    for truth in switched:
        messages = devices[truth.anonymous_ids[0]]
        tagged = [i for i, m in enumerate(messages) if "campaign" in m["context"] and m["type"] == "page"]
        names = [messages[i]["context"]["campaign"]["name"] for i in tagged]
        assert len(set(names)) >= 2
        second = tagged[1]
        gap = _at(messages[second]["timestamp"]) - _at(messages[second - 1]["timestamp"])
        assert gap < SESSION_TIMEOUT, "the new campaign arrives within the same visit"


def test_bots_use_crawler_user_agents_and_crawl_fast(plan: TrafficPlan) -> None:
    detector = CrawlerDetect()
    devices = _by_device(plan.messages)
    bots = [t for t in plan.truths if t.is_bot]
    assert len(bots) == plan.summary.bots > 50
    for truth in plan.truths:
        messages = devices[truth.anonymous_ids[0]]
        user_agent = messages[0]["context"]["userAgent"]
        assert detector.isCrawler(user_agent) is truth.is_bot, user_agent
        if truth.is_bot:
            assert {m["type"] for m in messages} == {"page"}
            assert messages[0]["context"]["page"]["referrer"] == ""
            times = [_at(m["timestamp"]) for m in messages]
            assert all(b - a <= timedelta(seconds=2) for a, b in itertools.pairwise(times))
    crawler_pages = [t.page_views for t in bots if t.page_views > 6]
    assert crawler_pages and min(crawler_pages) >= 10
    user_agents = {m["context"]["userAgent"] for m in plan.messages}
    for family in ("Googlebot", "bingbot", "curl/", "iPhone", "iPad", "Android", "Firefox", "Edg/"):
        assert any(family in ua for ua in user_agents), family


def test_bookings_identify_the_customer_and_carry_revenue(plan: TrafficPlan) -> None:
    devices = _by_device(plan.messages)
    revenue_pence = 0
    for messages in devices.values():
        started: set[str] = set()
        identified = False
        for message in messages:
            event = message.get("event")
            if message["type"] == "identify":
                identified = True
                assert (
                    message["traits"]["email"]
                    .rsplit("@", 1)[1]
                    .endswith(("example.com", "example.org", "example.net"))
                )
                assert message["traits"]["phone"].startswith("+447700900")
            elif event == "Booking Started":
                started.add(message["properties"]["service"])
            elif event == "Booking Submitted":
                properties = message["properties"]
                service = SERVICES_BY_SLUG[properties["service"]]
                assert properties["service"] in started and identified and message["userId"]
                assert properties["currency"] == "GBP"
                pence = round(properties["revenue"] * 100)
                assert service.price_min_pence <= pence <= service.price_max_pence
                revenue_pence += pence
    summary = plan.summary
    assert summary.conversions == summary.by_event["Booking Submitted"] > 50
    assert summary.by_event["Booking Started"] > summary.conversions, "some bookings are abandoned"
    assert summary.revenue == pytest.approx(revenue_pence / 100)
    assert sum(summary.revenue_by_service.values()) == pytest.approx(summary.revenue)
    converters = [t for t in plan.truths if t.persona is PersonaName.CONVERTER]
    assert all(t.conversions == 1 and t.user_id for t in converters)
    assert not any(t.conversions for t in plan.truths if t.persona is PersonaName.CASUAL_BROWSER)
    aliases = [m for m in plan.messages if m["type"] == "alias"]
    assert aliases and all(m["previousId"] == m["anonymousId"] for m in aliases)


def test_summary_counts_agree_with_the_messages(plan: TrafficPlan) -> None:
    summary = plan.summary
    assert summary.messages == len(plan.messages) == sum(summary.by_type.values())
    assert sum(summary.messages_by_persona.values()) == summary.messages
    assert summary.by_type["track"] == sum(summary.by_event.values())
    assert summary.by_type["page"] == sum(t.page_views for t in plan.truths)
    assert summary.devices == len({m["anonymousId"] for m in plan.messages})
    assert summary.identified_users == len({m["userId"] for m in plan.messages if m["type"] == "identify"})
    bot_devices = {aid for t in plan.truths if t.is_bot for aid in t.anonymous_ids}
    assert summary.bot_messages == sum(1 for m in plan.messages if m["anonymousId"] in bot_devices)
    assert json.loads(json.dumps(summary.to_dict()))["visitors"] == 1_000


def test_days_are_clamped_to_what_the_ingest_accepts() -> None:
    long_ago = plan_traffic(40, 90, seed=5, now=NOW)
    assert long_ago.days == 30
    assert min(_at(m["timestamp"]) for m in long_ago.messages) >= NOW - timedelta(days=30) + timedelta(
        minutes=59
    )
    short = plan_traffic(40, 0, seed=5, now=NOW)
    assert short.days == 1
    assert min(_at(m["timestamp"]) for m in short.messages) >= NOW - timedelta(days=1)
    assert plan_traffic(0, 3, seed=5, now=NOW).messages == []
    with pytest.raises(ValueError):
        plan_traffic(-1, 3, seed=5, now=NOW)


def test_a_large_plan_is_generated_whole() -> None:
    # Generation speed is a benchmark figure, not a test: this checks only that a month of a busy
    # store's traffic is planned in full.
    plan = plan_traffic(13_000, 30, seed=99, now=NOW)
    assert len(plan.messages) >= 100_000
    assert plan.summary.to_dict()["messages"] == len(plan.messages)


def test_the_enrich_channel_rules_agree_with_each_visits_intended_channel(plan: TrafficPlan) -> None:
    site = frozenset({urlsplit(SITE_ORIGIN).hostname or ""})  # a constant URL: the hostname is there
    devices = _by_device(plan.messages)
    disagreements = []
    for truth in plan.truths:
        if truth.is_bot:
            continue
        messages = sorted((m for a in truth.anonymous_ids for m in devices[a]), key=lambda m: m["timestamp"])
        intended = iter(truth.session_channels)
        previous: datetime | None = None
        for message in messages:
            at = _at(message["timestamp"])
            if previous is None or at - previous > SESSION_TIMEOUT:
                page = message["context"]["page"]
                found = channel.classify_traffic(
                    page["url"], page["referrer"], message["context"].get("campaign"), site_hosts=site
                ).channel
                expected = next(intended)
                if found != expected:
                    disagreements.append((expected, found, page["url"], page["referrer"]))
            previous = at
    assert disagreements == []


def test_people_visit_by_day_and_bots_around_the_clock(plan: TrafficPlan) -> None:
    human_hours = [_at(t.first_timestamp).hour for t in plan.truths if not t.is_bot]
    daytime = sum(1 for hour in human_hours if 10 <= hour < 20)
    night = sum(1 for hour in human_hours if 0 <= hour < 6)
    assert daytime > 3 * night > 0
