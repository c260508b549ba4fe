"""Point the settings at a lake on local disk: files under `tmp_path`, a SQLite catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from reviva.settings import reset_settings_cache


def use_local_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Set the lake's environment for this test; the caller resets the settings cache afterwards."""
    monkeypatch.setenv("LAKE_BUCKET", f"file://{tmp_path}/lake")
    monkeypatch.setenv("LAKE_CATALOG", "sql")
    monkeypatch.setenv("LAKE_CATALOG_URI", f"sqlite:///{tmp_path}/catalog.db")
    reset_settings_cache()
