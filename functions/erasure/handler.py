"""Erasure Lambda: one step of the GDPR/CCPA erasure state machine (filled in by the privacy issue).

It also runs the lake's scheduled tasks (`reviva.adapters.lake.scheduled_maintenance`): as the one function
allowed to delete from the lake, it is the one the schedules target.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from reviva.adapters.lake.scheduled_maintenance import run_scheduled_lake_task
from reviva.composition import current_composition

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Run a scheduled lake task, or validate an erasure step (no store is erased yet)."""
    if event.get("detail-type") == "Scheduled Event":
        return run_scheduled_lake_task(
            (event.get("detail") or {}).get("task"), current_composition().events_table, datetime.now(UTC)
        )
    subject = event.get("subject_id")
    if not isinstance(subject, str) or not subject:
        raise ValueError("an erasure request needs a non-empty subject_id")
    logger.warning("erasure is not implemented yet", extra={"step": event.get("step")})
    return {"subject_id": subject, "status": "not_implemented"}
