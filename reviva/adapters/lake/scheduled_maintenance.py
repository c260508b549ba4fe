"""The lake's scheduled tasks, by the names `reviva.topology.SCHEDULES` gives them.

`lake-expiry` (every 5 minutes) expires old snapshots, `lake-maintenance` (hourly) expires and
compacts today's and yesterday's small files, `lake-orphans` (daily) deletes files no snapshot
references. The erasure function runs them (it is the lake's only deleter); each returns a small
summary that the function returns and logs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from reviva.adapters.lake.maintenance import (
    SNAPSHOT_RETENTION,
    expire_snapshots,
    remove_orphan_files,
    run_scheduled_maintenance,
)

if TYPE_CHECKING:
    from pyiceberg.table import Table

logger = logging.getLogger(__name__)

# A day old at least: younger unreferenced files may belong to a commit still in flight.
ORPHAN_AGE = timedelta(days=1)


def _lake_maintenance(table: Table, now: datetime) -> dict[str, Any]:
    result = run_scheduled_maintenance(table, now)
    summary = {
        "task": "lake-maintenance",
        "snapshots_expired": len(result.expiry.expired_snapshot_ids),
        "files_deleted": result.expiry.deleted_data_files
        + result.expiry.deleted_manifests
        + result.expiry.deleted_manifest_lists,
        "files_compacted": sum(c.files_rewritten for c in result.compactions),
        "files_written": sum(c.files_written for c in result.compactions),
        "stopped_for_time": result.stopped_for_time,
    }
    logger.info("lake maintenance done", extra=summary)
    return summary


def _lake_expiry(table: Table, now: datetime) -> dict[str, Any]:
    result = expire_snapshots(table, now - SNAPSHOT_RETENTION)
    summary = {
        "task": "lake-expiry",
        "snapshots_expired": len(result.expired_snapshot_ids),
        "files_deleted": result.deleted_data_files + result.deleted_manifests + result.deleted_manifest_lists,
    }
    logger.info("lake snapshot expiry done", extra=summary)
    return summary


def _lake_orphans(table: Table, now: datetime) -> dict[str, Any]:
    result = remove_orphan_files(table, now - ORPHAN_AGE)
    summary = {"task": "lake-orphans", "objects_listed": result.objects_listed, "deleted": result.deleted}
    logger.info("lake orphan removal done", extra=summary)
    return summary


SCHEDULED_LAKE_TASKS: dict[str, Callable[[Table, datetime], dict[str, Any]]] = {
    "lake-expiry": _lake_expiry,
    "lake-maintenance": _lake_maintenance,
    "lake-orphans": _lake_orphans,
}


def run_scheduled_lake_task(task: object, load_table: Callable[[], Table], now: datetime) -> dict[str, Any]:
    """Run the scheduled lake task named `task` on the table `load_table` returns, as of `now`.

    The table is loaded only once the task is known, so a misnamed schedule fails without touching
    the catalog.
    """
    run = SCHEDULED_LAKE_TASKS.get(task) if isinstance(task, str) else None
    if run is None:
        raise ValueError(f"unknown scheduled task {task!r}")
    return run(load_table(), now)
