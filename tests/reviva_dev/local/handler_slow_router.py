"""A test function built like ingest: Powertools' resolver, a route that reads `app.current_event`
after other invocations had time to start (as ingest does after validating a body)."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.api_gateway import Router

app = APIGatewayHttpResolver()
router = Router()


@app.post("/slow/<name>")
def slow(name: str) -> dict[str, Any]:
    time.sleep(0.05)
    return {
        "name": name,
        "body": app.current_event.decoded_body,
        "request_id": app.lambda_context.aws_request_id,
    }


@router.get("/routed/<name>")
def routed(name: str) -> dict[str, Any]:
    time.sleep(0.05)
    return {"name": name, "path": router.current_event.path}


app.include_router(router)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
