"""The demo store in a real headless Chromium, served by a `LocalRuntime` exactly as `reviva dev` serves it.

Chromium is Debian's (`make chromium`); Playwright drives it through `executable_path` (the root
conftest) and never downloads a browser. The tracker must be built (`make tracker`): the store loads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reviva_dev.local.runtime import LocalRuntime, RuntimeInfo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def aws_test_environment() -> Iterator[None]:
    """The runtime fixture owns the environment for these tests (see tests/e2e/conftest.py)."""
    yield


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RuntimeInfo]:
    """The local stack, serving the demo store at /demo/ and the tracker at /tracker/."""
    if not (ROOT / "tracker" / "dist" / "reviva.js").is_file():
        pytest.fail("the tracker is not built: run `make tracker`")
    local = LocalRuntime(
        port=0,
        data_dir=tmp_path_factory.mktemp("reviva-demo"),
        write_key="demo-store-write-key",
        admin_token="demo-store-admin-token",
        demo=False,
    )
    info = local.start()
    try:
        yield info
    finally:
        local.stop()
