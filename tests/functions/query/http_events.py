"""HTTP API (payload 2.0) events for the query function, as API Gateway hands them over."""

from __future__ import annotations

from typing import Any


def http_event(path: str, token: str | None = "test-admin-token", query: str = "") -> dict[str, Any]:
    """A GET of `path` (with `query`) bearing the admin `token` (none without one)."""
    headers = {"host": "localhost"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    params = dict(p.split("=", 1) for p in query.split("&")) if query else None
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "queryStringParameters": params,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "t",
            },
            "requestId": "r",
            "routeKey": "$default",
            "stage": "$default",
            "time": "24/Nov/2026:10:00:00 +0000",
            "timeEpoch": 0,
        },
        "isBase64Encoded": False,
    }
