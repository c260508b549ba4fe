"""A store's purchase history as rows: the CSV `reviva import transactions` takes, and the CDNOW files.

CSV: a header naming `customer_id,date,amount` (any order, case-insensitive), optionally `user_id`
or `email`, the identity that links a customer to visitors (pseudonymized by whoever stores it;
this module never logs or echoes it). Dates are YYYY-MM-DD, amounts non-negative numbers.

CDNOW (Fader and Hardie's published files): whitespace-separated, the customer id first, then the
date as YYYYMMDD, the quantity and the amount; the 2,357-customer sample carries one more id after
the customer id. A first line that is not data (a header some copies add) is skipped.

A bad row (unreadable date or amount, missing customer id, in a CSV a repeat of an earlier row with
the same customer, date, amount and identity) is reported with its line number and reason and left
out; the good rows are kept. Two orders of one customer on one day count as one purchase anyway
(their amounts add up), so a CSV gives them as one row with the day's total.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import date

REQUIRED_COLUMNS = ("customer_id", "date", "amount")
IDENTITY_COLUMNS = ("user_id", "email")


class TransactionFileError(ValueError):
    """The file as a whole cannot be read (no header, a required column missing); no row is kept."""


@dataclass(frozen=True)
class Transaction:
    """One purchase: who, which day, how much; `identity` is the raw user id or e-mail, if given."""

    customer_id: str
    day: date
    amount: float
    identity: str | None = None
    identity_kind: str | None = None  # "user_id" or "email"


@dataclass(frozen=True)
class RowProblem:
    """A row left out: its line number in the file (the header is line 1) and why."""

    line: int
    reason: str


@dataclass
class ParsedTransactions:
    """The rows kept and the rows left out."""

    transactions: list[Transaction] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def parse_transactions(text: str) -> ParsedTransactions:
    """Parse a CSV or a CDNOW file, told apart by the first non-empty line (a comma means CSV)."""
    text = text.lstrip("\ufeff")
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "," in first:
        return parse_transactions_csv(text)
    return parse_cdnow(text)


def _parse_amount(value: str) -> float | None:
    try:
        amount = float(value)
    except ValueError:
        return None
    if not math.isfinite(amount) or amount < 0:
        return None
    return amount


def parse_transactions_csv(text: str) -> ParsedTransactions:
    """Parse the CSV format; raise TransactionFileError only when the header makes the file unusable."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise TransactionFileError(
            "the file is empty; its header must name customer_id,date,amount"
        ) from None
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise TransactionFileError(
            f"the header must name {','.join(REQUIRED_COLUMNS)}; missing {', '.join(missing)}"
        )
    identities = [name for name in IDENTITY_COLUMNS if name in header]
    if len(identities) > 1:
        raise TransactionFileError("the header may name user_id or email, not both")
    identity_kind = identities[0] if identities else None
    position = {name: header.index(name) for name in (*REQUIRED_COLUMNS, *identities)}

    parsed = ParsedTransactions()
    seen: set[tuple[str, date, float, str | None]] = set()
    for fields in reader:
        line = reader.line_num
        if not any(value.strip() for value in fields):
            continue
        if len(fields) != len(header):
            parsed.problems.append(
                RowProblem(line, f"{len(fields)} fields where the header has {len(header)}")
            )
            continue
        customer_id = fields[position["customer_id"]].strip()
        if not customer_id:
            parsed.problems.append(RowProblem(line, "customer_id is missing"))
            continue
        raw_date = fields[position["date"]].strip()
        try:
            day = date.fromisoformat(raw_date)
        except ValueError:
            # The date is the file's own value, not personal data: echoing it helps fix the file.
            parsed.problems.append(RowProblem(line, f"date {raw_date[:32]!r} is not YYYY-MM-DD"))
            continue
        amount = _parse_amount(fields[position["amount"]].strip())
        if amount is None:
            parsed.problems.append(RowProblem(line, "amount is not a non-negative number"))
            continue
        identity = fields[position[identity_kind]].strip() or None if identity_kind else None
        if identity_kind == "email" and identity is not None and "@" not in identity:
            # Never echo the value: it may be personal data.
            parsed.problems.append(RowProblem(line, "email is not an e-mail address"))
            continue
        key = (customer_id, day, amount, identity)
        if key in seen:
            parsed.problems.append(RowProblem(line, "duplicate of an earlier row"))
            continue
        seen.add(key)
        parsed.transactions.append(
            Transaction(customer_id, day, amount, identity, identity_kind if identity else None)
        )
    return parsed


def _parse_cdnow_date(value: str) -> date | None:
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def parse_cdnow(text: str) -> ParsedTransactions:
    """Parse a CDNOW file: `id date qty amount` (master) or `id id2 date qty amount` (the sample)."""
    # No duplicate check here: CDNOW has no order id, and identical lines are separate orders of one
    # day (the published summaries, and so the reference parameters, add their amounts up).
    parsed = ParsedTransactions()
    first_data_line = True
    for line, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields:
            continue
        if first_data_line:
            first_data_line = False
            if not fields[0].isdigit():
                continue  # a header line
        if len(fields) not in (4, 5):
            parsed.problems.append(RowProblem(line, f"{len(fields)} fields where CDNOW has 4 or 5"))
            continue
        customer_id = fields[0]
        day = _parse_cdnow_date(fields[-3])
        if day is None:
            parsed.problems.append(RowProblem(line, f"date {fields[-3][:32]!r} is not YYYYMMDD"))
            continue
        amount = _parse_amount(fields[-1])
        if amount is None:
            parsed.problems.append(RowProblem(line, "amount is not a non-negative number"))
            continue
        parsed.transactions.append(Transaction(customer_id, day, amount))
    return parsed
