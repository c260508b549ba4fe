"""Refuse API requests that did not come through CloudFront (and so bypassed its WAF).

CloudFront adds a secret header to every request it forwards to the API (infra/components/edge.py);
the API's own host (execute-api, or a custom domain) is reachable by anyone who knows it, and only
CloudFront knows the secret. The value comes from Secrets Manager through the settings, once per
cold start. Locally no secret is configured and nothing is checked.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any

# Lower case: API Gateway's payload format 2.0 lower-cases header names.
ORIGIN_VERIFY_HEADER = "x-reviva-origin-verify"


def header_value(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A request header's value by case-insensitive name (HTTP header names are case-insensitive)."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def came_through_origin(headers: Mapping[str, str] | None, expected_secret: str) -> bool:
    """Whether the request carries CloudFront's secret; always true when no secret is configured."""
    if not expected_secret:
        return True
    presented = header_value(headers, ORIGIN_VERIFY_HEADER)
    if presented is None:
        return False
    # Constant time: how many leading characters matched must not show in the response time.
    return hmac.compare_digest(presented.encode("utf-8"), expected_secret.encode("utf-8"))


def forbidden_response() -> dict[str, Any]:
    """The HTTP API (payload 2.0) response for a request that bypassed CloudFront."""
    return {
        "statusCode": 403,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"success": False, "error": "forbidden", "reason": "not through the site's edge"}),
    }
