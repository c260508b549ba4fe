"""In-memory adapters for the analytics layer's ports (`reviva.analytics.ports`)."""

from __future__ import annotations

import threading


class MemoryObjectStore:
    """An `ObjectStore` keeping objects in a dict (`objects`, key → bytes) for assertions."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""
        with self._lock:
            return self.objects.get(key)

    def put(self, key: str, body: bytes) -> None:
        """Create or replace the object."""
        with self._lock:
            self.objects[key] = body
