"""How a `reviva` command finds the running `reviva dev`: a file in its data directory.

Once ready, `reviva dev` writes `reviva-dev.json` into its data directory (the one it holds the
lock on) and removes it when it stops. The file says where the API is, the keys, and the
environment a client process needs to reach the same emulated stack: the emulator's endpoint and
fake credentials, the resource names, the lake catalog, the secrets the handlers run with. A
command that talks to the local stack (`reviva import spend`, `reviva replay-failed`, and any
later one) takes the same `--data-dir` as `reviva dev`, calls `find_running_stack` and runs inside
`connected_to(stack)`: it then works through the same composition root as the handlers do.

The data directory's lock says whether the runtime that wrote the file still runs, so a file left
behind by a killed runtime is never trusted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from reviva.settings import reset_settings_cache
from reviva_dev.local.data_lock import is_held
from reviva_dev.local.emulator import EnvironmentOverlay

STACK_FILE = "reviva-dev.json"
DEFAULT_DATA_DIR = Path(".reviva")


class NoRunningStack(RuntimeError):
    """No `reviva dev` runs on the data directory; the message says so in one line."""


@dataclass(frozen=True)
class RunningStack:
    """What a client needs to use a running `reviva dev`."""

    api_url: str
    write_key: str
    admin_token: str
    pid: int
    # The variables the stack's handlers run with: set them and the composition root reaches it.
    environment: dict[str, str] = field(default_factory=dict)


def stack_file(data_dir: Path) -> Path:
    """Where a runtime on `data_dir` publishes itself."""
    return data_dir / STACK_FILE


def publish_running_stack(data_dir: Path, stack: RunningStack) -> Path:
    """Write the stack's file (owner-only: it holds the keys), replacing any earlier one at once."""
    path = stack_file(data_dir)
    temporary = path.with_name(f".{STACK_FILE}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(asdict(stack), file, indent=2, sort_keys=True)
        file.write("\n")
    os.replace(temporary, path)
    return path


def withdraw_running_stack(data_dir: Path) -> None:
    """Remove the stack's file (a stopping runtime); nothing if it is gone already."""
    stack_file(data_dir).unlink(missing_ok=True)


def find_running_stack(data_dir: Path = DEFAULT_DATA_DIR) -> RunningStack:
    """The `reviva dev` running on `data_dir`; NoRunningStack (one line saying what to do) if none."""
    path = stack_file(data_dir)
    not_running = NoRunningStack(
        f"no `reviva dev` is running on the data directory {data_dir}: start it with `make dev` "
        "(or `reviva dev`), or pass the --data-dir it uses"
    )
    if not is_held(data_dir):
        raise not_running
    try:
        document = json.loads(path.read_text())
        return RunningStack(
            api_url=str(document["api_url"]),
            write_key=str(document["write_key"]),
            admin_token=str(document["admin_token"]),
            pid=int(document["pid"]),
            environment={str(k): str(v) for k, v in dict(document.get("environment") or {}).items()},
        )
    except FileNotFoundError:
        # Locked but not published yet: the runtime is still starting.
        raise NoRunningStack(
            f"the `reviva dev` on the data directory {data_dir} is still starting: try again once it "
            "prints its ready line"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise NoRunningStack(f"{path} cannot be read ({error}): restart `reviva dev`") from None


@contextmanager
def connected_to(stack: RunningStack) -> Iterator[RunningStack]:
    """Run the block with this process's environment (and settings) pointing at the stack."""
    overlay = EnvironmentOverlay()
    overlay.set(stack.environment)
    # The stack's fake keys already win over a profile; dropping it too means no request to the
    # emulator can ever be signed with a real identity.
    profile = os.environ.pop("AWS_PROFILE", None)
    reset_settings_cache()
    try:
        yield stack
    finally:
        overlay.restore()
        if profile is not None:
            os.environ["AWS_PROFILE"] = profile
        reset_settings_cache()
