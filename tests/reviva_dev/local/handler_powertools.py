"""A test function built like ours: Powertools' HTTP API resolver reading the gateway's events."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

app = APIGatewayHttpResolver()


@app.get("/v1/visitors/<visitor_id>")
def visitor(visitor_id: str) -> dict[str, Any]:
    event: APIGatewayProxyEventV2 = app.current_event
    # The parser model validates the whole event shape; it raises on a malformed one.
    APIGatewayProxyEventV2Model.model_validate(event.raw_event)
    return {
        "visitor_id": visitor_id,
        "authorization": event.headers.get("authorization"),
        "limit": event.query_string_parameters.get("limit"),
        "tags": event.query_string_parameters.get("tag"),
        "cookies": event.cookies,
        "source_ip": event.request_context.http.source_ip,
        "user_agent": event.request_context.http.user_agent,
        "route_key": event.route_key,
        "stage": event.request_context.stage,
    }


@app.post("/v1/batch")
def batch() -> Response[dict[str, Any]]:
    event: APIGatewayProxyEventV2 = app.current_event
    return Response(
        status_code=200,
        content_type="application/json",
        body={"base64": event.is_base64_encoded, "decoded": event.decoded_body},
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
