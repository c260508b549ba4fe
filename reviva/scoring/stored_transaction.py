"""A purchase as the lake's `transactions` table stores it: pseudonyms only, never a raw identifier."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

TransactionSource = Literal["import", "event"]


@dataclass(frozen=True)
class StoredTransaction:
    """One row of the `transactions` lake table.

    `customer_key` is the user pseudonym of the store's customer id (so a customer id that is also
    the site's user id meets that visitor's `u:` key); `visitor_key` the identity key the file's
    `user_id` (`u:<pseudonym>`) or `email` (`e:<pseudonym>`) links the customer to, if given.
    """

    transaction_id: str
    customer_key: str
    visitor_key: str | None
    transaction_date: date
    amount: float
    source: TransactionSource
    imported_at: datetime


def transaction_id(customer_key: str, day: date, amount: float, visitor_key: str | None) -> str:
    """The id a purchase keeps however often its file is imported: a digest of what identifies it.

    Amounts are taken to the cent, so 19.9 and 19.90 are one purchase.
    """
    identity = f"{customer_key}|{day.isoformat()}|{round(amount * 100)}|{visitor_key or ''}"
    return "t_" + hashlib.blake2b(identity.encode(), digest_size=16).hexdigest()
