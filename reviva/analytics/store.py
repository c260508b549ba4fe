"""Where the analytics layer keeps what it precomputes or imports: daily rollups and ad spend.

Small JSON objects in an `ObjectStore` (reviva.analytics.ports): under the `analytics/` prefix of
the lake bucket in AWS, or of a local directory when the lake is a `file://` warehouse (adapters in
reviva.adapters.object_store; an in-memory one for tests in reviva_dev.fakes.analytics). One object
per day of rollups keeps a write independent of every other day, and a dashboard range reads one
object per day.
"""

from __future__ import annotations

import json
from typing import Any

from reviva.analytics.ports import ObjectStore


def get_json(store: ObjectStore, key: str) -> Any | None:
    """A JSON object, or None."""
    body = store.get(key)
    return json.loads(body) if body is not None else None


def put_json(store: ObjectStore, key: str, value: Any) -> None:
    """Store a JSON object."""
    store.put(key, json.dumps(value, separators=(",", ":"), sort_keys=True).encode())
