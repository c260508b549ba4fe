"""The lake-maintenance schedules through the erasure function's real handler, on a local lake."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.erasure.handler import handler
from reviva.adapters.lake import ensure_events_table, load_lake_catalog
from reviva.settings import Settings, reset_settings_cache
from reviva.topology import SCHEDULES
from reviva_dev.fakes.lambda_context import lambda_context
from reviva_dev.local.runtime import scheduled_event
from tests.adapters.lake.conftest import make_event, writer_for
from tests.local_lake import use_local_lake


@pytest.fixture
def local_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    use_local_lake(tmp_path, monkeypatch)
    yield Settings()
    reset_settings_cache()


def test_the_schedule_expires_snapshots_and_compacts_todays_small_files(local_lake: Settings) -> None:
    catalog = load_lake_catalog(local_lake)
    ensure_events_table(catalog, local_lake)
    writer = writer_for(catalog, local_lake)
    now = datetime.now(UTC).replace(microsecond=0)
    for batch in range(4):  # four enrich batches of today: four small files, four snapshots
        events = [make_event(batch * 5 + i, event_time=now - timedelta(minutes=30 - i)) for i in range(5)]
        writer.append("shardId-000000000000", events, str(batch * 5 + 4))

    schedule = next(s for s in SCHEDULES if s.logical_name == "lake-maintenance")
    assert schedule.function == "erasure"
    summary = handler(
        scheduled_event(schedule, region="us-east-1", now=now), lambda_context("erasure", 2048, 300_000)
    )

    # The snapshots are seconds old, younger than expiry keeps; compaction merges the files.
    assert summary["task"] == "lake-maintenance"
    assert summary["snapshots_expired"] == 0
    assert summary["files_compacted"] == 4 and summary["files_written"] == 1
    table = ensure_events_table(load_lake_catalog(local_lake), local_lake)
    assert len(table.scan().to_arrow()) == 20


def test_the_five_minute_schedule_expires_snapshots_older_than_the_retention(
    local_lake: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functions.erasure.handler as erasure_handler
    from reviva.adapters.lake.maintenance import SNAPSHOT_RETENTION

    catalog = load_lake_catalog(local_lake)
    ensure_events_table(catalog, local_lake)
    writer = writer_for(catalog, local_lake)
    for batch in range(3):
        writer.append("shardId-000000000000", [make_event(batch)], str(batch + 1))
    schedule = next(s for s in SCHEDULES if s.logical_name == "lake-expiry")
    assert (schedule.function, schedule.expression) == ("erasure", "rate(5 minutes)")
    context = lambda_context("erasure", 2048, 300_000)

    fresh = handler(scheduled_event(schedule, region="us-east-1"), context)
    assert fresh == {"task": "lake-expiry", "snapshots_expired": 0, "files_deleted": 0}

    later = datetime.now(UTC) + SNAPSHOT_RETENTION + timedelta(minutes=1)

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Later:  # type: ignore[override]
            return cls.fromtimestamp(later.timestamp(), tz)

    monkeypatch.setattr(erasure_handler, "datetime", Later)
    aged = handler(scheduled_event(schedule, region="us-east-1"), context)
    assert aged["snapshots_expired"] == 2, "all but the current snapshot"
    assert aged["files_deleted"] >= 2, "the expired snapshots' manifest lists"
    table = ensure_events_table(load_lake_catalog(local_lake), local_lake)
    assert len(table.snapshots()) == 1 and len(table.scan().to_arrow()) == 3
    assert table.properties["reviva.watermark.shardId-000000000000"] == "3"


def test_an_unknown_scheduled_task_is_refused(local_lake: Settings) -> None:
    event = {"detail-type": "Scheduled Event", "detail": {"task": "defragment"}}
    with pytest.raises(ValueError, match="unknown scheduled task"):
        handler(event, lambda_context("erasure", 2048, 300_000))


def test_the_daily_schedule_deletes_only_day_old_unreferenced_files(
    local_lake: Settings, tmp_path: Path
) -> None:
    catalog = load_lake_catalog(local_lake)
    table = ensure_events_table(catalog, local_lake)
    writer_for(catalog, local_lake).append("shardId-000000000000", [make_event(1)], "1")
    data_dir = Path(table.location().removeprefix("file://")) / "data"
    old_orphan, new_orphan = data_dir / "lost-commit.parquet", data_dir / "in-flight.parquet"
    for orphan in (old_orphan, new_orphan):
        orphan.parent.mkdir(parents=True, exist_ok=True)
        orphan.write_bytes(b"PAR1")
    two_days_ago = (datetime.now(UTC) - timedelta(days=2)).timestamp()
    os.utime(old_orphan, (two_days_ago, two_days_ago))

    schedule = next(s for s in SCHEDULES if s.logical_name == "lake-orphans")
    summary = handler(scheduled_event(schedule, region="us-east-1"), lambda_context("erasure", 2048, 300_000))

    assert summary["deleted"] == 1
    assert not old_orphan.exists() and new_orphan.exists()
    assert len(ensure_events_table(load_lake_catalog(local_lake), local_lake).scan().to_arrow()) == 1
