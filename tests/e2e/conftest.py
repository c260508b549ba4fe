"""End-to-end tests run against a `LocalRuntime`, which sets the environment its handlers read.

The root conftest's per-test environment (fake endpoint-less AWS, test secrets) would pull the
runtime's endpoint away from under it, so it is replaced here by the runtime's own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def aws_test_environment() -> Iterator[None]:
    """The runtime fixture owns the environment for these tests."""
    yield
