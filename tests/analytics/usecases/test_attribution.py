"""GET /v1/attribution's Markov model on a generated lake: the paths the SQL builds, and the credit.

The generator keeps every visitor's sessions and conversions, so the documented paths are built
here straight from them (not from SQL): one per conversion in the range (the visitor's sessions
started within the lookback window up to the conversion), and per visitor the sessions in the
range after their last conversion in it (within the lookback window before the last of them).
"""

from __future__ import annotations

import contextlib
import io
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from reviva.adapters.duckdb_executor import DuckDBExecutor, arrow_source
from reviva.adapters.lake.history import FixedLakeHistory
from reviva.analytics.attribution import NO_TOUCH, PathCount, TouchKey, markov
from reviva.analytics.rollups import RollupService
from reviva.analytics.service import AnalyticsService
from reviva.analytics.spend import SpendStore
from reviva.contracts.events import EnrichedEvent
from reviva_dev.fakes.analytics import MemoryObjectStore
from tests.analytics.dataset import events_to_arrow, page, row

with contextlib.redirect_stdout(io.StringIO()):  # it prints an advertisement when imported
    import ChannelAttribution as reference

FIRST = date(2026, 9, 1)
DAYS = 60
RANGE_START = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=UTC)
RANGE_END = RANGE_START + timedelta(days=DAYS)
NOW = RANGE_END + timedelta(days=20)
QUERY = {"model": "markov", "from": FIRST.isoformat(), "to": (FIRST + timedelta(days=DAYS - 1)).isoformat()}
# Seen only in sessions after a visitor's last conversion: it must get no Markov credit.
AFTER_CONVERSION_ONLY = "referral"
CHANNELS: list[TouchKey] = [
    ("organic_search", None),
    ("paid_search", "bf"),
    ("paid_search", "xmas"),
    ("paid_social", "launch"),
    ("email", "nl"),
    ("direct", None),
]
SESSION_TO_CONVERSION = timedelta(minutes=5)  # a session's conversion comes 5 minutes after it starts
CONVERSION_ODDS = {
    "organic_search": 0.08,
    "paid_search": 0.2,
    "paid_social": 0.1,
    "email": 0.25,
    "direct": 0.05,
}


@dataclass
class Visitor:
    name: str
    sessions: list[tuple[datetime, str, TouchKey]] = field(default_factory=list)  # (start, id, touch)
    conversions: list[tuple[datetime, float]] = field(default_factory=list)


def generate(seed: int, visitors: int = 300) -> list[Visitor]:
    """Visitors whose sessions start from 35 days before the range to its end: some convert twice
    or more, some come back through one channel dozens of times (self-loops near 1), and some
    return only through AFTER_CONVERSION_ONLY after their last conversion."""
    rng = random.Random(seed)
    people = []
    for number in range(visitors):
        visitor = Visitor(f"v{seed}-{number}")
        if rng.random() < 0.03:
            # a conversion recorded outside any session (e.g. server-side): no touch at all
            visitor.conversions.append((RANGE_START + timedelta(days=rng.uniform(0, DAYS)), 50.0))
            people.append(visitor)
            continue
        loyal = rng.random() < 0.05  # dozens of sessions in a few days, all through one channel
        count = 40 if loyal else rng.choice([1, 1, 2, 3, 4, 6])
        first = rng.uniform(-35, DAYS - 6)
        starts = sorted(
            RANGE_START
            + timedelta(days=first + rng.uniform(0, 5) if loyal else rng.uniform(-35, DAYS - 1))
            + timedelta(seconds=rng.randrange(3600))
            for _ in range(count)
        )
        touch = rng.choice(CHANNELS)
        for index, start in enumerate(starts):
            if not loyal and rng.random() > 0.6:
                touch = rng.choice(CHANNELS)
            visitor.sessions.append((start, f"s{visitor.name}-{index}", touch))
            if rng.random() < CONVERSION_ODDS[touch[0]]:
                visitor.conversions.append((start + SESSION_TO_CONVERSION, float(rng.choice([20, 90, 400]))))
        if visitor.conversions and rng.random() < 0.5:
            # returns through AFTER_CONVERSION_ONLY as the visitor's last sessions
            last = max(visitor.conversions[-1][0], visitor.sessions[-1][0])
            for index in range(rng.randint(1, 3)):
                start = last + timedelta(days=rng.uniform(0.1, 6) * (index + 1))
                visitor.sessions.append((start, f"s{visitor.name}-r{index}", (AFTER_CONVERSION_ONLY, None)))
        people.append(visitor)
    return people


def lake_events(people: list[Visitor]) -> list[EnrichedEvent]:
    events = []
    for visitor in people:
        for start, session, (channel, campaign) in visitor.sessions:
            touch = {"channel": channel, "utm_campaign": campaign}
            events.append(page(visitor.name, start, "/", session, "landing_page", "awareness", **touch))
        for at, value in visitor.conversions:
            within = next(
                (s for start, s, _ in visitor.sessions if start == at - SESSION_TO_CONVERSION), None
            )
            events.append(
                row(
                    visitor.name,
                    at,
                    "track",
                    event_name="Booking Submitted",
                    session_id=within,
                    touchpoint="booking_submitted",
                    is_conversion=True,
                    revenue=value,
                )
            )
    return events


def documented_paths(people: list[Visitor], lookback: timedelta) -> list[PathCount]:
    paths = []
    for visitor in people:
        ordered = sorted(visitor.sessions, key=lambda s: (s[0], s[1]))
        in_range = [(at, value) for at, value in visitor.conversions if RANGE_START <= at < RANGE_END]
        for at, value in in_range:
            touches = tuple(touch for start, _, touch in ordered if at - lookback <= start <= at)
            paths.append(PathCount(touches or (NO_TOUCH,), 1, 0, value))
        after = [
            (start, touch)
            for start, _, touch in ordered
            if RANGE_START <= start < RANGE_END and (not in_range or start > in_range[-1][0])
        ]
        if after:
            last_start = after[-1][0]
            paths.append(PathCount(tuple(t for start, t in after if start >= last_start - lookback), 0, 1))
    return paths


def answer_for(people: list[Visitor], query: dict[str, str]) -> dict:
    executor = DuckDBExecutor(*arrow_source(events_to_arrow(lake_events(people))))
    store = MemoryObjectStore()
    service = AnalyticsService(
        executor,
        RollupService(executor, store, FixedLakeHistory(executor.data_as_of()), clock=lambda: NOW),
        SpendStore(store),
        clock=lambda: NOW,
    )
    return service.answer("attribution", query)


def credit_of(body: dict) -> dict[TouchKey, tuple[float, float]]:
    return {(r["channel"], r["campaign"]): (r["conversions"], r["revenue"]) for r in body["rows"]}


@pytest.mark.parametrize(("seed", "lookback_days"), [(1, 30), (2, 7)])
def test_markov_credit_is_the_documented_paths_credit(seed: int, lookback_days: int) -> None:
    people = generate(seed)
    body = answer_for(people, {**QUERY, "lookback_days": str(lookback_days)})
    paths = documented_paths(people, timedelta(days=lookback_days))
    conversions = sum(p.conversions for p in paths)
    # The data has what the model must get right: repeat converters, conversions with and
    # without touches in the window, sessions after the last conversion, long single-channel runs.
    assert any(sum(RANGE_START <= at < RANGE_END for at, _ in v.conversions) >= 2 for v in people)
    assert any(p.conversions and p.touches == (NO_TOUCH,) for p in paths)
    assert any(not p.conversions and (AFTER_CONVERSION_ONLY, None) in p.touches for p in paths)
    assert any(len(p.touches) >= 20 and len(set(p.touches)) <= 3 for p in paths)

    expected = {key: (round(c, 4), round(r, 2)) for key, (c, r) in markov(paths).items() if c > 0}
    assert credit_of(body) == expected
    assert body["totals"]["conversions"] == conversions
    assert sum(r["conversions"] for r in body["rows"]) == pytest.approx(conversions, abs=1e-3)
    assert sum(r["revenue"] for r in body["rows"]) == pytest.approx(body["totals"]["revenue"], abs=0.05)


def test_a_channel_seen_only_after_conversions_gets_no_credit() -> None:
    people = generate(3)
    seen = {touch for v in people for start, _, touch in v.sessions if RANGE_START <= start < RANGE_END}
    assert (AFTER_CONVERSION_ONLY, None) in seen
    body = answer_for(people, QUERY)
    assert AFTER_CONVERSION_ONLY not in {r["channel"] for r in body["rows"]}


def test_markov_credit_agrees_with_the_reference_library() -> None:
    people = generate(4, visitors=600)
    body = answer_for(people, QUERY)
    paths = documented_paths(people, timedelta(days=30))
    name = {touch: f"{touch[0]}/{touch[1] or ''}" for p in paths for touch in p.touches}
    frame = pd.DataFrame(
        [
            (" > ".join(name[t] for t in p.touches), p.conversions, p.non_conversions, p.revenue)
            for p in paths
        ],
        columns=["path", "conversions", "nulls", "revenue"],
    )
    theirs = reference.markov_model(
        frame,
        "path",
        "conversions",
        var_value="revenue",
        var_null="nulls",
        nsim_start=3e6,
        verbose=False,
        flg_pro=False,
    ).set_index("channel_name")
    ours = credit_of(body)
    totals = body["totals"]
    for touch, label in name.items():
        their_conversions = float(theirs.loc[label, "total_conversions"]) if label in theirs.index else 0.0
        their_revenue = float(theirs.loc[label, "total_conversion_value"]) if label in theirs.index else 0.0
        conversions, revenue = ours.get(touch, (0.0, 0.0))
        # ChannelAttribution simulates journeys: shares within 0.5 percentage point.
        assert conversions / totals["conversions"] == pytest.approx(
            their_conversions / totals["conversions"], abs=0.005
        ), label
        assert revenue / totals["revenue"] == pytest.approx(their_revenue / totals["revenue"], abs=0.005), (
            label
        )
