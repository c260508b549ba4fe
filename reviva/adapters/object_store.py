"""Object stores for the analytics layer's small JSON objects (`reviva.analytics.ports.ObjectStore`).

S3 under the `analytics/` prefix of the lake bucket in AWS; files under a directory when the lake is
a `file://` warehouse.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class DirectoryObjectStore:
    """Objects as files under a directory (a `file://` lake)."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""
        path = self._root / key
        return path.read_bytes() if path.exists() else None

    def put(self, key: str, body: bytes) -> None:
        """Create or replace the object."""
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
        """The object's bytes, or None when there is none."""
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=self._prefix + key)
        except self._client.exceptions.NoSuchKey:
            return None
        body: bytes = response["Body"].read()
        return body

    def put(self, key: str, body: bytes) -> None:
        """Create or replace the object."""
        self._client.put_object(
            Bucket=self._bucket, Key=self._prefix + key, Body=body, ContentType="application/json"
        )
