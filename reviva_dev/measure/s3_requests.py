"""The lake bucket's S3 requests, counted where the emulator's HTTP server receives them.

pyarrow writes Iceberg files through its own C++ S3 client, which botocore never sees, so the
requests are counted by a WSGI middleware in front of the emulator's app
(`Emulator.wrap_app(lambda app: S3RequestCounter(app, bucket))`).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


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
            query = environ.get("QUERY_STRING", "")
            is_object = path.startswith(self.prefix + "/") and len(path) > len(self.prefix) + 1
            if method in ("PUT", "POST") or (method == "GET" and (not is_object or "list-type" in query)):
                kind = "tier1"
            elif method in ("GET", "HEAD"):
                kind = "tier2"
            else:
                kind = "free"
            with self._lock:
                self.counts[kind] += 1
                self.counts[f"{method}"] += 1
                if method == "PUT":
                    self.bytes_put += int(
                        environ.get("HTTP_X_AMZ_DECODED_CONTENT_LENGTH") or environ.get("CONTENT_LENGTH") or 0
                    )
        return self.app(environ, start_response)
