"""The local API Gateway: real HTTP in, HTTP API v2 events to handlers, proxy responses out."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

from reviva.topology import FunctionSpec, RouteSpec
from reviva_dev.local.gateway import (
    FunctionInvoker,
    Gateway,
    GatewayServer,
    RouteMatch,
    RouteTable,
    body_is_binary,
    import_handler_resolver,
    proxy_response,
)

SPECS = (
    FunctionSpec("ingest", "tests.reviva_dev.local.handler_echo", memory_mb=256, timeout_seconds=10),
    FunctionSpec("query", "tests.reviva_dev.local.handler_powertools"),
    FunctionSpec("score", "tests.reviva_dev.local.handler_raises"),
    FunctionSpec("erasure", "tests.local.no_such_module"),
)
ROUTES = (
    RouteSpec("POST", "/v1/track", "ingest", "write_key"),
    RouteSpec("OPTIONS", "/v1/track", "ingest", "public"),
    RouteSpec("GET", "/raw-return", "ingest", "public"),
    RouteSpec("GET", "/malformed", "ingest", "public"),
    RouteSpec("POST", "/v1/batch", "query", "write_key"),
    RouteSpec("GET", "/v1/visitors/{visitor_id}", "query", "signed_in"),
    RouteSpec("GET", "/boom", "score", "public"),
    RouteSpec("GET", "/missing", "erasure", "public"),
)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<h1>dashboard</h1>")
    (tmp_path / "site" / "app.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("do not serve")
    return tmp_path / "site"


@pytest.fixture
def server(site: Path) -> Iterator[GatewayServer]:
    invoker = FunctionInvoker(import_handler_resolver(SPECS), SPECS)
    gateway_server = GatewayServer(Gateway(ROUTES, invoker, {"/dashboard/": site}), port=0)
    gateway_server.start()
    yield gateway_server
    gateway_server.stop()


def request(
    server: GatewayServer,
    method: str,
    target: str,
    body: bytes | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
    headers = headers or []
    if not any(name.lower() == "host" for name, _ in headers):
        headers = [("Host", f"127.0.0.1:{server.port}"), *headers]
    for name, value in headers:
        connection.putheader(name, value)
    if body is not None:
        connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response.status, response.headers, payload


def test_post_becomes_a_valid_http_api_v2_event(server: GatewayServer) -> None:
    body = json.dumps({"type": "track", "event": "Pricing Viewed"}).encode()
    status, headers, payload = request(
        server,
        "POST",
        "/v1/track?x=1&x=2&empty=&q=a%20b",
        body,
        [
            ("Content-Type", "application/json"),
            ("User-Agent", "pytest-agent/1.0"),
            ("X-Dup", "a"),
            ("X-Dup", "b"),
            ("Cookie", "ajs_anonymous_id=abc; consent=yes"),
            ("Host", "localhost:8000"),
        ],
    )
    assert status == 201
    assert headers["x-echo"] == "yes"
    assert headers.get_all("set-cookie") == ["seen=1; Path=/", "theme=dark; Path=/"]
    echoed = json.loads(payload)
    event: dict[str, Any] = echoed["event"]

    APIGatewayProxyEventV2Model.model_validate(event)
    parsed = APIGatewayProxyEventV2(event)
    assert parsed.version == "2.0"
    assert parsed.route_key == "POST /v1/track"
    assert parsed.raw_path == "/v1/track"
    assert parsed.raw_query_string == "x=1&x=2&empty=&q=a%20b"
    assert parsed.query_string_parameters == {"x": "1,2", "empty": "", "q": "a b"}
    assert parsed.cookies == ["ajs_anonymous_id=abc", "consent=yes"]
    assert "cookie" not in parsed.headers
    assert parsed.headers["x-dup"] == "a,b"
    assert parsed.headers["user-agent"] == "pytest-agent/1.0"
    assert parsed.headers["x-forwarded-for"] == "127.0.0.1"
    assert all(name == name.lower() for name in parsed.headers)
    assert parsed.path_parameters == {} and "pathParameters" not in event
    assert parsed.body == body.decode() and parsed.is_base64_encoded is False
    context = parsed.request_context
    assert context.http.method == "POST"
    assert context.http.path == "/v1/track"
    assert context.http.protocol == "HTTP/1.1"
    assert context.http.source_ip == "127.0.0.1"
    assert context.http.user_agent == "pytest-agent/1.0"
    assert context.stage == "$default"
    assert context.route_key == "POST /v1/track"
    assert context.domain_name == "localhost"
    assert context.account_id and context.api_id and context.request_id
    assert isinstance(context.time_epoch, int) and context.time
    assert headers["apigw-requestid"] == context.request_id

    lambda_context = echoed["context"]
    assert lambda_context["function_name"] == "reviva-ingest"
    assert lambda_context["memory_limit_in_mb"] == 256
    assert lambda_context["invoked_function_arn"].endswith(":function:reviva-ingest")
    assert 0 < lambda_context["remaining_ms"] <= 10_000
    assert lambda_context["aws_request_id"]


def test_powertools_resolver_reads_path_parameters_and_query(server: GatewayServer) -> None:
    status, _, payload = request(
        server,
        "GET",
        "/v1/visitors/a%3Avisitor-1?limit=5&tag=x&tag=y",
        headers=[("Authorization", "Bearer token"), ("Cookie", "a=1"), ("User-Agent", "ua")],
    )
    assert status == 200, payload
    assert json.loads(payload) == {
        "visitor_id": "a:visitor-1",
        "authorization": "Bearer token",
        "limit": "5",
        "tags": "x,y",
        "cookies": ["a=1"],
        "source_ip": "127.0.0.1",
        "user_agent": "ua",
        "route_key": "GET /v1/visitors/{visitor_id}",
        "stage": "$default",
    }


def test_gzip_body_is_passed_base64_encoded(server: GatewayServer) -> None:
    original = json.dumps({"batch": [{"type": "page"}] * 20}).encode()
    status, _, payload = request(
        server,
        "POST",
        "/v1/track",
        gzip.compress(original),
        [("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
    )
    assert status == 201
    event = json.loads(payload)["event"]
    assert event["isBase64Encoded"] is True
    assert gzip.decompress(base64.b64decode(event["body"])) == original


def test_text_plain_body_is_text_and_binary_is_base64(server: GatewayServer) -> None:
    beacon = b'{"writeKey":"k","batch":[]}'
    status, _, payload = request(
        server, "POST", "/v1/batch", beacon, [("Content-Type", "text/plain;charset=UTF-8")]
    )
    assert status == 200
    assert json.loads(payload) == {"base64": False, "decoded": beacon.decode()}

    status, _, payload = request(
        server, "POST", "/v1/track", b"\x00\xff\x10", [("Content-Type", "application/octet-stream")]
    )
    event = json.loads(payload)["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\xff\x10"


def test_unknown_path_is_404_and_wrong_method_is_405(server: GatewayServer) -> None:
    status, headers, payload = request(server, "GET", "/v1/nothing")
    assert status == 404 and json.loads(payload) == {"message": "Not Found"}
    assert headers["content-type"] == "application/json"

    status, headers, payload = request(server, "GET", "/v1/track")
    assert status == 405
    assert json.loads(payload) == {"message": "Method Not Allowed"}
    assert headers["allow"] == "OPTIONS, POST"


def test_options_route_reaches_its_function(server: GatewayServer) -> None:
    status, _, payload = request(server, "OPTIONS", "/v1/track", headers=[("Origin", "https://shop.example")])
    assert status == 201
    event = json.loads(payload)["event"]
    assert event["routeKey"] == "OPTIONS /v1/track" and "body" not in event


def test_unimportable_function_answers_502_and_the_server_keeps_serving(server: GatewayServer) -> None:
    status, _, payload = request(server, "GET", "/missing")
    assert status == 502
    error = json.loads(payload)
    assert error["function"] == "erasure"
    assert "tests.local.no_such_module" in error["error"]
    # The server is still up.
    status, _, _ = request(server, "POST", "/v1/track", b"{}", [("Content-Type", "application/json")])
    assert status == 201


def test_raising_handler_is_500_and_malformed_response_is_502(server: GatewayServer) -> None:
    status, _, payload = request(server, "GET", "/boom")
    assert status == 500 and json.loads(payload) == {"message": "Internal Server Error"}
    status, _, payload = request(server, "GET", "/malformed")
    assert status == 502 and "malformed" in json.loads(payload)["error"]


def test_non_proxy_return_value_is_a_json_200(server: GatewayServer) -> None:
    status, headers, payload = request(server, "GET", "/raw-return")
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(payload) == {"plain": True}


def test_static_mount_serves_files_and_refuses_traversal(server: GatewayServer) -> None:
    status, headers, payload = request(server, "GET", "/dashboard/")
    assert status == 200 and payload == b"<h1>dashboard</h1>"
    assert headers["content-type"].startswith("text/html")
    status, headers, payload = request(server, "GET", "/dashboard/app.js")
    assert status == 200 and payload == b"console.log(1)"
    status, headers, _ = request(server, "GET", "/dashboard")
    assert status == 301 and headers["location"] == "/dashboard/"
    status, _, payload = request(server, "GET", "/dashboard/../secret.txt")
    assert status == 404 and b"do not serve" not in payload
    status, _, payload = request(server, "GET", "/dashboard/%2e%2e/secret.txt")
    assert status == 404 and b"do not serve" not in payload


def test_most_specific_route_wins() -> None:
    table = RouteTable(
        [
            RouteSpec("GET", "/v1/visitors/{visitor_id}", "query", "signed_in"),
            RouteSpec("GET", "/v1/visitors/me", "query", "signed_in"),
            RouteSpec("GET", "/files/{path+}", "query", "public"),
        ]
    )
    found = table.match("GET", "/v1/visitors/me")
    assert isinstance(found, RouteMatch) and found.compiled.route.path == "/v1/visitors/me"
    found = table.match("GET", "/v1/visitors/a1")
    assert isinstance(found, RouteMatch) and found.path_parameters == {"visitor_id": "a1"}
    found = table.match("GET", "/files/a/b/c.txt")
    assert isinstance(found, RouteMatch) and found.path_parameters == {"path": "a/b/c.txt"}
    assert table.match("GET", "/v1/visitors/a/b") == []
    assert table.match("POST", "/v1/visitors/a") == ["GET"]


@pytest.mark.parametrize(
    ("headers", "body", "binary"),
    [
        ({"content-type": "application/json"}, b"{}", False),
        ({"content-type": "text/plain;charset=UTF-8"}, b"{}", False),
        ({"content-type": "application/vnd.api+json"}, b"{}", False),
        ({}, b"plain", False),
        ({"content-type": "application/json", "content-encoding": "gzip"}, b"\x1f\x8b", True),
        ({"content-type": "image/png"}, b"\x89PNG", True),
        ({"content-type": "application/json"}, b"\xff\xfe", True),
    ],
)
def test_body_is_binary(headers: dict[str, str], body: bytes, binary: bool) -> None:
    assert body_is_binary(headers, body) is binary


def test_proxy_response_decodes_base64_and_multi_value_headers() -> None:
    response = proxy_response(
        {
            "statusCode": 200,
            "headers": {"content-type": "application/octet-stream"},
            "multiValueHeaders": {"x-many": ["1", "2"]},
            "body": base64.b64encode(b"\x00\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert response.status == 200 and response.body == b"\x00\x01"
    assert ("x-many", "1") in response.headers and ("x-many", "2") in response.headers


def test_stopping_closes_keep_alive_connections(site: Path) -> None:
    """A stopped gateway answers nothing more, not even on a connection a browser kept open."""
    invoker = FunctionInvoker(import_handler_resolver(SPECS), SPECS)
    gateway_server = GatewayServer(Gateway(ROUTES, invoker, {"/dashboard/": site}), port=0)
    gateway_server.start()
    connection = http.client.HTTPConnection("127.0.0.1", gateway_server.port, timeout=5)
    try:
        connection.request("GET", "/dashboard/index.html")
        first = connection.getresponse()
        assert first.status == 200 and first.read() == b"<h1>dashboard</h1>"
        assert not first.will_close, "HTTP/1.1 keeps the connection open"
        gateway_server.stop()
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            connection.request("GET", "/dashboard/index.html")
            connection.getresponse().read()
    finally:
        connection.close()
