"""Query Lambda: the dashboard's and operators' read API (HTTP API, payload format 2.0)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.utilities.typing import LambdaContext

from reviva.analytics.errors import InvalidParameter, QueryFailed, QueryTimeout, UnknownItem
from reviva.api import analytics_routes, query_routes
from reviva.api.auth import AuthenticationRequired, NotPermitted
from reviva.api.routing import topology_router
from reviva.composition import current_composition
from reviva.origin_verify import came_through_origin, forbidden_response
from reviva.settings import load_settings

logger = Logger()
app = APIGatewayHttpResolver()
# Every route the topology gives this function, each behind the roles it declares there.
app.include_router(topology_router("query", {**query_routes.HANDLERS, **analytics_routes.HANDLERS}))


@app.exception_handler(InvalidParameter)
def _bad_parameter(error: InvalidParameter) -> Response:
    body = {"error": "bad_request", "parameter": error.parameter, "reason": error.reason}
    return Response(400, content_types.APPLICATION_JSON, body)


@app.exception_handler(UnknownItem)
def _unknown_item(error: UnknownItem) -> Response:
    body = {"error": "not_found", "parameter": error.parameter, "reason": error.reason}
    return Response(404, content_types.APPLICATION_JSON, body)


@app.exception_handler(QueryTimeout)
def _query_timeout(error: QueryTimeout) -> Response:
    body = {
        "error": "query_timeout",
        "reason": error.reason,
        "retry_after_seconds": error.retry_after_seconds,
    }
    headers = {"Retry-After": str(error.retry_after_seconds)}
    return Response(504, content_types.APPLICATION_JSON, body, headers=headers)


@app.exception_handler(QueryFailed)
def _query_failed(error: QueryFailed) -> Response:
    logger.exception("analytics query failed")
    return Response(500, content_types.APPLICATION_JSON, {"error": "query_failed", "reason": str(error)})


@app.exception_handler(AuthenticationRequired)
def _unauthenticated(error: AuthenticationRequired) -> Response:
    return Response(401, content_types.APPLICATION_JSON, {"error": "unauthorized", "reason": str(error)})


@app.exception_handler(NotPermitted)
def _forbidden(error: NotPermitted) -> Response:
    return Response(403, content_types.APPLICATION_JSON, {"error": "forbidden", "reason": str(error)})


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response:
    if isinstance(error, ServiceError):  # a route's own HTTP answer (404, 400): Powertools' shape
        body = {"statusCode": error.status_code, "message": error.msg}
        return Response(error.status_code, content_types.APPLICATION_JSON, body)
    # A defect, never the request's fault (bad input is a 4xx above): logged with its traceback,
    # answered as JSON that names no internals, so the dashboard can show it and nothing leaks.
    logger.exception("query request failed unexpectedly", extra={"error": type(error).__name__})
    body = {"error": "internal_error", "reason": "the request failed on our side; it is logged"}
    return Response(500, content_types.APPLICATION_JSON, body)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Route one request (or run the scheduled analytics rollup)."""
    if event.get("detail-type") == "Scheduled Event":
        task = (event.get("detail") or {}).get("task")
        if task == "rollup":
            return current_composition().analytics.rollups.run_schedule()
        raise ValueError(f"unknown scheduled task {task!r}")
    # A request sent to the API's own host skipped CloudFront's WAF: refused, except the health check
    # (monitors call the API directly; it reveals nothing). Unset locally, so nothing is checked there.
    path = (event.get("requestContext") or {}).get("http", {}).get("path") or event.get("rawPath")
    if path != "/health" and not came_through_origin(
        event.get("headers"), load_settings().origin_verify_secret
    ):
        logger.warning("request bypassed the edge", extra={"path": path})
        return forbidden_response()
    app.append_context(adapters=current_composition().query)
    return app.resolve(event, context)
