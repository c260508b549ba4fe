"""A local stand-in for API Gateway (HTTP API, payload format 2.0) in front of our handlers.

moto does not implement `AWS_PROXY` integrations, so the local runtime serves the routes itself:
each request is matched against the topology's routes, turned into the event API Gateway would
send, passed to the route's handler with a Lambda-like context, and the proxy response written
back. Routes and the way a function name becomes a handler are arguments, so tests can serve
their own handlers. Extra prefixes can serve static files (the tracker, demo and dashboard pages).
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import importlib.util
import json
import logging
import mimetypes
import re
import socket
import sys
import threading
import traceback
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

from reviva.topology import FUNCTIONS, FunctionSpec, RouteSpec
from reviva_dev.fakes.lambda_context import FakeLambdaContext
from reviva_dev.local.router_isolation import isolate_powertools_routers

logger = logging.getLogger("reviva_dev.local.gateway")

LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account
LOCAL_API_ID = "reviva-local"
# API Gateway's own payload limit for HTTP APIs.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
# How long the gateway waits for the next bytes of a request (its headers or body) before answering
# 408 and closing the connection; also how long an idle keep-alive connection is kept.
READ_TIMEOUT_SECONDS = 30.0
# A connection backlog for bursts of clients connecting at once (a load test's 64 and more).
LISTEN_BACKLOG = 1024
STATIC_METHODS = ("GET", "HEAD")
# RFC 9110's `token`: what a request method may be made of.
_METHOD_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_DIGITS = re.compile(r"[0-9]+")

Handler = Callable[[dict[str, Any], Any], Any]
HandlerResolver = Callable[[str], Handler]


class HandlerUnavailable(Exception):
    """A function's handler module cannot be imported (or has no `handler`)."""


# --------------------------------------------------------------------------- functions


def physical_function_name(spec: FunctionSpec) -> str:
    """The deployed name of a function, as the local stack calls it."""
    return f"reviva-{spec.name}"


def function_arn(spec: FunctionSpec, region: str, account_id: str = LOCAL_ACCOUNT_ID) -> str:
    """The ARN a function would have in the local account."""
    return f"arn:aws:lambda:{region}:{account_id}:function:{physical_function_name(spec)}"


def project_root() -> Path:
    """The repository root (holds `functions/`): beside the installed package, else the cwd."""
    package_parent = Path(__file__).resolve().parents[2]
    if (package_parent / "functions").is_dir():
        return package_parent
    return Path.cwd()


def import_handler_resolver(specs: Iterable[FunctionSpec] = FUNCTIONS) -> HandlerResolver:
    """Resolve a function name to `handler` in its module (e.g. `functions.ingest.handler`).

    The invoker calls a resolver once per execution environment it starts. As in Lambda, where each
    concurrent invocation runs in its own container, every environment gets its own copy of the
    handler module: module globals (Powertools' resolver holds the current event, a batch processor
    its records, Metrics its buffer) are never shared by two invocations running at once. The first
    environment uses the imported module itself; the others a fresh copy of it (its imports, the
    composition root and its adapters, are shared: they are built to be thread safe).

    A failed import is not remembered: the next request tries again, so fixing the code is
    enough (a restart is still needed to pick up changes of a module that did import).
    """
    modules: dict[str, str] = {spec.name: spec.handler_module for spec in specs}
    root = str(project_root())
    if root not in sys.path:
        sys.path.insert(0, root)

    def resolve(function_name: str) -> Handler:
        module_name = modules.get(function_name)
        if module_name is None:
            raise HandlerUnavailable(f"no function named {function_name!r} in the topology")
        try:
            module = _fresh_module_copy(module_name) if module_name in sys.modules else None
            if module is None:
                module = importlib.import_module(module_name)
        except Exception as error:
            raise HandlerUnavailable(f"cannot import {module_name}: {error!r}") from error
        handler = getattr(module, "handler", None)
        if not callable(handler):
            raise HandlerUnavailable(f"{module_name} has no callable `handler`")
        return handler  # type: ignore[no-any-return]

    return resolve


def _fresh_module_copy(module_name: str) -> ModuleType | None:
    """A new instance of an imported module, executed again, not registered in `sys.modules`."""
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _own_metric_buffers(module)
    return module


def _own_metric_buffers(module: ModuleType) -> None:
    """Give each Powertools `Metrics` of `module` a buffer of its own.

    Powertools keeps every `Metrics` instance's metrics in one class-wide dict (one container runs
    one invocation at a time, so that is safe in Lambda); copies of a module running at once would
    flush and clear each other's metrics.
    """
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

    for value in vars(module).values():
        if isinstance(value, Metrics) and isinstance(value.provider, AmazonCloudWatchEMFProvider):
            shared = value.provider
            value.metric_set, value.dimension_set, value.metadata_set = {}, dict(shared.dimension_set), {}
            value.provider = AmazonCloudWatchEMFProvider(
                namespace=shared.namespace,
                service=shared.service,
                metric_set=value.metric_set,
                dimension_set=value.dimension_set,
                metadata_set=value.metadata_set,
                default_dimensions=dict(shared.default_dimensions),
                function_name=shared.function_name,
            )


class _FunctionPool:
    """The execution environments of one function: at most `size` invocations run at once.

    An environment runs one invocation at a time and is reused (warm) by the next; a new one is
    started (a cold start: the resolver is called) only when every started one is busy. An
    invocation beyond `size` waits for a free environment, as Lambda's poller waits on throttles
    instead of failing the request.
    """

    def __init__(self, function_name: str, size: int, resolver: HandlerResolver) -> None:
        self.function_name = function_name
        self.size = size
        self._resolver = resolver
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[Handler] = []
        self._idle_lock = threading.Lock()

    def warm(self) -> None:
        """Start one environment ahead of the first invocation (raises HandlerUnavailable)."""
        with self._slots:
            handler = self._take()
            self._give_back(handler)

    @contextlib.contextmanager
    def environment(self) -> Iterator[Handler]:
        """A free environment's handler for the length of the block."""
        with self._slots:
            handler = self._take()
            try:
                yield handler
            finally:
                self._give_back(handler)

    def _take(self) -> Handler:
        with self._idle_lock:
            if self._idle:
                return self._idle.pop()
        return self._resolver(self.function_name)  # outside the lock: imports can be slow

    def _give_back(self, handler: Handler) -> None:
        with self._idle_lock:
            self._idle.append(handler)


# Concurrent invocations per function when its spec reserves none: enough for a load test's 64
# clients to keep every core busy without a thread per connection contending for the GIL.
DEFAULT_LOCAL_CONCURRENCY = 16


def local_concurrency(spec: FunctionSpec) -> int:
    """How many invocations of a function the local runtime runs at once."""
    return spec.reserved_concurrency or DEFAULT_LOCAL_CONCURRENCY


class FunctionInvoker:
    """Invokes handlers like Lambda would: concurrently, each invocation in its own environment.

    Each function has a bounded pool of execution environments (`local_concurrency`: the spec's
    reserved concurrency, else a default); an environment holds its own copy of the handler
    module (see `import_handler_resolver`) and runs one invocation at a time, so handler modules
    may keep per-invocation state in globals, as they may in Lambda.
    """

    def __init__(
        self,
        resolver: HandlerResolver,
        specs: Iterable[FunctionSpec] = FUNCTIONS,
        region: str = "us-east-1",
        account_id: str = LOCAL_ACCOUNT_ID,
        *,
        concurrency: Mapping[str, int] | None = None,
    ) -> None:
        # Handlers built on Powertools' resolver must not read each other's events.
        isolate_powertools_routers()
        self.resolver = resolver
        self.specs: dict[str, FunctionSpec] = {spec.name: spec for spec in specs}
        self.region = region
        self.account_id = account_id
        sizes = {name: local_concurrency(spec) for name, spec in self.specs.items()} | dict(concurrency or {})
        self._pools: dict[str, _FunctionPool] = {
            name: _FunctionPool(name, size, resolver) for name, size in sizes.items()
        }

    def concurrency(self, function_name: str) -> int:
        """At most how many invocations of the function run at once."""
        return self._pool(function_name).size

    def context_for(self, function_name: str) -> FakeLambdaContext:
        """A fresh context object for one invocation."""
        spec = self.specs.get(function_name)
        if spec is None:
            raise HandlerUnavailable(f"no function named {function_name!r} in the topology")
        return FakeLambdaContext(
            function_name=physical_function_name(spec),
            memory_limit_in_mb=spec.memory_mb,
            invoked_function_arn=function_arn(spec, self.region, self.account_id),
            aws_request_id=str(uuid.uuid4()),
            timeout_seconds=spec.timeout_seconds,
        )

    def warm(self, function_name: str) -> None:
        """Start one environment of the function now (a cold start); HandlerUnavailable if it cannot."""
        self._pool(function_name).warm()

    def invoke(self, function_name: str, event: dict[str, Any]) -> Any:
        """Call the function's handler; raises `HandlerUnavailable` or whatever the handler raised."""
        pool = self._pool(function_name)
        with pool.environment() as handler:
            return handler(event, self.context_for(function_name))

    def bind(self, function_name: str) -> Callable[[dict[str, Any]], Any]:
        """`invoke` for one function, as the stream pollers and schedulers take it."""
        return lambda event: self.invoke(function_name, event)

    def _pool(self, function_name: str) -> _FunctionPool:
        pool = self._pools.get(function_name)
        if pool is None:
            raise HandlerUnavailable(f"no function named {function_name!r} in the topology")
        return pool


# --------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class CompiledRoute:
    route: RouteSpec
    pattern: re.Pattern[str]
    literal_segments: int

    @property
    def route_key(self) -> str:
        return f"{self.route.method} {self.route.path}"


def compile_route(route: RouteSpec) -> CompiledRoute:
    """Turn "/v1/visitors/{visitor_id}" into a regex; "{name+}" is a greedy proxy parameter."""
    parts: list[str] = []
    literal_segments = 0
    for segment in route.path.strip("/").split("/"):
        match = re.fullmatch(r"\{([A-Za-z0-9_]+)(\+?)\}", segment)
        if match is None:
            parts.append(re.escape(segment))
            literal_segments += 1
        elif match.group(2):
            parts.append(f"(?P<{match.group(1)}>.+)")
        else:
            parts.append(f"(?P<{match.group(1)}>[^/]+)")
    pattern = re.compile("/" + "/".join(parts) if parts != [""] else "/")
    return CompiledRoute(route, pattern, literal_segments)


@dataclass(frozen=True)
class RouteMatch:
    compiled: CompiledRoute
    path_parameters: dict[str, str]


class RouteTable:
    """API Gateway's route selection: the most specific matching path wins."""

    def __init__(self, routes: Iterable[RouteSpec]) -> None:
        compiled = [compile_route(route) for route in routes]
        # More literal segments first, so "/v1/visitors/me" would beat "/v1/visitors/{id}".
        self.routes = sorted(compiled, key=lambda c: (-c.literal_segments, -len(c.route.path)))

    def match(self, method: str, path: str) -> RouteMatch | list[str]:
        """The route for `method path` (decoded), or the methods allowed on it ([] = unknown path)."""
        allowed: list[str] = []
        for compiled in self.routes:
            found = compiled.pattern.fullmatch(path)
            if found is None:
                continue
            if compiled.route.method == method:
                return RouteMatch(compiled, dict(found.groupdict()))
            allowed.append(compiled.route.method)
        return sorted(set(allowed))


# --------------------------------------------------------------------------- events

_TEXT_CONTENT_TYPES = re.compile(
    r"^(text/.*|application/(json|javascript|xml|x-www-form-urlencoded|[\w.+-]+\+json|[\w.+-]+\+xml))$"
)


def body_is_binary(headers: Mapping[str, str], body: bytes) -> bool:
    """Whether API Gateway would base64-encode this body: compressed, non-text or not UTF-8."""
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding and encoding != "identity":
        return True
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and not _TEXT_CONTENT_TYPES.match(content_type):
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def split_target(target: str) -> tuple[str, str]:
    """Path and query of a request target, as HTTP APIs deliver them.

    HTTP APIs put the path percent-decoded in `rawPath` (and route on it) but keep the query string
    encoded in `rawQueryString`; REST APIs and function URLs differ, handlers must not assume more.
    """
    path, _, query = target.partition("?")
    return urllib.parse.unquote(path), query


@dataclass(frozen=True)
class IncomingRequest:
    """What the gateway needs of an HTTP request, independent of the server library."""

    method: str
    target: str  # path and query exactly as sent
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"


def build_http_api_event(
    request: IncomingRequest,
    match: RouteMatch,
    *,
    region: str,
    account_id: str = LOCAL_ACCOUNT_ID,
    api_id: str = LOCAL_API_ID,
    stage: str = "$default",
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The API Gateway HTTP API (payload format 2.0) event for one request."""
    now = now or datetime.now(UTC)
    raw_path, raw_query = split_target(request.target)
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lowered = name.lower()
        if lowered == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[lowered] = f"{headers[lowered]},{value}" if lowered in headers else value
    # What API Gateway adds in front of the integration.
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip
    headers.setdefault("x-forwarded-proto", "http")
    host = headers.get("host", "localhost")
    domain_name, _, port = host.partition(":")
    headers.setdefault("x-forwarded-port", port or "80")
    headers["content-length"] = str(len(request.body))
    request_id = request_id or base64.b32encode(uuid.uuid4().bytes[:10]).decode().rstrip("=")
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}")

    query: dict[str, str] = {}
    for key, value in urllib.parse.parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": match.compiled.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "domainName": domain_name,
            "domainPrefix": domain_name.split(".")[0],
            "http": {
                "method": request.method,
                "path": raw_path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": match.compiled.route_key,
            "stage": stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    if request.body:
        if body_is_binary(headers, request.body):
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = request.body.decode("utf-8")
    return event


@dataclass
class HttpResponse:
    """A response ready to write: status, header pairs (repeats allowed) and bytes."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def json_response(status: int, payload: Any, extra_headers: Iterable[tuple[str, str]] = ()) -> HttpResponse:
    """A JSON response the gateway itself produces."""
    return HttpResponse(
        status, [("content-type", "application/json"), *extra_headers], json.dumps(payload).encode()
    )


def proxy_response(result: Any) -> HttpResponse:
    """Turn a handler's return value into HTTP as API Gateway does for payload format 2.0.

    A dict with `statusCode` is a proxy response; anything else is JSON-encoded as a 200 body.
    A response that cannot be interpreted is a 502, as API Gateway reports a malformed integration.
    """
    if not (isinstance(result, dict) and "statusCode" in result):
        return HttpResponse(200, [("content-type", "application/json")], json.dumps(result).encode())
    try:
        status = int(result["statusCode"])
        headers: list[tuple[str, str]] = [
            (str(k), str(v)) for k, v in (result.get("headers") or {}).items() if v is not None
        ]
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers.extend((str(name), str(value)) for value in values)
        headers.extend(("set-cookie", str(cookie)) for cookie in result.get("cookies") or [])
        body = result.get("body")
        if body is None:
            payload = b""
        elif result.get("isBase64Encoded"):
            payload = base64.b64decode(body)
        else:
            payload = str(body).encode("utf-8")
    except (TypeError, ValueError, AttributeError) as error:
        return json_response(502, {"message": "Bad Gateway", "error": f"malformed proxy response: {error}"})
    return HttpResponse(status, headers, payload)


# --------------------------------------------------------------------------- server


class Gateway:
    """The request → event → handler → response pipeline, independent of the HTTP server."""

    def __init__(
        self,
        routes: Iterable[RouteSpec],
        invoker: FunctionInvoker,
        static_mounts: Mapping[str, Path] | None = None,
        region: str = "us-east-1",
    ) -> None:
        self.route_table = RouteTable(routes)
        self.invoker = invoker
        self.region = region
        # Longest prefix first, so "/demo/tracker/" could live beside "/demo/".
        self.static_mounts = dict(
            sorted(
                ((_as_prefix(p), Path(d)) for p, d in (static_mounts or {}).items()), key=lambda i: -len(i[0])
            )
        )

    def handle(self, request: IncomingRequest) -> HttpResponse:
        """Answer one request."""
        request_id = base64.b32encode(uuid.uuid4().bytes[:10]).decode().rstrip("=")
        id_header = [("apigw-requestid", request_id)]
        raw_path = split_target(request.target)[0]
        found = self.route_table.match(request.method, raw_path)
        if not isinstance(found, RouteMatch):
            static = self._static(request.method, raw_path)
            if static is not None:
                return static
            if found:
                return json_response(
                    405, {"message": "Method Not Allowed"}, [("allow", ", ".join(found)), *id_header]
                )
            return json_response(404, {"message": "Not Found"}, id_header)

        function_name = found.compiled.route.function
        event = build_http_api_event(request, found, region=self.region, request_id=request_id)
        try:
            result = self.invoker.invoke(function_name, event)
        except HandlerUnavailable as error:
            logger.error("%s: %s", found.compiled.route_key, error)
            return json_response(
                502,
                {"message": "Bad Gateway", "function": function_name, "error": str(error)},
                id_header,
            )
        except Exception:
            # API Gateway hides the error from the client; the developer sees it in the log.
            logger.error("%s raised:\n%s", function_name, traceback.format_exc())
            return json_response(500, {"message": "Internal Server Error"}, id_header)
        response = proxy_response(result)
        response.headers.extend(id_header)
        return response

    def _static(self, method: str, raw_path: str) -> HttpResponse | None:
        path = raw_path
        for prefix, directory in self.static_mounts.items():
            if path != prefix.rstrip("/") and not path.startswith(prefix):
                continue
            if method not in STATIC_METHODS:
                return json_response(
                    405, {"message": "Method Not Allowed"}, [("allow", ", ".join(STATIC_METHODS))]
                )
            if path == prefix.rstrip("/"):
                return HttpResponse(301, [("location", prefix), ("content-length", "0")], b"")
            target = _static_file(directory, path[len(prefix) :])
            if target is None:
                return json_response(404, {"message": "Not Found"})
            content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            if content_type.startswith("text/") or content_type in (
                "application/javascript",
                "application/json",
            ):
                content_type += "; charset=utf-8"
            body = target.read_bytes()
            return HttpResponse(200, [("content-type", content_type), ("cache-control", "no-cache")], body)
        return None


def _as_prefix(prefix: str) -> str:
    return "/" + prefix.strip("/") + "/"


def _static_file(directory: Path, relative: str) -> Path | None:
    """The file `relative` names under `directory`, or None: outside it, missing, or no valid file name.

    A path a client makes up (a NUL byte, a name longer than the file system allows) is a 404 like
    any missing file, never an error.
    """
    try:
        root = directory.resolve()
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            return None
        if target.is_dir():
            target = target / "index.html"
        return target if target.is_file() else None
    except (OSError, ValueError):
        return None


def _content_length(values: list[str]) -> int:
    """The body's length from its Content-Length header(s): digits only, all alike, within the limit."""
    if not values:
        return 0
    if any(_DIGITS.fullmatch(value.strip()) is None for value in values):
        raise BadRequestBody(400, "Bad Request: Content-Length must be a non-negative integer")
    if len({int(value) for value in values}) > 1:
        raise BadRequestBody(400, "Bad Request: conflicting Content-Length headers")
    length = int(values[0])
    if length > MAX_REQUEST_BYTES:
        raise BadRequestBody(413, "Request Entity Too Large")
    return length


class BadRequestBody(Exception):
    """A request body that cannot be read as framed: answered with `status`, then the connection closes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _RequestHandler(BaseHTTPRequestHandler):
    """Reads one request at a time from a connection; every method goes to the gateway.

    The standard library answers a method it has no `do_` function for with 501 and lets an error
    in the handler drop the connection: API Gateway does neither, so this one answers every
    request line it can parse, with a 4xx for what the client got wrong.
    """

    protocol_version = "HTTP/1.1"
    # Not HTTP/0.9, whose answers have no status line: a garbled request line still gets a 400.
    default_request_version = "HTTP/1.1"
    server: GatewayServer

    def setup(self) -> None:
        # Bounded reads: a client that stops sending is answered 408 instead of holding a thread.
        super().setup()
        self.connection.settimeout(self.server.read_timeout_seconds)

    def handle_one_request(self) -> None:
        self.raw_requestline = b""
        self.command = self.requestline = ""
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline = self.request_version = self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                self.close_connection = True
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():  # the standard library has answered (400, 431, 505)
                return
            self._serve()
            self.wfile.flush()
        except TimeoutError:
            self.close_connection = True
            if self.raw_requestline:  # a request began but its headers never finished: say so
                with contextlib.suppress(OSError):
                    self._write(json_response(408, {"message": "Request Timeout"}), close=True)
            # else an idle keep-alive connection: closed quietly, as API Gateway does
        except (ConnectionError, BrokenPipeError):
            self.close_connection = True

    def _serve(self) -> None:
        if _METHOD_TOKEN.fullmatch(self.command) is None:
            self._write(json_response(400, {"message": "Bad Request: invalid method"}), close=True)
            return
        try:
            body = self._read_body()
        except BadRequestBody as error:
            # The rest of the body (if any) was not read: the connection cannot carry another request.
            self._write(json_response(error.status, {"message": str(error)}), close=True)
            return
        request = IncomingRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        try:
            response = self.server.gateway.handle(request)
        except Exception:
            # A fault of the gateway itself, not of the request: still an answer, never a dropped connection.
            logger.error("gateway failed on %s %r:\n%s", self.command, self.path, traceback.format_exc())
            response = json_response(500, {"message": "Internal Server Error"})
        self._write(response)

    def _read_body(self) -> bytes:
        """The request body, read within the size limit and the read timeout; BadRequestBody otherwise."""
        headers: Message = self.headers
        transfer_encoding = (headers.get("transfer-encoding") or "").strip().lower()
        lengths = headers.get_all("content-length") or []
        try:
            if transfer_encoding:
                if transfer_encoding != "chunked" or lengths:
                    raise BadRequestBody(400, "Bad Request: unsupported Transfer-Encoding")
                return self._read_chunked()
            return self._read_exactly(_content_length(lengths))
        except TimeoutError as error:
            raise BadRequestBody(408, "Request Timeout: the body did not arrive in time") from error

    def _read_exactly(self, length: int) -> bytes:
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            raise BadRequestBody(400, "Bad Request: the body is shorter than its Content-Length")
        return body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size_line):
                raise BadRequestBody(400, "Bad Request: malformed chunk size")
            size = int(size_line, 16)
            if size == 0:
                self.rfile.readline(1024)  # no trailers are read
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BYTES:
                raise BadRequestBody(413, "Request Entity Too Large")
            chunks.append(self._read_exactly(size))
            if self.rfile.readline(1024).strip():
                raise BadRequestBody(400, "Bad Request: a chunk is longer than its size")

    def _write(self, response: HttpResponse, *, close: bool = False) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        if close:
            self.close_connection = True
            self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)


class GatewayServer(ThreadingHTTPServer):
    """The HTTP server; binds in the constructor so a busy port fails before anything starts."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 resets connections when many clients connect at once.
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self,
        gateway: Gateway,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        read_timeout_seconds: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        self.gateway = gateway
        self.read_timeout_seconds = read_timeout_seconds
        self._thread: threading.Thread | None = None
        # Keep-alive connections outlive `shutdown()` (each has its own thread): they are tracked so
        # that a stopped gateway stops answering on them too, instead of invoking handlers whose
        # emulator and environment are gone.
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((host, port), _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A fault outside a request's answer: a client gone away is normal; anything else is logged.

        socketserver's default prints the whole traceback to stderr, so a browser abandoning a
        request (a closed tab, a cancelled image) would print a screen of `BrokenPipeError`.
        """
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            logger.debug("connection from %s ended early: %r", client_address, error)
            return
        logger.error("connection from %s failed:\n%s", client_address, traceback.format_exc())

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), name="gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(5)
            self._thread = None
        self.server_close()
        with self._connections_lock:
            open_connections = list(self._connections)
            self._connections.clear()
        for connection in open_connections:
            with contextlib.suppress(OSError):  # the client closed it first
                connection.shutdown(socket.SHUT_RDWR)
