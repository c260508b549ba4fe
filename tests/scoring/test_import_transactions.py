"""`reviva import transactions`: the store's purchases into the lake once, with pseudonyms only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reviva.adapters.lake import load_lake_catalog
from reviva.adapters.lake.transactions import LakeTransactionStore, ensure_transactions_table
from reviva.contracts.visitor_key import email_link_key, user_key
from reviva.privacy.pseudonymize import KeyedPseudonyms
from reviva.scoring.import_transactions import import_transactions
from reviva.scoring.transactions import TransactionFileError
from reviva.settings import load_settings, reset_settings_cache
from reviva_dev.cli import app
from tests.local_lake import use_local_lake

KEY = b"k" * 32
NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
CSV = """customer_id,date,amount,email
C-100,2026-11-02,89.50,Ana.Silva@Example.com
C-100,2026-11-20,120,ana.silva@example.com
C-200,2026-11-03,45.00,
C-300,2026-13-01,10,bob@example.com
,2026-11-04,10,carl@example.com
C-400,2026-11-05,-3,dan@example.com
C-100,2026-11-02,89.50,Ana.Silva@Example.com
C-500,2026-11-06,12.5,not-an-address
"""


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LakeTransactionStore]:
    use_local_lake(tmp_path, monkeypatch)
    settings = load_settings()
    yield LakeTransactionStore(lambda: ensure_transactions_table(load_lake_catalog(settings), settings))
    reset_settings_cache()


def _stored(store: LakeTransactionStore) -> list[dict[str, object]]:
    settings = load_settings()
    table = ensure_transactions_table(load_lake_catalog(settings), settings)
    return sorted(table.scan().to_arrow().to_pylist(), key=lambda row: str(row["transaction_date"]))


def test_good_rows_are_stored_bad_rows_reported_by_line(lake: LakeTransactionStore) -> None:
    names = KeyedPseudonyms(KEY)
    report = import_transactions(CSV, lake, names, NOW)

    assert (report.rows, report.added, report.already_stored) == (3, 3, 0)
    assert [(p.line, p.reason) for p in report.problems] == [
        (5, "date '2026-13-01' is not YYYY-MM-DD"),
        (6, "customer_id is missing"),
        (7, "amount is not a non-negative number"),
        (8, "duplicate of an earlier row"),
        (9, "email is not an e-mail address"),
    ]
    rows = _stored(lake)
    assert [(r["customer_key"], str(r["transaction_date"]), r["amount"]) for r in rows] == [
        (names.user_id("C-100"), "2026-11-02", 89.5),
        (names.user_id("C-200"), "2026-11-03", 45.0),
        (names.user_id("C-100"), "2026-11-20", 120.0),
    ]
    # The e-mail links the customer through the pseudonym ingest stores (normalised the same way).
    assert (
        rows[0]["visitor_key"]
        == rows[2]["visitor_key"]
        == email_link_key(names.email("ana.silva@example.com"))
    )
    assert rows[1]["visitor_key"] is None
    assert {r["source"] for r in rows} == {"import"}


def test_a_reimport_adds_nothing(lake: LakeTransactionStore) -> None:
    names = KeyedPseudonyms(KEY)
    import_transactions(CSV, lake, names, NOW)
    again = import_transactions(CSV, lake, names, NOW)
    assert (again.added, again.already_stored) == (0, 3)
    # A later file with one new purchase adds exactly that one.
    later = import_transactions(
        "customer_id,date,amount\nC-200,2026-11-03,45\nC-200,2026-12-01,45\n", lake, names, NOW
    )
    assert (later.added, later.already_stored) == (1, 1)
    assert len(_stored(lake)) == 4


def test_a_user_id_links_to_the_visitor_s_user_key(lake: LakeTransactionStore) -> None:
    names = KeyedPseudonyms(KEY)
    import_transactions("customer_id,date,amount,user_id\nC-1,2026-11-02,10,cust-42\n", lake, names, NOW)
    (row,) = _stored(lake)
    assert row["visitor_key"] == user_key(names.user_id("cust-42"))


def test_no_raw_identifier_reaches_the_lake_files(lake: LakeTransactionStore, tmp_path: Path) -> None:
    import_transactions(CSV, lake, KeyedPseudonyms(KEY), NOW)
    stored = b"".join(path.read_bytes() for path in (tmp_path / "lake").rglob("*") if path.is_file())
    assert stored
    for raw in (b"ana.silva", b"Ana.Silva", b"example.com", b"C-100", b"C-200"):
        assert raw not in stored


def test_a_file_without_the_required_header_is_refused_whole(lake: LakeTransactionStore) -> None:
    with pytest.raises(TransactionFileError, match="missing amount"):
        import_transactions("customer_id,date\nC-1,2026-11-02\n", lake, KeyedPseudonyms(KEY), NOW)


def test_the_cli_command_imports_reports_and_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_local_lake(tmp_path, monkeypatch)
    history = tmp_path / "bookings.csv"
    history.write_text(CSV, encoding="utf-8")
    first = CliRunner().invoke(app, ["import", "transactions", str(history), "--environment"])
    assert first.exit_code == 1, first.output  # rows were left out: say so in the exit code
    assert "Imported 3 transactions (0 already stored, 5 rows left out)." in first.output
    assert "line 5: date '2026-13-01' is not YYYY-MM-DD" in first.output
    assert "example.com" not in first.output
    again = CliRunner().invoke(app, ["import", "transactions", str(history), "--environment"])
    assert "Imported 0 transactions (3 already stored, 5 rows left out)." in again.output
    unreadable = tmp_path / "bad.csv"
    unreadable.write_text("when,what\n1,2\n", encoding="utf-8")
    refused = CliRunner().invoke(app, ["import", "transactions", str(unreadable), "--environment"])
    assert refused.exit_code == 2 and "was not imported" in refused.output
    reset_settings_cache()
