"""Fixtures shared by every test: fake credentials and a clean settings cache."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from reviva.settings import reset_settings_cache

# The property tests run on shared 2-core machines beside other test workers: generation and each
# example may be slow for reasons that say nothing about the code, so neither fails a test there.
# What the tests assert (properties over the examples) is unchanged; example counts stay per test.
settings.register_profile("shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shared-machine")

# The ingest harness's fixtures (`harness`, `aws`) serve tests in several directories.
pytest_plugins = ["tests.ingest.harness"]


@pytest.fixture(autouse=True)
def aws_test_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Never let a test reach a real account: fake credentials, a fixed region, test secrets."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("REVIVA_PSEUDONYMIZATION_KEY", "test-pseudonymization-key")
    monkeypatch.setenv("REVIVA_WRITE_KEYS", "test-write-key")
    monkeypatch.setenv("REVIVA_ADMIN_TOKEN", "test-admin-token")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "reviva-test")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "RevivaTest")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Playwright drives Debian's Chromium, never a downloaded browser; no sandbox (CI runs as root)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("chromium is not installed: `make chromium` (apt-get install -y chromium)")
    return {**browser_type_launch_args, "executable_path": executable, "args": ["--no-sandbox"]}
