"""Lambda's Invoke API on the emulator, answered by the local handlers.

moto executes state machines itself (its Step Functions "parser" runs the real ASL: Map, Retry,
Catch, the context object, input and output processing) and calls Lambda through the Invoke API of
the emulator. Without Docker, moto's Lambda cannot run our code: it echoes the payload back. The
bridge takes the Invoke calls for the topology's functions and runs their handlers in this process,
through the same `FunctionInvoker` the gateway, the stream pollers and the schedules use, and answers
like Lambda does: the handler's result as the payload, or an unhandled error (`FunctionError`) whose
`errorType` Step Functions turns into the error name that `Retry` and `Catch` match.

moto offers no hook for this, so the bridge replaces `invoke` on the one Lambda backend (account and
region) the emulator serves; calls for any other function go to moto's own `invoke`. The emulator
resets moto on every start, which drops the replacement along with everything else.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
import urllib.parse
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from reviva_dev.local.gateway import (
    LOCAL_ACCOUNT_ID,
    FunctionInvoker,
    HandlerUnavailable,
    physical_function_name,
)

logger = logging.getLogger("reviva_dev.local.lambda_bridge")

# moto's `LambdaBackend.invoke(function_name, qualifier, body, headers, response_headers)`.
MotoInvoke = Callable[[str, str | None, Any, Any, dict[str, str]], "str | bytes | None"]


def function_name_from_identifier(identifier: str) -> str:
    """The function name in any form Invoke accepts: name, full or partial ARN, with or without qualifier."""
    parts = identifier.split(":")
    if identifier.startswith("arn:"):
        return parts[6] if len(parts) > 6 else identifier
    if len(parts) >= 3 and parts[1] == "function":  # "123456789012:function:name[:qualifier]"
        return parts[2]
    return parts[0]  # "name" or "name:qualifier"


def function_error_payload(error: BaseException, error_type: str | None = None) -> bytes:
    """The body Lambda's Python runtime returns for an unhandled exception."""
    return json.dumps(
        {
            "errorMessage": str(error),
            "errorType": error_type or type(error).__name__,
            "requestId": "",
            "stackTrace": traceback.format_tb(error.__traceback__),
        }
    ).encode()


class LambdaBridge:
    """Routes moto's Lambda Invoke for the topology's functions to their in-process handlers."""

    def __init__(self, invoker: FunctionInvoker, region: str, account_id: str = LOCAL_ACCOUNT_ID) -> None:
        self.invoker = invoker
        self.region = region
        self.account_id = account_id
        self.functions: dict[str, str] = {
            physical_function_name(spec): name for name, spec in invoker.specs.items()
        }
        self._backend: Any = None
        self._moto_invoke: MotoInvoke | None = None
        self._http_server: ThreadingHTTPServer | None = None

    @property
    def installed(self) -> bool:
        """Whether the emulator's Lambda backend currently answers through this bridge."""
        return self._backend is not None

    def install(self) -> None:
        """Take over Invoke on the Lambda backend of this account and region (the moto server must be up)."""
        from moto.awslambda.utils import get_backend

        if self.installed:
            return
        backend = get_backend(self.account_id, self.region)
        self._moto_invoke = backend.invoke
        # An instance attribute shadows the class's method for this one backend only.
        backend.invoke = self.invoke  # type: ignore[method-assign]
        self._backend = backend

    def serve(self, host: str = "127.0.0.1") -> str:
        """Serve Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`) on a free
        port of `host` and return its URL: an emulator in another process forwards its Invoke calls
        there (`reviva_dev.local.emulator_process`). Answers as `invoke` does; stops on `uninstall()`."""
        if self._http_server is not None:
            return _server_url(self._http_server)
        bridge = self

        class InvokeHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                parts = self.path.split("/")
                if len(parts) != 5 or parts[1:3] != ["2015-03-31", "functions"] or parts[4] != "invocations":
                    self._answer(404, b"not an Invoke path")
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                invocation_type = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
                response_headers: dict[str, str] = {}
                try:
                    payload = bridge.invoke(
                        urllib.parse.unquote(parts[3]),
                        None,
                        body,
                        {"X-Amz-Invocation-Type": invocation_type},
                        response_headers,
                    )
                except Exception as error:  # moto's LambdaClientError: refused before any code ran
                    self._answer(400, str(error).encode())
                    return
                payload_bytes = payload.encode() if isinstance(payload, str) else (payload or b"")
                self._answer(200, payload_bytes, response_headers)

            def _answer(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("invoke endpoint: " + format, *args)

        server = ThreadingHTTPServer((host, 0), InvokeHandler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="lambda-invoke-endpoint", daemon=True).start()
        self._http_server = server
        return _server_url(server)

    def uninstall(self) -> None:
        """Give Invoke back to moto and stop the invoke endpoint, if it serves one."""
        server, self._http_server = self._http_server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        backend, self._backend = self._backend, None
        if backend is not None and backend.__dict__.get("invoke") == self.invoke:
            del backend.invoke
        self._moto_invoke = None

    def invoke(
        self,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Mapping[str, str],
        response_headers: dict[str, str],
    ) -> str | bytes | None:
        """moto's `LambdaBackend.invoke`: the payload to return, with Lambda's response headers set."""
        local_name = self.functions.get(function_name_from_identifier(function_name))
        if local_name is None:
            if self._moto_invoke is None:
                raise RuntimeError("the Lambda bridge is not installed")
            return self._moto_invoke(function_name, qualifier, body, headers, response_headers)

        response_headers["x-amz-executed-version"] = "$LATEST"
        try:
            event = json.loads(body) if body else {}
        except json.JSONDecodeError as error:
            from moto.awslambda.exceptions import LambdaClientError

            # Lambda refuses such a request (400) before any code runs.
            raise LambdaClientError(
                "InvalidRequestContentException", f"Could not parse request body into json: {error}"
            ) from error

        invocation_type = headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type == "DryRun":
            return self._finish(b"", response_headers)
        if invocation_type == "Event":
            threading.Thread(
                target=self._run_async, args=(local_name, event), name=f"lambda-{local_name}", daemon=True
            ).start()
            return self._finish(b"", response_headers)

        payload, error_type = self._run(local_name, event)
        if error_type is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
        return self._finish(payload, response_headers)

    def _run(self, function: str, event: Any) -> tuple[bytes, str | None]:
        """The handler's serialized result, or an error payload and its error type."""
        try:
            result = self.invoker.invoke(function, event)
        except HandlerUnavailable as error:
            # What Lambda reports when the handler module cannot be imported.
            return function_error_payload(error, "Runtime.ImportModuleError"), "Runtime.ImportModuleError"
        except Exception as error:
            logger.warning("function %s failed: %r", function, error)
            return function_error_payload(error), type(error).__name__
        try:
            return json.dumps(result).encode(), None
        except (TypeError, ValueError) as error:
            return function_error_payload(error, "Runtime.MarshalError"), "Runtime.MarshalError"

    def _run_async(self, function: str, event: Any) -> None:
        _, error_type = self._run(function, event)
        if error_type is not None:
            logger.warning("asynchronous invocation of %s failed with %s", function, error_type)

    @staticmethod
    def _finish(payload: bytes, response_headers: dict[str, str]) -> bytes:
        response_headers["Content-Length"] = str(len(payload))
        return payload


def _server_url(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}"
