"""The lake bucket's S3 requests, seen where the emulator's HTTP server receives them.

pyarrow writes Iceberg files through its own C++ S3 client, which botocore never sees, so the
requests are taken by a WSGI middleware in front of the emulator's app: `S3RequestCounter` counts
one bucket's requests by price tier (`Emulator.wrap_app(lambda app: S3RequestCounter(app, bucket))`),
`RequestLog` keeps every request for a test to count from a mark. Both price a request by
`s3_price_tier`.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def s3_price_tier(method: str, path: str, query: str) -> str:
    """S3's price class of a path-style request: "tier1" is PUT, COPY, POST and LIST (a GET of a
    bucket), "tier2" is GET and HEAD of an object, "free" is DELETE."""
    is_object = path.strip("/").count("/") >= 1
    if method in ("PUT", "POST") or (method == "GET" and (not is_object or "list-type" in query)):
        return "tier1"
    if method in ("GET", "HEAD"):
        return "tier2"
    return "free"


class S3RequestCounter:
    """WSGI middleware counting one bucket's requests by S3 pricing tier and by method.

    "tier1" is PUT, COPY, POST and LIST; "tier2" is GET and HEAD of an object; "free" is DELETE.
    Counts only while `enabled`.
    """

    def __init__(self, app: WSGIApplication, bucket: str) -> None:
        self.app = app
        self.prefix = f"/{bucket}"
        self.counts: Counter[str] = Counter()
        self.bytes_put = 0
        self.enabled = False
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if self.enabled and (path == self.prefix or path.startswith(self.prefix + "/")):
            method = environ.get("REQUEST_METHOD", "GET")
            kind = s3_price_tier(method, path, environ.get("QUERY_STRING", ""))
            with self._lock:
                self.counts[kind] += 1
                self.counts[f"{method}"] += 1
                if method == "PUT":
                    self.bytes_put += int(
                        environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH") or environ.get("CONTENT_LENGTH") or 0
                    )
        return self.app(environ, start_response)


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the emulator received it."""

    method: str
    path: str
    query: str
    target: str  # X-Amz-Target of JSON APIs (Glue), "" for S3

    @property
    def s3_tier(self) -> str:
        """S3's price class of the request (`s3_price_tier`)."""
        return s3_price_tier(self.method, self.path, self.query)


class RequestLog:
    """WSGI middleware recording every request the emulator receives, so tests can count them."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = RecordedRequest(
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            environ.get("HTTP_X_AMZ_TARGET", ""),
        )
        with self._lock:
            self.requests.append(request)
        return self.app(environ, start_response)

    def mark(self) -> int:
        """A position to count from."""
        with self._lock:
            return len(self.requests)

    def since(self, mark: int, bucket: str | None = None) -> list[RecordedRequest]:
        """Requests after `mark`: S3 ones for `bucket` only (with a bucket), else all."""
        with self._lock:
            recent = self.requests[mark:]
        if bucket is None:
            return recent
        return [
            r for r in recent if not r.target and (r.path == f"/{bucket}" or r.path.startswith(f"/{bucket}/"))
        ]
