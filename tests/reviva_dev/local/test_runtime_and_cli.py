"""`LocalRuntime` wiring (HTTP → ingest → Kinesis → enrich) and `reviva dev` as a process."""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reviva.aws_clients import client
from reviva.settings import load_settings
from reviva.topology import SCHEDULES
from reviva_dev.cli import app, dev_command, simulation_problems
from reviva_dev.local.gateway import Handler, HandlerUnavailable
from reviva_dev.local.runtime import (
    LocalRuntime,
    load_or_create_pseudonymization_key,
    rate_seconds,
    scheduled_event,
)

REPOSITORY = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.mark.integration
def test_runtime_wires_http_to_the_stream_consumer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REVIVA_ADMIN_TOKEN")
    seen: list[dict[str, Any]] = []
    done = threading.Event()

    def ingest(event: dict[str, Any], context: Any) -> dict[str, Any]:
        settings = load_settings()
        body = json.loads(event["body"])
        client("kinesis", settings).put_record(
            StreamName=settings.events_stream, Data=json.dumps(body).encode(), PartitionKey=body["visitor"]
        )
        return {"statusCode": 200, "body": json.dumps({"success": True})}

    def enrich(event: dict[str, Any], context: Any) -> dict[str, Any]:
        assert context.function_name == "reviva-enrich"
        seen.extend(event["Records"])
        done.set()
        return {"batchItemFailures": []}

    handlers: dict[str, Handler] = {"ingest": ingest, "enrich": enrich}

    def resolver(name: str) -> Handler:
        if name not in handlers:
            raise HandlerUnavailable(f"{name} is not part of this test")
        return handlers[name]

    runtime = LocalRuntime(
        port=0, data_dir=tmp_path, write_key="wk", demo=False, static_mounts={}, resolver=resolver
    )
    info = runtime.start()
    try:
        assert runtime.ready
        assert info.write_key == "wk" and info.admin_token  # generated: none in the environment
        settings = load_settings()
        assert settings.accepted_write_keys() >= {"wk"}
        assert settings.admin_token == info.admin_token
        assert settings.pseudonymization_key == "test-pseudonymization-key"  # the environment wins
        assert settings.dead_letter_queue_url and settings.lake_catalog == "sql"
        base = f"http://127.0.0.1:{runtime.port}"
        status, payload = http("POST", base + "/v1/batch", json.dumps({"visitor": "a:1"}).encode())
        assert (status, payload) == (200, {"success": True})
        assert done.wait(10)
        assert json.loads(__import__("base64").b64decode(seen[0]["kinesis"]["data"])) == {"visitor": "a:1"}
        assert seen[0]["kinesis"]["partitionKey"] == "a:1"
        status, payload = http("GET", base + "/health")
        assert status == 502 and payload["function"] == "query"
    finally:
        runtime.stop()
    assert "AWS_ENDPOINT_URL" not in os.environ
    assert os.environ.get("REVIVA_ADMIN_TOKEN") is None


def test_pseudonymization_key_is_generated_once(tmp_path: Path) -> None:
    key = load_or_create_pseudonymization_key(tmp_path / "data")
    assert len(key) >= 32
    assert load_or_create_pseudonymization_key(tmp_path / "data") == key
    assert (tmp_path / "data" / "pseudonymization.key").stat().st_mode & 0o777 == 0o600


def test_schedules_become_eventbridge_scheduled_events() -> None:
    assert rate_seconds("rate(1 hour)") == 3600
    assert rate_seconds("rate(5 minutes)") == 300
    assert rate_seconds("rate(1 day)") == 86_400
    assert rate_seconds("cron(0 3 * * ? *)") is None
    event = scheduled_event(SCHEDULES[0], region="us-east-1")
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["detail"] == SCHEDULES[0].payload
    assert event["resources"][0].startswith("arn:aws:events:us-east-1:")
    from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

    EventBridgeModel.model_validate(event)


def test_simulate_validates_its_options() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["simulate", "--endpoint", "localhost:8000", "--write-key", "k"])
    assert result.exit_code != 0 and "not an http(s) URL" in result.output
    result = runner.invoke(app, ["simulate", "--write-key", "k", "--visitors", "0"])
    assert result.exit_code != 0 and "--visitors" in result.output


def test_simulation_problems_counts_rejected_and_failed() -> None:
    assert simulation_problems({"rejected": 0, "failed": 0, "sent": 10}) == 0
    assert simulation_problems({"rejected": 2, "failed": 1}) == 3

    class Summary:
        rejected = [{"index": 1}]
        failed = 0

    assert simulation_problems(Summary()) == 1


def read_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=0.2):
            return process.stdout.readline()
        if process.poll() is not None:
            break
    return ""


def read_ready_message(process: subprocess.Popen[str], timeout: float) -> list[str]:
    """The lines `reviva dev` prints on stdout up to its last, "Stop with Ctrl-C." ([] if it never does).

    Reads the pipe itself, a chunk at a time, so that nothing after that line is consumed: what
    `communicate()` returns later is whatever was printed after the ready message.
    """
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    selector = selectors.DefaultSelector()
    selector.register(descriptor, selectors.EVENT_READ)
    received = b""
    deadline = time.monotonic() + timeout
    while b"Stop with Ctrl-C.\n" not in received and time.monotonic() < deadline:
        if selector.select(timeout=0.2):
            chunk = os.read(descriptor, 1)  # one byte at a time: never past the last line
            if not chunk:
                break
            received += chunk
        elif process.poll() is not None:
            break
    selector.close()
    if b"Stop with Ctrl-C.\n" not in received:
        return []
    return received.decode().splitlines()


@pytest.mark.integration
def test_reviva_dev_prints_its_ready_line_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        dev_command(port, tmp_path),
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if k != "REVIVA_PSEUDONYMIZATION_KEY"},
            "REVIVA_WRITE_KEY": "dev-write-key",
        },
    )
    try:
        lines = read_ready_message(process, timeout=90)
        assert lines and lines[0] == f"RevivaTech Analytics ready: http://localhost:{port}", (
            lines,
            process.stderr.read() if process.poll() is not None and process.stderr else "",
        )
        message = "\n".join(lines)
        assert "write key   dev-write-key  (from REVIVA_WRITE_KEY)" in message
        assert "admin token test-admin-token  (from REVIVA_ADMIN_TOKEN)" in message
        assert "demo data   none loaded" in message
        # Routes answer whether or not their function exists yet (502 if not).
        status, _ = http("GET", f"http://127.0.0.1:{port}/health")
        assert status in (200, 502, 503)
        status, payload = http("GET", f"http://127.0.0.1:{port}/no/such/path")
        assert (status, payload) == (404, {"message": "Not Found"})
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # Without a key in the environment, one was generated into the data directory.
    assert (tmp_path / "pseudonymization.key").is_file()
