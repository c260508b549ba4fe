"""`reviva import transactions`: a store's booking history into the lake, once, without raw identifiers.

Rows are parsed by `reviva.scoring.transactions` (bad rows reported with their line numbers and
kept out, good rows kept). The customer id becomes the user pseudonym ingest gives a `userId`, and
the optional `user_id` or `email` the identity key enrich links visitors by (`u:` or `e:`), so a
customer's purchases meet the visitors they browsed as; the raw values are never stored. Each
purchase's id is a digest of what identifies it, and ids already stored are skipped: importing the
same file again adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from reviva.contracts.visitor_key import email_link_key, user_key
from reviva.scoring.ports import Pseudonymizer, TransactionStore
from reviva.scoring.stored_transaction import StoredTransaction, transaction_id
from reviva.scoring.transactions import RowProblem, Transaction, parse_transactions_csv


@dataclass
class ImportReport:
    """What one import did."""

    rows: int = 0  # good rows in the file
    added: int = 0
    already_stored: int = 0
    problems: list[RowProblem] = field(default_factory=list)


def stored_row(transaction: Transaction, names: Pseudonymizer, now: datetime) -> StoredTransaction:
    """The lake row of one parsed purchase."""
    customer = names.user_id(transaction.customer_id)
    visitor: str | None = None
    if transaction.identity is not None and transaction.identity_kind == "user_id":
        visitor = user_key(names.user_id(transaction.identity))
    elif transaction.identity is not None and transaction.identity_kind == "email":
        visitor = email_link_key(names.email(transaction.identity))
    return StoredTransaction(
        transaction_id=transaction_id(customer, transaction.day, transaction.amount, visitor),
        customer_key=customer,
        visitor_key=visitor,
        transaction_date=transaction.day,
        amount=round(transaction.amount, 2),
        source="import",
        imported_at=now,
    )


def import_transactions(
    text: str, store: TransactionStore, names: Pseudonymizer, now: datetime
) -> ImportReport:
    """Parse a transactions CSV and store its new purchases; `TransactionFileError` if unreadable."""
    parsed = parse_transactions_csv(text)
    report = ImportReport(rows=len(parsed.transactions), problems=parsed.problems)
    rows = [stored_row(t, names, now) for t in parsed.transactions]
    existing = store.existing_ids({row.transaction_date for row in rows}) if rows else set()
    new = [row for row in rows if row.transaction_id not in existing]
    report.already_stored = len(rows) - len(new)
    report.added = store.append(new) if new else 0
    return report
