"""Ingest Lambda: the Segment HTTP Tracking API behind API Gateway (HTTP API, payload format 2.0).

Thin by design: Powertools routes every ingest path (POST, CORS preflight OPTIONS, and other
methods to a 405) to the ingest endpoint (`reviva.api.ingest_http`), which hands the messages to
the domain's collector; refusals of a whole request are answered by one exception handler. The
endpoint and its adapters come from the composition root (`current_composition().ingest`), built
once per container; tests, the local runtime and benchmarks install their own composition.
"""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.metrics import MetricUnit

from reviva.api.ingest_http import IngestEndpoint, IngestRequest, IngestResponse, MethodNotAllowedError
from reviva.composition import current_composition
from reviva.ingest.errors import IngestError
from reviva.origin_verify import came_through_origin, forbidden_response
from reviva.settings import load_settings
from reviva.topology import CONSENT_PATH, INGEST_PATHS, TELEMETRY_PATH

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "reviva-ingest"))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "RevivaAnalytics"))
app = APIGatewayHttpResolver()

# Methods a browser or SDK might try on an ingest path: answered 405, not 404.
_OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE", "HEAD"]


def _endpoint() -> IngestEndpoint:
    endpoint: IngestEndpoint = app.context["ingest"]
    return endpoint


def _respond(result: IngestResponse) -> Response[str]:
    """Record what happened and turn the answer into Powertools' response."""
    metrics.add_metric(name="IngestRequests", unit=MetricUnit.Count, value=1)
    if result.accepted:
        metrics.add_metric(name="MessagesAccepted", unit=MetricUnit.Count, value=result.accepted)
    if result.rejected:
        metrics.add_metric(name="MessagesRejected", unit=MetricUnit.Count, value=result.rejected)
    if result.status_code >= 500:
        metrics.add_metric(name="IngestUnavailable", unit=MetricUnit.Count, value=1)
    if result.status_code >= 400 and result.body is not None:
        # Counts and request-level reasons only: per-message details stay in the rejected store.
        logger.info(
            "ingest answered %d",
            result.status_code,
            extra={
                "error": result.body.get("error"),
                "reason": result.body.get("reason"),
                "rejected": result.rejected,
            },
        )
    body = None if result.body is None else json.dumps(result.body, separators=(",", ":"))
    return Response(
        status_code=result.status_code,
        content_type="application/json" if body is not None else None,
        body=body,
        headers=result.headers,
    )


def _current_request() -> IngestRequest:
    """The API Gateway event being handled, as the ingest endpoint reads a request."""
    event = app.current_event
    return IngestRequest(
        method=event.request_context.http.method,
        path=event.raw_path,
        headers=event.headers or {},
        body=event.get("body"),
        is_base64_encoded=bool(event.get("isBase64Encoded")),
        source_ip=((event.get("requestContext") or {}).get("http") or {}).get("sourceIp"),
    )


def post_messages() -> Response[str]:
    """POST to any ingest path: collect the request's messages."""
    return _respond(_endpoint().post(_current_request()))


def preflight() -> Response[str]:
    """OPTIONS: the CORS preflight."""
    return _respond(_endpoint().preflight(app.current_event.headers or {}))


def telemetry() -> Response[str]:
    """POST to the telemetry path: analytics.js's own metrics, accepted and dropped."""
    return _respond(_endpoint().telemetry(app.current_event.headers or {}))


def record_consent() -> Response[str]:
    """POST to the consent path: store one consent decision."""
    return _respond(_endpoint().record_consent(_current_request()))


def wrong_method() -> Response[str]:
    """Any other method on an ingest path."""
    raise MethodNotAllowedError(f"{app.current_event.request_context.http.method} is not allowed; use POST")


for _path in INGEST_PATHS:
    for _rule in (_path, _path + "/"):  # a trailing slash is tolerated, as Segment does
        app.route(_rule, method="POST")(post_messages)
        app.route(_rule, method="OPTIONS")(preflight)
        app.route(_rule, method=_OTHER_METHODS)(wrong_method)
app.route(CONSENT_PATH, method="POST")(record_consent)
app.route(CONSENT_PATH, method="OPTIONS")(preflight)
app.route(CONSENT_PATH, method=_OTHER_METHODS)(wrong_method)
app.route(TELEMETRY_PATH, method="POST")(telemetry)
app.route(TELEMETRY_PATH, method="OPTIONS")(preflight)
app.route(TELEMETRY_PATH, method=_OTHER_METHODS)(wrong_method)


@app.exception_handler(IngestError)
def _refused(error: IngestError) -> Response[str]:
    """Every request refused as a whole is answered here."""
    return _respond(_endpoint().refusal(error, app.current_event.headers or {}))


@app.not_found
def _not_found(_: Exception) -> Response[str]:
    metrics.add_metric(name="IngestNotFound", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=404,
        content_type="application/json",
        body=json.dumps({"success": False, "error": "not_found", "reason": "not an ingest path"}),
    )


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response[str]:
    # A bug, not bad input (bad input is an IngestError or a rejected message): say so without details.
    logger.exception("unexpected ingest failure")
    return Response(
        status_code=500,
        content_type="application/json",
        body=json.dumps({"success": False, "error": "internal_error"}),
    )


@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (API Gateway HTTP API, payload format 2.0)."""
    request_id = (event.get("requestContext") or {}).get("requestId")
    if request_id:
        logger.append_keys(request_id=request_id)
    # Before routing: a request sent to the API's own host skipped CloudFront's WAF, whatever its path.
    # The secret is read once per container (load_settings); unset locally, so nothing is checked there.
    if not came_through_origin(event.get("headers"), load_settings().origin_verify_secret):
        metrics.add_metric(name="IngestBypassedEdge", unit=MetricUnit.Count, value=1)
        return forbidden_response()
    app.append_context(ingest=current_composition().ingest)
    return app.resolve(event, context)
