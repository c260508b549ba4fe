"""Erasure Lambda: one step of the GDPR/CCPA erasure state machine (filled in by the privacy issue)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Validate an erasure step request; no store is erased yet, and the answer says so."""
    subject = event.get("subject_id")
    if not isinstance(subject, str) or not subject:
        raise ValueError("an erasure request needs a non-empty subject_id")
    logger.warning("erasure is not implemented yet", extra={"step": event.get("step")})
    return {"subject_id": subject, "status": "not_implemented"}
