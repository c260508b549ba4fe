"""Erasure Lambda: one step of the GDPR/CCPA erasure state machine (filled in by the privacy issue),
and the lake's scheduled maintenance (snapshot expiry every 5 minutes, compaction hourly, orphan
files daily): the one function allowed to delete from the lake."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from reviva.composition import current_composition
from reviva.lake.maintenance import (
    SNAPSHOT_RETENTION,
    expire_snapshots,
    remove_orphan_files,
    run_scheduled_maintenance,
)

logger = Logger()

ORPHAN_AGE = timedelta(days=1)


def _lake_maintenance() -> dict[str, Any]:
    result = run_scheduled_maintenance(current_composition().events_table(), datetime.now(UTC))
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


def _lake_expiry() -> dict[str, Any]:
    result = expire_snapshots(current_composition().events_table(), datetime.now(UTC) - SNAPSHOT_RETENTION)
    summary = {
        "task": "lake-expiry",
        "snapshots_expired": len(result.expired_snapshot_ids),
        "files_deleted": result.deleted_data_files + result.deleted_manifests + result.deleted_manifest_lists,
    }
    logger.info("lake snapshot expiry done", extra=summary)
    return summary


def _lake_orphans() -> dict[str, Any]:
    # A day old at least: younger unreferenced files may belong to a commit still in flight.
    result = remove_orphan_files(current_composition().events_table(), datetime.now(UTC) - ORPHAN_AGE)
    summary = {"task": "lake-orphans", "objects_listed": result.objects_listed, "deleted": result.deleted}
    logger.info("lake orphan removal done", extra=summary)
    return summary


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Run the scheduled lake maintenance, or validate an erasure step (no store is erased yet)."""
    if event.get("detail-type") == "Scheduled Event":
        task = (event.get("detail") or {}).get("task")
        if task == "lake-expiry":
            return _lake_expiry()
        if task == "lake-maintenance":
            return _lake_maintenance()
        if task == "lake-orphans":
            return _lake_orphans()
        raise ValueError(f"unknown scheduled task {task!r}")
    subject = event.get("subject_id")
    if not isinstance(subject, str) or not subject:
        raise ValueError("an erasure request needs a non-empty subject_id")
    logger.warning("erasure is not implemented yet", extra={"step": event.get("step")})
    return {"subject_id": subject, "status": "not_implemented"}
