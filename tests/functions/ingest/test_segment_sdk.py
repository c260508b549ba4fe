"""Segment's own Python library talks to the ingest handler unchanged (Basic auth, writeKey, gzip, sentAt)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import segment.analytics as analytics

import functions.ingest.handler as handler_module
from reviva.composition import use_composition
from reviva.privacy import pseudonymize, pseudonymize_user_id
from reviva.settings import load_settings
from reviva_dev.fakes.ingest import FakePublisher, FakeRejectedStore
from tests.ingest.harness import WRITE_KEY, fake_composition

# A server SDK aliases the browser's anonymousId (a UUID, as analytics.js makes it) to a user id.
BROWSER_ID = "5b2c1f4e-8a43-4d0b-9e61-2f7c3a9d0e18"


class _ApiGatewayShim(BaseHTTPRequestHandler):
    """Turns a real HTTP request into an HTTP API v2 event, as API Gateway would, and calls the handler."""

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        event = {
            "version": "2.0",
            "routeKey": f"POST {self.path}",
            "rawPath": self.path,
            "rawQueryString": "",
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "requestContext": {
                "http": {"method": "POST", "path": self.path, "sourceIp": self.client_address[0]},
                "requestId": "sdk-test",
                "routeKey": f"POST {self.path}",
                "stage": "$default",
            },
            "body": base64.b64encode(body).decode(),
            "isBase64Encoded": True,
        }
        response = handler_module.handler(event, None)
        payload = response["body"].encode()
        self.send_response(response["statusCode"])
        for name, value in response.get("headers", {}).items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ApiGatewayShim)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("use_gzip", [False, True])
def test_segment_python_library_is_accepted(endpoint: str, use_gzip: bool) -> None:
    publisher, rejected = FakePublisher(), FakeRejectedStore()
    errors: list[Any] = []
    with use_composition(fake_composition(publisher, rejected)):
        client = analytics.Client(
            WRITE_KEY, host=endpoint, sync_mode=True, gzip=use_gzip, on_error=lambda e, b: errors.append(e)
        )
        client.identify(
            "cust-7", {"email": "maria@example.com", "phone": "+351 913 000 111"}, anonymous_id="anon-7"
        )
        client.track(
            "cust-7", "Booking Submitted", {"revenue": 89.5, "service": "battery"}, anonymous_id="anon-7"
        )
        client.page(
            "cust-7", category="Docs", name="Pricing", properties={"path": "/pricing"}, anonymous_id="anon-7"
        )
        client.alias(BROWSER_ID, "cust-7")
        client.group("cust-7", "acme", {"name": "Acme"})
        client.screen("cust-7", name="Home", anonymous_id="anon-7")
        client.flush()
    assert errors == [] and rejected.rejections == []
    events = publisher.events
    assert [e.type for e in events] == ["identify", "track", "page", "alias", "group", "screen"]
    key = load_settings().hmac_key()
    identify = events[0]
    assert identify.user_id == pseudonymize_user_id("cust-7", key)
    assert identify.traits["email"] == pseudonymize("maria@example.com", key)
    assert identify.visitor_key == "a:anon-7"
    assert identify.ip_truncated == "127.0.0.0"
    # The SDK's User-Agent header names the SDK, not the visitor's device.
    assert identify.user_agent is None
    assert identify.context["library"]["name"] == "analytics-python"
    assert events[1].properties == {"revenue": 89.5, "service": "battery"}
    assert events[3].previous_anonymous_id == BROWSER_ID and events[4].group_id == "acme"
    assert all(abs((e.received_at - e.timestamp).total_seconds()) < 60 for e in events)
    assert all(b"maria@" not in record and b"913 000 111" not in record for record in publisher.records)
    assert json.loads(publisher.records[1])["event"] == "Booking Submitted"
