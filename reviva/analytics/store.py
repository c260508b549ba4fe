"""Where the analytics layer keeps what it precomputes or imports: daily rollups and ad spend.

Small JSON objects under the `analytics/` prefix of the lake bucket in AWS (S3), or of a local
directory when the lake is a `file://` warehouse. One object per day of rollups keeps a write
independent of every other day, and a dashboard range reads one object per day.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, Protocol


class ObjectStore(Protocol):
    """Get and put small objects by key."""

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""
        ...

    def put(self, key: str, body: bytes) -> None:
        """Create or replace the object."""
        ...


class MemoryObjectStore:
    """Objects in a dict (tests)."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self.objects.get(key)

    def put(self, key: str, body: bytes) -> None:
        with self._lock:
            self.objects[key] = body


class DirectoryObjectStore:
    """Objects as files under a directory (a `file://` lake)."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def get(self, key: str) -> bytes | None:
        path = self._root / key
        return path.read_bytes() if path.exists() else None

    def put(self, key: str, body: bytes) -> None:
        path = self._root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_bytes(body)
        temporary.replace(path)  # atomic: a reader never sees half an object


class S3ObjectStore:
    """Objects in S3 under a prefix."""

    def __init__(self, client: Any, bucket: str, prefix: str = "analytics/") -> None:
        self._client = client
        self._bucket = bucket
        self._prefix = prefix

    def get(self, key: str) -> bytes | None:
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=self._prefix + key)
        except self._client.exceptions.NoSuchKey:
            return None
        body: bytes = response["Body"].read()
        return body

    def put(self, key: str, body: bytes) -> None:
        self._client.put_object(
            Bucket=self._bucket, Key=self._prefix + key, Body=body, ContentType="application/json"
        )


def get_json(store: ObjectStore, key: str) -> Any | None:
    """A JSON object, or None."""
    body = store.get(key)
    return json.loads(body) if body is not None else None


def put_json(store: ObjectStore, key: str, value: Any) -> None:
    """Store a JSON object."""
    store.put(key, json.dumps(value, separators=(",", ":"), sort_keys=True).encode())
