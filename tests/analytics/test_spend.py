"""Ad spend CSV import: validation, idempotent re-import, and the `reviva import spend` command."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reviva.analytics.spend import SpendFileError, SpendStore, parse_spend_csv
from reviva.composition import current_composition
from reviva.settings import reset_settings_cache
from reviva_dev.cli import app
from reviva_dev.fakes.analytics import MemoryObjectStore

CSV = (
    "date,channel,campaign,spend\n"
    "2026-11-02,paid_search,bf,30\n2026-11-03,paid_search,bf,20.5\n2026-11-02,email,,10\n"
)


def test_parse_and_totals_over_a_range() -> None:
    store = SpendStore(MemoryObjectStore())
    assert store.totals(date(2026, 11, 1), date(2026, 11, 30)) is None
    store.import_rows(parse_spend_csv(CSV))
    assert store.totals(date(2026, 11, 2), date(2026, 11, 2)) == {
        ("paid_search", "bf"): 30.0,
        ("email", ""): 10.0,
    }
    assert store.totals(date(2026, 11, 1), date(2026, 11, 30)) == {
        ("paid_search", "bf"): 50.5,
        ("email", ""): 10.0,
    }


def test_reimporting_replaces_the_same_rows() -> None:
    store = SpendStore(MemoryObjectStore())
    store.import_rows(parse_spend_csv(CSV))
    result = store.import_rows(parse_spend_csv("date,channel,campaign,spend\n2026-11-02,paid_search,bf,35\n"))
    assert result == {"rows": 1, "added": 0, "total_rows": 3}
    assert store.totals(date(2026, 11, 2), date(2026, 11, 2)) == {
        ("paid_search", "bf"): 35.0,
        ("email", ""): 10.0,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("day,channel,spend\n", "missing date, campaign"),
        ("date,channel,campaign,spend\n02/11/2026,email,,1\n", "line 2: date"),
        ("date,channel,campaign,spend\n2026-11-02,,x,1\n", "line 2: channel is empty"),
        ("date,channel,campaign,spend\n2026-11-02,email,x,ten\n", "line 2: spend 'ten'"),
        ("date,channel,campaign,spend\n2026-11-02,email,x,-1\n", "non-negative"),
    ],
)
def test_malformed_files_name_the_line(text: str, message: str) -> None:
    with pytest.raises(SpendFileError, match=message):
        parse_spend_csv(text)


def test_the_cli_command_imports_into_the_lake_bucket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKE_BUCKET", f"file://{tmp_path}/lake")
    reset_settings_cache()
    spend_file = tmp_path / "spend.csv"
    spend_file.write_text(CSV)
    # --environment: the stack the environment describes (here a lake on disk), not a running `reviva dev`.
    result = CliRunner().invoke(app, ["import", "spend", str(spend_file), "--environment"])
    assert result.exit_code == 0, result.output
    assert "Imported 3 spend rows" in result.output
    assert current_composition().spend_store.totals(date(2026, 11, 1), date(2026, 11, 30)) == {
        ("paid_search", "bf"): 50.5,
        ("email", ""): 10.0,
    }
    spend_file.write_text("date,channel,campaign,spend\nnot-a-date,email,,1\n")
    # --environment: the stack the environment describes (here a lake on disk), not a running `reviva dev`.
    result = CliRunner().invoke(app, ["import", "spend", str(spend_file), "--environment"])
    assert result.exit_code == 2
