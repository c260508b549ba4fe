"""Who is calling the dashboard API, and may they?

In AWS an HTTP API JWT authorizer (Cognito) has already verified the token; its claims carry the
caller's groups. Locally, and for operators' scripts, the admin token as a bearer token grants the
admin role. Roles: admin (everything), marketing (analytics), compliance (privacy requests).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from reviva.topology import ROLES, Role


class AuthenticationRequired(Exception):
    """No valid credentials: 401."""


class NotPermitted(Exception):
    """Valid credentials without the needed role: 403."""


def _groups_from_claims(claims: Mapping[str, Any]) -> set[str]:
    raw = claims.get("cognito:groups", "")
    if isinstance(raw, list):
        return {str(g) for g in raw}
    # HTTP API passes list claims as "[admin marketing]" strings.
    return {g for g in str(raw).strip("[]").replace(",", " ").split() if g}


def _same_secret(given: str, expected: str) -> bool:
    """Constant-time equality of any text: compare_digest refuses a `str` with non-ASCII characters,
    so both sides are compared as bytes (a lone surrogate kept as its code point, never an error)."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def caller_roles(
    headers: Mapping[str, str], request_context: Mapping[str, Any], admin_token: str
) -> set[Role]:
    """The caller's roles, from JWT claims (AWS) or the admin bearer token (local)."""
    claims = ((request_context.get("authorizer") or {}).get("jwt") or {}).get("claims")
    if claims:
        return {r for r in ROLES if r in _groups_from_claims(claims)}
    authorization = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and admin_token and _same_secret(token.strip(), admin_token):
        return {"admin"}
    raise AuthenticationRequired("a bearer token is required")


def require_role(
    headers: Mapping[str, str], request_context: Mapping[str, Any], admin_token: str, allowed: Iterable[Role]
) -> set[Role]:
    """Raise unless the caller holds admin or one of `allowed`."""
    roles = caller_roles(headers, request_context, admin_token)
    if "admin" in roles or roles & set(allowed):
        return roles
    raise NotPermitted("this endpoint needs one of the roles: " + ", ".join(sorted({"admin", *allowed})))
