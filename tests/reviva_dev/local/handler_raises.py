"""A test function that always fails."""

from __future__ import annotations

from typing import Any


def handler(event: dict[str, Any], context: Any) -> Any:
    raise RuntimeError("boom")
