"""The `reviva` CLI against a real `reviva dev` child process: the ready message, kept keys, the
commands that find the running stack through its data directory, and a quiet terminal."""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reviva_dev.cli import app, dev_command, ready_line
from reviva_dev.local.running_stack import STACK_FILE
from reviva_dev.local.runtime import DEFAULT_DEMO_DAYS, DEFAULT_DEMO_SEED, RuntimeInfo
from reviva_dev.simulate import SendReport, SimulationSummary, plan_traffic
from tests.reviva_dev.local.test_runtime_and_cli import REPOSITORY, free_port, http, read_ready_message

DEMO_VISITORS = 12
SPEND_CSV = (
    "date,channel,campaign,spend\n2026-12-01,Paid Search,brand,120.50\n2026-12-02,Paid Social,winter,80\n"
)


def reviva(*arguments: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `reviva ARGUMENTS` as a user would, in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "reviva_dev.cli", *arguments],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
    )


def dev_environment() -> dict[str, str]:
    """The environment of a developer who set no keys: `reviva dev` keeps its own."""
    unset = ("REVIVA_WRITE_KEY", "REVIVA_WRITE_KEYS", "REVIVA_ADMIN_TOKEN", "REVIVA_PSEUDONYMIZATION_KEY")
    return {**{k: v for k, v in os.environ.items() if k not in unset}, "PYTHONPATH": str(REPOSITORY)}


def start_dev(port: int, data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        dev_command(port, data_dir, demo_visitors=DEMO_VISITORS),
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dev_environment(),
    )


def field(lines: list[str], name: str) -> str:
    """The value on the ready message's line `name` (its first word after the label)."""
    for line in lines:
        if line.startswith(f"  {name}"):
            return line[len(name) + 2 :].split()[0]
    raise AssertionError(f"no {name!r} line in {lines}")


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGTERM, then everything the process printed that was not read yet (stdout, stderr)."""
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out, err


def abandon_requests(port: int) -> None:
    """What a browser does when a tab closes mid-load: requests whose connection is reset unread."""
    for path in ("/demo/", "/demo/demo.css", "/health", "/v1/batch"):
        for pause in (0.0, 0.05):
            connection = socket.create_connection(("127.0.0.1", port))
            # Linger 0: close() resets the connection (RST) instead of a polite FIN.
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
            time.sleep(pause)
            connection.close()
    half = socket.create_connection(("127.0.0.1", port))
    half.sendall(b"POST /v1/batch HTTP/1.1\r\nHost: localhost\r\nContent-Length: 500\r\n\r\n{")
    half.close()


def test_version_is_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"reviva {importlib.metadata.version('reviva')}"


def test_help_shows_boolean_options_as_flags() -> None:
    dev_help = CliRunner().invoke(app, ["dev", "--help"]).output
    replay_help = CliRunner().invoke(app, ["replay-failed", "--help"]).output
    assert "<bool>" not in dev_help + replay_help
    assert "--demo / --no-demo" in dev_help and "--port <int" in dev_help
    dry_run = next(line for line in replay_help.splitlines() if "--dry-run" in line)
    assert dry_run.split()[0] == "--dry-run" and dry_run.split()[1] == "Say"


@pytest.mark.parametrize("leftover", [None, "stale file"])
def test_a_command_without_a_running_dev_says_so_in_one_line(tmp_path: Path, leftover: str | None) -> None:
    spend = tmp_path / "spend.csv"
    spend.write_text(SPEND_CSV)
    data_dir = tmp_path / "data"
    if leftover:
        # What a killed `reviva dev` leaves: its file, but no lock held.
        data_dir.mkdir()
        (data_dir / STACK_FILE).write_text(json.dumps({"api_url": "http://localhost:1", "pid": 1}))
        (data_dir / "reviva-dev.lock").write_text("1\n")
    for command in (["import", "spend", str(spend)], ["replay-failed"], ["simulate", "--visitors", "1"]):
        result = reviva(*command, "--data-dir", str(data_dir))
        assert result.returncode == 1
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1, result.stderr
        assert f"no `reviva dev` is running on the data directory {data_dir}" in result.stderr


@pytest.mark.integration
def test_reviva_dev_ends_with_its_ready_message_keeps_its_keys_and_serves_the_cli(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    spend = tmp_path / "spend.csv"
    spend.write_text(SPEND_CSV)
    port = free_port()
    process = start_dev(port, data_dir)
    try:
        lines = read_ready_message(process, timeout=180)
        assert lines, process.stderr.read() if process.poll() is not None and process.stderr else ""
        assert lines[0] == f"RevivaTech Analytics ready: http://localhost:{port}"
        assert lines[-1] == "Stop with Ctrl-C."
        write_key, admin_token = field(lines, "write key"), field(lines, "admin token")
        assert write_key == (data_dir / "write.key").read_text().strip()
        assert admin_token == (data_dir / "admin.token").read_text().strip()
        assert f"(kept in {data_dir / 'admin.token'})" in "\n".join(lines)

        # The demo: how many visitors, over which dates; and that it is in memory.
        demo = next(line for line in lines if line.startswith("  demo data"))
        today = datetime.now(UTC).date()
        first, last = (date.fromisoformat(word) for word in demo.split(", ")[1].split(" (")[0].split(" to "))
        assert demo.startswith(f"  demo data   {DEMO_VISITORS} visitors, ")
        assert today - timedelta(days=DEFAULT_DEMO_DAYS) <= first <= last <= today
        assert any(line.startswith("  state       in memory") for line in lines)

        # The stack is published in the data directory, for the owner only.
        published = data_dir / STACK_FILE
        assert published.stat().st_mode & 0o777 == 0o600
        assert json.loads(published.read_text())["api_url"] == f"http://localhost:{port}"

        abandon_requests(port)

        first_import = reviva("import", "spend", str(spend), "--data-dir", str(data_dir))
        assert first_import.returncode == 0, first_import.stderr
        assert first_import.stdout.strip() == "Imported 2 spend rows (2 new); 2 stored."
        again = reviva("import", "spend", str(spend), "--data-dir", str(data_dir))
        assert again.stdout.strip() == "Imported 2 spend rows (0 new); 2 stored."
        replay = reviva("replay-failed", "--dry-run", "--data-dir", str(data_dir))
        assert replay.returncode == 0, replay.stderr
        assert replay.stdout.startswith("0 pointers")
        simulated = reviva("simulate", "--data-dir", str(data_dir), "--visitors", "3", "--days", "1")
        assert simulated.returncode == 0, simulated.stderr
        assert f"http://localhost:{port}" in simulated.stdout

        # The demo visitors' countries are those the simulator's CloudFront headers named.
        plan = plan_traffic(DEMO_VISITORS, DEFAULT_DEMO_DAYS, DEFAULT_DEMO_SEED)
        people = [truth for truth in plan.truths if not truth.is_bot and len(truth.anonymous_ids) == 1]
        assert people
        for truth in people:
            status, body = http(
                "GET",
                f"http://127.0.0.1:{port}/v1/visitors/{truth.anonymous_ids[0]}",
                headers={"Authorization": f"Bearer {admin_token}"},
            )
            assert status == 200, body
            assert sorted(body["profile"]["countries"]) == sorted(set(truth.countries))
    finally:
        if process.poll() is None:
            out, err = stop(process)
        else:
            out, err = process.communicate()
    # Nothing after the ready message: not on stdout, and on stderr only the word at the stop.
    assert out == ""
    assert err.splitlines() == [f"Loading the demo data ({DEMO_VISITORS} visitors)…", "stopped"], err
    assert not (data_dir / STACK_FILE).exists()

    # A restart keeps the keys, so an open dashboard tab and an embedded snippet keep working.
    process = start_dev(free_port(), data_dir)
    try:
        again_lines = read_ready_message(process, timeout=180)
        assert field(again_lines, "write key") == write_key
        assert field(again_lines, "admin token") == admin_token
    finally:
        if process.poll() is None:
            stop(process)


def test_the_ready_message_says_what_was_loaded_and_where_the_keys_live() -> None:
    plan = plan_traffic(5, 3, seed=2, now=datetime(2026, 12, 6, 12, tzinfo=UTC))
    summary = SimulationSummary("http://127.0.0.1:8000", 2, 3, plan.summary, SendReport(accepted=41), 0.1)
    info = RuntimeInfo(
        "http://localhost:8000", "wk", "tok", static_urls={"/dashboard/": "http://localhost:8000/dashboard/"}
    )
    sources = {"write key": "kept in .reviva/write.key", "admin token": "from REVIVA_ADMIN_TOKEN"}
    lines = ready_line(info, demo=summary, key_sources=sources).splitlines()
    assert lines[0] == "RevivaTech Analytics ready: http://localhost:8000"
    assert "  dashboard   http://localhost:8000/dashboard/" in lines
    assert "  write key   wk  (kept in .reviva/write.key)" in lines
    assert "  admin token tok  (from REVIVA_ADMIN_TOKEN)" in lines
    first, last = plan.summary.first_timestamp, plan.summary.last_timestamp
    assert first and last
    assert f"  demo data   5 visitors, {first[:10]} to {last[:10]} (41 events accepted)" in lines
    assert lines[-1] == "Stop with Ctrl-C."
    failed = ready_line(info, demo=None, demo_failed=True).splitlines()
    assert "  demo data   not loaded: see the error above" in failed
