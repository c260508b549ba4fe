"""A running `LocalRuntime` publishes itself in its data directory; `find_running_stack` trusts the
file only while the directory's lock is held; `connected_to` points this process at the stack."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from reviva.aws_clients import client
from reviva.settings import load_settings
from reviva_dev.local.data_lock import DataDirectoryLock, is_held
from reviva_dev.local.running_stack import (
    STACK_FILE,
    NoRunningStack,
    RunningStack,
    connected_to,
    find_running_stack,
    publish_running_stack,
)
from reviva_dev.local.runtime import LocalRuntime


@pytest.fixture(autouse=True)
def aws_test_environment() -> Iterator[None]:
    """The runtime owns the environment here (see tests/e2e/conftest.py)."""
    yield


def test_a_file_without_a_held_lock_is_not_a_running_stack(tmp_path: Path) -> None:
    stack = RunningStack("http://localhost:1", "wk", "token", pid=1, environment={"X": "1"})
    publish_running_stack(tmp_path, stack)
    assert (tmp_path / STACK_FILE).stat().st_mode & 0o777 == 0o600
    with pytest.raises(NoRunningStack, match="no `reviva dev` is running on the data directory"):
        find_running_stack(tmp_path)
    lock = DataDirectoryLock(tmp_path)
    lock.acquire()
    try:
        assert is_held(tmp_path)
        assert find_running_stack(tmp_path) == stack
        (tmp_path / STACK_FILE).unlink()
        with pytest.raises(NoRunningStack, match="still starting"):
            find_running_stack(tmp_path)
        (tmp_path / STACK_FILE).write_text("{not json")
        with pytest.raises(NoRunningStack, match="cannot be read"):
            find_running_stack(tmp_path)
    finally:
        lock.release()
    assert not is_held(tmp_path)


@pytest.mark.integration
def test_a_running_runtime_is_found_and_reached_through_its_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("REVIVA_WRITE_KEY", "REVIVA_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    runtime = LocalRuntime(port=0, data_dir=tmp_path, demo=False, static_mounts={}, warm_up=False)
    info = runtime.start()
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    try:
        stack = find_running_stack(tmp_path)
        assert (stack.api_url, stack.pid) == (info.api_url, os.getpid())
        # The keys were generated into the data directory, and those are the ones in use.
        assert stack.write_key == info.write_key == (tmp_path / "write.key").read_text().strip()
        assert stack.admin_token == info.admin_token == (tmp_path / "admin.token").read_text().strip()
        assert stack.environment["AWS_ENDPOINT_URL"] == endpoint
        assert stack.environment["REVIVA_ADMIN_TOKEN"] == info.admin_token

        # A process with another environment reaches the same emulated stack inside the block.
        monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        with connected_to(stack):
            assert load_settings().admin_token == info.admin_token
            settings = load_settings()
            # A real call: it reaches the emulator (port 9 would refuse it).
            assert settings.dead_letter_queue_url in client("sqs", settings).list_queues()["QueueUrls"]
        assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    finally:
        runtime.stop()
    assert not (tmp_path / STACK_FILE).exists()
    with pytest.raises(NoRunningStack):
        find_running_stack(tmp_path)

    # The next start keeps both keys.
    again = LocalRuntime(port=0, data_dir=tmp_path, demo=False, static_mounts={}, warm_up=False)
    restarted = again.start()
    try:
        assert (restarted.write_key, restarted.admin_token) == (info.write_key, info.admin_token)
        assert json.loads((tmp_path / STACK_FILE).read_text())["write_key"] == info.write_key
    finally:
        again.stop()
