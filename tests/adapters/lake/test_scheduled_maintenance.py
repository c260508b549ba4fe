"""The scheduled lake tasks by name, without the function around them, on a local lake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyiceberg.table import Table

from reviva.adapters.lake import ensure_events_table, load_lake_catalog
from reviva.adapters.lake.maintenance import SNAPSHOT_RETENTION
from reviva.adapters.lake.scheduled_maintenance import SCHEDULED_LAKE_TASKS, run_scheduled_lake_task
from reviva.settings import Settings, reset_settings_cache
from reviva.topology import SCHEDULES
from tests.adapters.lake.conftest import make_event, writer_for
from tests.local_lake import use_local_lake


@pytest.fixture
def local_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    use_local_lake(tmp_path, monkeypatch)
    yield Settings()
    reset_settings_cache()


def test_every_lake_schedule_names_a_task_and_every_task_has_a_schedule() -> None:
    scheduled = {s.payload["task"] for s in SCHEDULES if s.payload.get("task", "").startswith("lake-")}
    assert scheduled == set(SCHEDULED_LAKE_TASKS)


def test_an_unknown_task_is_refused_before_the_table_is_loaded() -> None:
    def load_table() -> Table:
        raise AssertionError("the table must not be loaded for an unknown task")

    with pytest.raises(ValueError, match="unknown scheduled task"):
        run_scheduled_lake_task("defragment", load_table, datetime.now(UTC))
    with pytest.raises(ValueError, match="unknown scheduled task"):
        run_scheduled_lake_task(None, load_table, datetime.now(UTC))


def test_expiry_runs_against_the_clock_it_is_given(local_lake: Settings) -> None:
    catalog = load_lake_catalog(local_lake)
    ensure_events_table(catalog, local_lake)
    writer = writer_for(catalog, local_lake)
    for batch in range(3):
        writer.append("shardId-000000000000", [make_event(batch)], str(batch + 1))

    def load_table() -> Table:
        return ensure_events_table(load_lake_catalog(local_lake), local_lake)

    now = datetime.now(UTC)
    assert run_scheduled_lake_task("lake-expiry", load_table, now) == {
        "task": "lake-expiry",
        "snapshots_expired": 0,
        "files_deleted": 0,
    }
    aged = run_scheduled_lake_task("lake-expiry", load_table, now + SNAPSHOT_RETENTION * 2)
    assert aged["snapshots_expired"] == 2
    assert len(load_table().snapshots()) == 1
