"""Score Lambda: scheduled retraining and scoring (filled in by the intelligence issue).

Until then it answers schedule events honestly: it says that no model task ran.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()

KNOWN_TASKS = frozenset({"retrain", "score"})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Accept a schedule event naming a task; report that no model task is implemented yet."""
    task = str(event.get("task") or (event.get("detail") or {}).get("task") or "")
    if task not in KNOWN_TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {sorted(KNOWN_TASKS)}")
    logger.warning("model tasks are not implemented yet", extra={"task": task})
    return {"task": task, "status": "not_implemented"}
