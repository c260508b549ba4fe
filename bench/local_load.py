"""The local stack under load (issue 10): `reviva dev` in its own process, 64 clients on 127.0.0.1.

The runtime runs as a separate process (as a developer runs it, with the emulator in a child
process of its own), on every core this machine gives it; the load generator
(`reviva_dev.measure.load`) runs in the bench process. Measured: messages per second through the
local gateway, ingest's answer time (p50, p99), errors, resets, and how long after the load every
event is in its visitor's profile.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import selectors
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from reviva_dev.cli import dev_command
from reviva_dev.measure.load import LoadFigures, process_cpu_seconds, run_load, wait_for_profiles

CLIENTS = 64
REQUESTS_PER_CLIENT = 30
MESSAGES_PER_REQUEST = 10
TIME_LIMIT_SECONDS = 120.0
PROFILE_DEADLINE_SECONDS = 5.0
REPOSITORY = Path(__file__).resolve().parents[1]


@dataclass
class LocalLoadFigures:
    load: LoadFigures
    # Seconds after the load until every event was in its profile (None: not within a minute).
    profiles_after_seconds: float | None
    runtime_cores: int
    # CPU seconds the runtime process used per second of load: ~1 means one core's worth (the GIL).
    runtime_cpu_per_second: float | None
    # CPU seconds the runtime used per 1,000 messages accepted: during the load, and from its start
    # until every profile was complete (enrich's catch-up and the profile reads included). Less
    # noisy than throughput on a shared machine: other processes take cores, not CPU seconds.
    cpu_seconds_per_1000_messages: float | None = None
    cpu_seconds_per_1000_messages_until_profiles: float | None = None
    # The emulator's process's share of that CPU during the load (moto runs in a child process).
    emulator_cpu_share: float | None = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(process: subprocess.Popen[str], timeout: float = 120.0) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    if not selector.select(timeout):
        raise RuntimeError("reviva dev did not become ready")
    line = process.stdout.readline()
    if "ready" not in line:
        raise RuntimeError(f"reviva dev did not start: {line!r}")
    return line


def run() -> LocalLoadFigures:
    """Start `reviva dev`, send the load, wait for the profiles, stop it."""
    port = _free_port()
    write_key, admin_token = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="reviva-load-") as data_dir:
        process = subprocess.Popen(
            dev_command(port, data_dir),
            cwd=REPOSITORY,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={
                **os.environ,
                "REVIVA_WRITE_KEY": write_key,
                "REVIVA_ADMIN_TOKEN": admin_token,
                "PYTHONPATH": str(REPOSITORY),
            },
        )
        try:
            all_cores = set(range(os.cpu_count() or 1))
            if hasattr(os, "sched_setaffinity"):
                # The bench pins itself to one core; the runtime gets them all, as `reviva dev` has.
                os.sched_setaffinity(process.pid, all_cores)
            _wait_ready(process)
            base_url = f"http://127.0.0.1:{port}"
            cpu_before = process_cpu_seconds(process.pid)
            runtime_cpu_before = process_cpu_seconds(process.pid, children=False)
            figures = run_load(
                base_url,
                write_key,
                clients=CLIENTS,
                requests_per_client=REQUESTS_PER_CLIENT,
                messages_per_request=MESSAGES_PER_REQUEST,
                time_limit_seconds=TIME_LIMIT_SECONDS,
            )
            cpu_after = process_cpu_seconds(process.pid)
            runtime_cpu_after = process_cpu_seconds(process.pid, children=False)
            cpu_per_second = (
                (cpu_after - cpu_before) / figures.seconds
                if cpu_before is not None and cpu_after is not None and figures.seconds
                else None
            )
            after = wait_for_profiles(base_url, admin_token, figures.sent_per_visitor, limit_seconds=60.0)
            cpu_at_profiles = process_cpu_seconds(process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            with contextlib.suppress(Exception):
                if process.stdout is not None:
                    process.stdout.close()
    return LocalLoadFigures(
        figures,
        after,
        len(all_cores),
        cpu_per_second,
        _per_1000(cpu_before, cpu_after, figures.messages),
        _per_1000(cpu_before, cpu_at_profiles, figures.messages) if after is not None else None,
        _child_share(cpu_before, cpu_after, runtime_cpu_before, runtime_cpu_after),
    )


def _child_share(
    total_before: float | None,
    total_after: float | None,
    own_before: float | None,
    own_after: float | None,
) -> float | None:
    if None in (total_before, total_after, own_before, own_after):
        return None
    total = total_after - total_before  # type: ignore[operator]
    return (total - (own_after - own_before)) / total if total > 0 else None  # type: ignore[operator]


def _per_1000(cpu_before: float | None, cpu_after: float | None, messages: int) -> float | None:
    if cpu_before is None or cpu_after is None or not messages:
        return None
    return (cpu_after - cpu_before) / messages * 1000
