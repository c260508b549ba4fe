"""The emulator in a process of its own: moto's server on a second interpreter.

In one process the gateway, every handler and moto share one interpreter lock, and moto's side of
each AWS call (request parsing, dispatch, serialization) was about half of the local stack's CPU
under load. Run as `python -m reviva_dev.local.emulator_process`, this module starts moto's
server on 127.0.0.1 with the same patches the in-process emulator applies, prints
`port <number>` on its first line of output, and serves until its standard input closes (the
parent exited or stopped it): it never outlives the runtime that started it.

moto's Step Functions call the topology's functions through the emulator's Lambda Invoke API; in
this process there are no handlers, so those calls are forwarded over HTTP to the runtime's
invoke endpoint (`LambdaBridge.serve`), which answers exactly as the in-process bridge does.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import sys
import urllib.parse
from collections.abc import Mapping
from typing import Any

from reviva_dev.local.lambda_bridge import function_name_from_identifier

# How long a forwarded invocation may take: the longest function timeout in the topology is below.
FORWARD_TIMEOUT_SECONDS = 900


def forward_lambda_invocations(invoke_endpoint: str, function_names: set[str]) -> None:
    """Answer moto's Lambda Invoke for `function_names` from the runtime at `invoke_endpoint`.

    Patched on moto's Lambda backend class, so a `reset` of moto's state keeps it; this process
    serves one emulator only.
    """
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.models import LambdaBackend

    moto_invoke = LambdaBackend.invoke
    parsed = urllib.parse.urlsplit(invoke_endpoint)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80

    def invoke(
        self: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Mapping[str, str],
        response_headers: dict[str, str],
    ) -> str | bytes | None:
        name = function_name_from_identifier(function_name)
        if name not in function_names:
            return moto_invoke(self, function_name, qualifier, body, headers, response_headers)
        connection = http.client.HTTPConnection(host, port, timeout=FORWARD_TIMEOUT_SECONDS)
        try:
            payload = body.encode() if isinstance(body, str) else (body or b"")
            connection.request(
                "POST",
                f"/2015-03-31/functions/{urllib.parse.quote(name, safe='')}/invocations",
                body=payload,
                headers={
                    "X-Amz-Invocation-Type": headers.get("X-Amz-Invocation-Type") or "RequestResponse",
                    "Content-Type": "application/json",
                },
            )
            response = connection.getresponse()
            answer = response.read()
            if response.status == 400:  # the request was refused before any code ran
                raise LambdaClientError("InvalidRequestContentException", answer.decode(errors="replace"))
            for header in ("x-amz-executed-version", "x-amz-function-error"):
                if response.getheader(header):
                    response_headers[header] = response.getheader(header) or ""
            response_headers["Content-Length"] = str(len(answer))
            return answer
        finally:
            connection.close()

    LambdaBackend.invoke = invoke  # type: ignore[method-assign]


def serve(invoke_endpoint: str | None, function_names: set[str], host: str = "127.0.0.1") -> None:
    """Start moto's server, say its port, and serve until standard input closes."""
    from moto.server import ThreadedMotoServer

    from reviva_dev.local.emulator import quiet_moto_logs, speed_up_moto

    quiet_moto_logs()
    server = ThreadedMotoServer(ip_address=host, port=0, verbose=False)
    server.start()
    speed_up_moto(server)
    _, port = server.get_host_and_port()
    # Step Functions SDK tasks run inside moto and call back to this port.
    os.environ["MOTO_PORT"] = str(port)
    if invoke_endpoint:
        forward_lambda_invocations(invoke_endpoint, function_names)
    print(f"port {port}", flush=True)
    # Nobody reads the pipe after that line: anything printed later goes to standard error, or a
    # full pipe would block the emulator.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdin.read()  # returns at end of input: the parent closed it or is gone
    server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoke-endpoint", default=None, help="the runtime's Lambda Invoke API")
    parser.add_argument("--functions", default="", help="comma-separated function names it answers")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    names = {name for name in arguments.functions.split(",") if name}
    serve(arguments.invoke_endpoint, names)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
