"""In-memory adapters for the analytics layer's ports (`reviva.analytics.ports`)."""

from __future__ import annotations

import threading
import time

from reviva.analytics.ports import ObjectStore


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


class SlowObjectStore:
    """An `ObjectStore` in front of another, each request taking `latency_seconds` (as S3's round
    trips do), and counting the most requests it ever had in flight at once."""

    def __init__(self, inner: ObjectStore, latency_seconds: float) -> None:
        self._inner = inner
        self._latency = latency_seconds
        self._lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0
        self.requests = 0

    def _request(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.requests += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        time.sleep(self._latency)
        with self._lock:
            self._in_flight -= 1

    def get(self, key: str) -> bytes | None:
        """The inner store's object, after the latency."""
        self._request()
        return self._inner.get(key)

    def put(self, key: str, body: bytes) -> None:
        """Store in the inner store, after the latency."""
        self._request()
        self._inner.put(key, body)
