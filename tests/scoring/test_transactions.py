"""The transactions parser: CSV with per-row problems by line number, and the CDNOW files as published."""

from __future__ import annotations

from datetime import date

import pytest

from reviva.scoring.transactions import (
    RowProblem,
    Transaction,
    TransactionFileError,
    parse_transactions,
    parse_transactions_csv,
)
from tests.scoring.conftest import CDNOW_SAMPLE, LIFETIMES_DATA


def test_good_rows_are_kept_in_any_column_order() -> None:
    parsed = parse_transactions("Amount,Date,Customer_ID\n12.5,2024-01-03,c1\n0,2024-01-04,c2\n")
    assert parsed.problems == []
    assert parsed.transactions == [
        Transaction("c1", date(2024, 1, 3), 12.5),
        Transaction("c2", date(2024, 1, 4), 0.0),
    ]


def test_bad_rows_are_reported_by_line_and_the_good_ones_kept() -> None:
    text = (
        "customer_id,date,amount\n"  # line 1
        "c1,2024-01-03,10\n"  # 2 kept
        "c1,2024-13-03,10\n"  # 3 bad date
        "c1,03/01/2024,10\n"  # 4 bad date
        "c2,2024-01-03,ten\n"  # 5 bad amount
        "c2,2024-01-03,-4\n"  # 6 negative amount
        ",2024-01-03,4\n"  # 7 missing id
        "c1,2024-01-03,10\n"  # 8 duplicate of line 2
        "\n"  # 9 blank: skipped silently
        "c3,2024-01-05\n"  # 10 a field short
        "c1,2024-01-03,11\n"  # 11 kept: same day, another amount
        "c4,2024-01-06,nan\n"  # 12 not finite
    )
    parsed = parse_transactions(text)
    assert [t.customer_id for t in parsed.transactions] == ["c1", "c1"]
    assert [(p.line, p.reason.split(" ")[0]) for p in parsed.problems] == [
        (3, "date"),
        (4, "date"),
        (5, "amount"),
        (6, "amount"),
        (7, "customer_id"),
        (8, "duplicate"),
        (10, "2"),
        (12, "amount"),
    ]
    assert parsed.problems[0] == RowProblem(3, "date '2024-13-03' is not YYYY-MM-DD")


def test_an_email_column_links_customers_and_is_never_echoed() -> None:
    text = (
        "customer_id,date,amount,email\n"
        "c1,2024-01-03,5,ann@example.com\nc2,2024-01-03,5,ann.example.com\nc3,2024-01-04,5,\n"
    )
    parsed = parse_transactions_csv(text)
    assert parsed.transactions[0].identity == "ann@example.com"
    assert parsed.transactions[0].identity_kind == "email"
    assert parsed.transactions[1] == Transaction("c3", date(2024, 1, 4), 5.0)
    assert parsed.problems == [RowProblem(3, "email is not an e-mail address")]
    assert "ann" not in parsed.problems[0].reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("customer_id,amount\nc1,3\n", "missing date"),
        ("customer_id,date,amount,user_id,email\n", "not both"),
    ],
)
def test_a_header_that_makes_the_file_unusable_is_an_error(text: str, message: str) -> None:
    with pytest.raises(TransactionFileError, match=message):
        parse_transactions_csv(text)


def test_the_cdnow_sample_as_published() -> None:
    parsed = parse_transactions(CDNOW_SAMPLE.read_text(encoding="utf-8"))
    assert parsed.problems == []
    assert len(parsed.transactions) == 6919
    assert len({t.customer_id for t in parsed.transactions}) == 2357
    # The first line: " 00004 0001 19970101  2   29.33": the first id, not the sample's own.
    assert parsed.transactions[0] == Transaction("00004", date(1997, 1, 1), 29.33)


def test_the_cdnow_master_file_with_the_header_some_copies_carry() -> None:
    lines = (LIFETIMES_DATA / "CDNOW_master.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0].split()[0] == "customer_id"
    parsed = parse_transactions("\n".join(lines[:1001]))
    assert parsed.problems == []
    assert len(parsed.transactions) == 1000
    assert parsed.transactions[0] == Transaction("00001", date(1997, 1, 1), 11.77)


def test_bad_cdnow_lines_are_reported_by_line() -> None:
    text = (
        " 00001 19970101  1   11.77\n 00002 19971301  1   12.00\n 00003 19970102  x\n 00004 19970102 1 -3\n"
    )
    parsed = parse_transactions(text)
    assert len(parsed.transactions) == 1
    assert [p.line for p in parsed.problems] == [2, 3, 4]
    assert parsed.problems[0].reason == "date '19971301' is not YYYYMMDD"
