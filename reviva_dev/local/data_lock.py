"""One `reviva dev` per data directory: the lake catalog and files there belong to one runtime.

Two runtimes on one directory would each create the lake on their own emulator and commit over
each other's catalog (ingest answers 200, enrich then fails every batch). The runtime holds an
exclusive `flock` on a lock file in the directory for its whole life; the kernel releases it when
the process ends, however it ends, so a crashed runtime never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

LOCK_FILE = "reviva-dev.lock"


class DataDirectoryInUse(RuntimeError):
    """Another runtime holds the data directory."""


class DataDirectoryLock:
    """An exclusive lock on a data directory, held from `acquire()` to `release()`."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._descriptor: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._descriptor is not None

    def acquire(self) -> None:
        """Take the lock without waiting; DataDirectoryInUse (naming the holder's pid) if it is taken."""
        if self._descriptor is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(descriptor)
            raise DataDirectoryInUse(
                f"the data directory {self.path.parent} is in use by another `reviva dev` (pid {holder}); "
                "stop that one, or give this one its own directory with --data-dir"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        self._descriptor = descriptor

    def release(self) -> None:
        """Let the directory go (closing the descriptor drops the lock)."""
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(descriptor, 0)
            os.close(descriptor)


def is_held(data_dir: Path) -> bool:
    """Whether a running `reviva dev` (in this process or another) holds the data directory's lock.

    Tested with a shared lock taken and dropped at once: it fails only while an exclusive one is held.
    """
    path = data_dir / LOCK_FILE
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return False  # no lock file: no runtime ever started here
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # closing drops the shared lock, if it was taken
    return False
