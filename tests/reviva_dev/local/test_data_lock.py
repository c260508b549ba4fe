"""One `reviva dev` per data directory: a second one is refused with a clear message."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from reviva_dev.cli import dev_command
from reviva_dev.local.data_lock import DataDirectoryInUse, DataDirectoryLock
from reviva_dev.local.runtime import LocalRuntime
from tests.reviva_dev.local.test_runtime_and_cli import REPOSITORY, free_port


def test_a_held_directory_is_refused_until_released(tmp_path: Path) -> None:
    first, second = DataDirectoryLock(tmp_path), DataDirectoryLock(tmp_path)
    first.acquire()
    with pytest.raises(DataDirectoryInUse, match=rf"in use by another `reviva dev` \(pid {os.getpid()}\)"):
        second.acquire()
    assert not second.held
    first.release()
    second.acquire()
    assert second.held
    second.release()


def test_a_second_runtime_on_the_same_directory_is_refused_before_it_starts(tmp_path: Path) -> None:
    holder = DataDirectoryLock(tmp_path)
    holder.acquire()
    try:
        runtime = LocalRuntime(port=0, data_dir=tmp_path, demo=False, static_mounts={}, warm_up=False)
        with pytest.raises(DataDirectoryInUse):
            runtime.start()
        assert runtime.server is None and runtime.resources is None, "nothing was started"
    finally:
        holder.release()


def test_reviva_dev_exits_non_zero_with_a_clear_message_when_the_directory_is_taken(tmp_path: Path) -> None:
    holder = DataDirectoryLock(tmp_path)
    holder.acquire()
    try:
        completed = subprocess.run(
            dev_command(free_port(), tmp_path),
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        )
    finally:
        holder.release()
    assert completed.returncode == 1
    message = " ".join(completed.stderr.split())
    assert "is in use by another `reviva dev`" in message and "--data-dir" in message
