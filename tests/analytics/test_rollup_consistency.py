"""Numbers that agree (issue 11): after a backfill, the overview equals the lake.

A week of events reaches the lake late (as `reviva simulate` backfills, or a tracker's offline
queue flushes) after the overview's rollups were computed. Through the composition's real
wiring (an Iceberg lake on local disk written by the LakeWriter, the DuckDB executor, the lake's
commit history), the overview's sessions and conversions must then equal the counts computed
directly from the lake's rows, and its visitors must be within the sketch's stated error — whether
a read or the scheduled job recomputes the days.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pytest

from reviva.adapters.lake.catalog import ensure_events_table, load_lake_catalog
from reviva.adapters.lake.reader import scan_events
from reviva.analytics import hll
from reviva.composition import Composition
from reviva.contracts.events import EnrichedEvent
from reviva.settings import load_settings, reset_settings_cache
from tests.analytics import dataset
from tests.local_lake import use_local_lake

WEEK = 7


@pytest.fixture
def composition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Composition]:
    use_local_lake(tmp_path, monkeypatch)
    yield Composition(load_settings())
    reset_settings_cache()


def _visit(rng: random.Random, visitor: int, start: datetime) -> list[EnrichedEvent]:
    """One session: a few page views, sometimes a booking (a conversion); some visitors are bots."""
    session = f"s{visitor}-{start:%d%H%M%S}"
    bot = visitor % 23 == 0
    events = [
        dataset.row(
            f"v{visitor}",
            start + timedelta(seconds=30 * step),
            "page",
            session_id=session,
            page_path=rng.choice(["/", "/pricing", "/services/screen", "/book"]),
            is_bot=bot,
            channel=rng.choice(["direct", "organic_search", "paid_search"]),
        )
        for step in range(rng.randint(1, 4))
    ]
    if rng.random() < 0.2:
        events.append(
            dataset.row(
                f"v{visitor}",
                start + timedelta(minutes=5),
                "track",
                session_id=session,
                event_name="Booking Submitted",
                is_conversion=True,
                revenue=80.0,
                is_bot=bot,
            )
        )
    return events


def _week_of_events(now: datetime, visitors: int, seed: int) -> list[EnrichedEvent]:
    rng = random.Random(seed)
    first_day = datetime.combine(now.date() - timedelta(days=WEEK - 1), datetime.min.time(), UTC)
    latest = now - timedelta(minutes=30)  # sessions end before now: nothing in the future
    events: list[EnrichedEvent] = []
    for visitor in range(visitors):
        for _ in range(rng.randint(1, 3)):
            start = first_day + timedelta(
                seconds=rng.randint(0, int((latest - first_day).total_seconds()) - 300)
            )
            events += _visit(rng, visitor, start)
    return events


def _lake_counts(composition: Composition, now: datetime) -> dict[str, int]:
    """Visitors, sessions (by their first event) and conversions of the week, from the lake's rows."""
    settings = composition.settings
    table = ensure_events_table(load_lake_catalog(settings), settings)
    rows = scan_events(
        table, selected_fields=("visitor_key", "session_id", "event_time", "is_bot", "is_conversion")
    )
    humans = rows.filter(pc.invert(rows["is_bot"])).to_pylist()
    first = datetime.combine(now.date() - timedelta(days=WEEK - 1), datetime.min.time(), UTC)
    in_week = [r for r in humans if first <= r["event_time"] < first + timedelta(days=WEEK)]
    session_start: dict[str, datetime] = {}
    for r in humans:
        session_start[r["session_id"]] = min(
            session_start.get(r["session_id"], r["event_time"]), r["event_time"]
        )
    return {
        "visitors": len({r["visitor_key"] for r in in_week}),
        "sessions": sum(
            1 for start in session_start.values() if first <= start < first + timedelta(days=WEEK)
        ),
        "conversions": sum(1 for r in in_week if r["is_conversion"]),
    }


def _overview(composition: Composition, now: datetime) -> dict:  # type: ignore[type-arg]
    week = {"from": (now.date() - timedelta(days=WEEK - 1)).isoformat(), "to": now.date().isoformat()}
    return composition.analytics.answer("overview", week)


def _assert_agrees(answer: dict, lake: dict[str, int]) -> None:  # type: ignore[type-arg]
    kpis = answer["kpis"]
    assert kpis["sessions"]["value"] == lake["sessions"]
    assert kpis["conversions"]["value"] == lake["conversions"]
    tolerance = 3 * hll.STANDARD_ERROR * lake["visitors"]
    assert abs(kpis["visitors"]["value"] - lake["visitors"]) <= tolerance, (kpis["visitors"], lake)


@pytest.mark.parametrize("recomputed_by", ["read", "schedule"])
def test_after_a_backfill_the_overview_equals_the_lake(
    composition: Composition, monkeypatch: pytest.MonkeyPatch, recomputed_by: str
) -> None:
    # Reads recompute stale days at once, or never within the test (the schedule must do it).
    monkeypatch.setenv("ROLLUP_MIN_AGE_SECONDS", "0" if recomputed_by == "read" else "86400")
    now = datetime.now(UTC)
    writer = composition.lake_sink
    on_time = _week_of_events(now, visitors=120, seed=1)
    writer.append("shardId-000000000000", on_time, last_sequence="1000")
    before = _overview(composition, now)
    _assert_agrees(before, _lake_counts(composition, now))  # the rollups start out right

    # The backfill: more visitors across the whole week, arriving after the week was summarised,
    # in several commits from two shards (as late batches do).
    late = _week_of_events(now, visitors=400, seed=2)
    for index, start in enumerate(range(0, len(late), 300)):
        writer.append(
            f"shardId-00000000000{index % 2}", late[start : start + 300], last_sequence=str(2000 + index)
        )

    if recomputed_by == "schedule":
        stale = _overview(composition, now)
        assert stale["freshness"]["lagging_days"] > 0  # it says its numbers are behind
        composition.analytics.rollups.run_schedule()
    after = _overview(composition, now)
    lake = _lake_counts(composition, now)
    assert lake["sessions"] > before["kpis"]["sessions"]["value"]  # the backfill really added data
    _assert_agrees(after, lake)
    freshness = after["freshness"]
    assert freshness["lagging_days"] == 0 and freshness["partial"] is True
    assert freshness["data_as_of"] is not None
