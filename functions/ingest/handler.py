"""Ingest Lambda: the Segment HTTP Tracking API behind API Gateway (HTTP API, payload format 2.0).

Thin by design: Powertools routes every ingest path (POST and CORS preflight OPTIONS) to
`reviva.ingest.IngestService`, which does the work. Adapters (Kinesis publisher, rejected store)
are built on first use and cached for the container's life; tests, the local runtime and
benchmarks replace them with `set_adapters`.
"""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.metrics import MetricUnit

from reviva.ingest.publisher import EventPublisher, KinesisPublisher
from reviva.ingest.rejected import RejectedRepository, RejectedStore
from reviva.ingest.service import IngestConfig, IngestRequest, IngestResponse, IngestService
from reviva.origin_verify import came_through_origin, forbidden_response
from reviva.privacy.cookieless import DailySalt, MemorySaltStore, salt_store_from_settings
from reviva.settings import Settings, load_settings
from reviva.topology import INGEST_PATHS

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "reviva-ingest"))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "RevivaAnalytics"))
app = APIGatewayHttpResolver()

_injected: tuple[EventPublisher, RejectedStore] | None = None
_built: tuple[Settings, EventPublisher, RejectedStore] | None = None
_service: tuple[Settings, EventPublisher, RejectedStore, IngestService] | None = None


def set_adapters(publisher: EventPublisher | None, rejected_store: RejectedStore | None = None) -> None:
    """Use these adapters instead of AWS ones (tests, local runtime, benchmarks); None resets to AWS."""
    global _injected, _built, _service
    _injected = None if publisher is None or rejected_store is None else (publisher, rejected_store)
    _built = None
    _service = None


def _adapters(settings: Settings) -> tuple[EventPublisher, RejectedStore]:
    global _built
    if _injected is not None:
        return _injected
    if _built is None or _built[0] is not settings:
        from reviva.aws_clients import client
        from reviva.storage.tables import bind_tables

        bind_tables(settings)
        _built = (
            settings,
            KinesisPublisher(
                client("kinesis", settings),
                settings.events_stream,
                record_format=settings.stream_record_format,
            ),
            RejectedRepository(settings.hmac_key()),
        )
    return _built[1], _built[2]


def get_service() -> IngestService:
    """The service for the current settings, built once per container (rebuilt if settings are reloaded)."""
    global _service
    settings = load_settings()
    publisher, rejected_store = _adapters(settings)
    if (
        _service is None
        or _service[0] is not settings
        or _service[1] is not publisher
        or _service[2] is not rejected_store
    ):
        # The cookieless salt is shared through DynamoDB in AWS; injected adapters keep it in memory.
        salts = DailySalt(MemorySaltStore() if _injected is not None else salt_store_from_settings(settings))
        service = IngestService(IngestConfig.from_settings(settings), publisher, rejected_store, salts=salts)
        _service = (settings, publisher, rejected_store, service)
    return _service[3]


def _to_response(result: IngestResponse) -> Response[str]:
    body = None if result.body is None else json.dumps(result.body, separators=(",", ":"))
    return Response(
        status_code=result.status_code,
        content_type="application/json" if body is not None else None,
        body=body,
        headers=result.headers,
    )


def ingest() -> Response[str]:
    """Every ingest route: hand the request to the service and record what happened."""
    event = app.current_event
    request_context = event.get("requestContext") or {}
    request = IngestRequest(
        method=event.request_context.http.method,
        path=event.raw_path,
        headers=event.headers or {},
        body=event.get("body"),
        is_base64_encoded=bool(event.get("isBase64Encoded")),
        source_ip=(request_context.get("http") or {}).get("sourceIp"),
    )
    result = get_service().handle(request)
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
    return _to_response(result)


for _path in INGEST_PATHS:
    app.route(_path, method=["POST", "OPTIONS"])(ingest)


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
    # A bug, not bad input (the service answers bad input itself): say so without details.
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
    return app.resolve(event, context)
