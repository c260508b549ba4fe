"""Query Lambda: the dashboard's and operators' read API (HTTP API, payload format 2.0)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext

from reviva.api.auth import AuthenticationRequired, NotPermitted
from reviva.api.query_routes import router
from reviva.composition import query_adapters

logger = Logger()
app = APIGatewayHttpResolver()
app.include_router(router)


@app.exception_handler(AuthenticationRequired)
def _unauthenticated(error: AuthenticationRequired) -> Response:
    return Response(401, content_types.APPLICATION_JSON, {"error": "unauthorized", "reason": str(error)})


@app.exception_handler(NotPermitted)
def _forbidden(error: NotPermitted) -> Response:
    return Response(403, content_types.APPLICATION_JSON, {"error": "forbidden", "reason": str(error)})


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Route one request."""
    app.append_context(adapters=query_adapters())
    return app.resolve(event, context)
