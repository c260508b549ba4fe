"""Each customer's purchase history, and the frequency, recency, age and spend the models fit on.

Time is in weeks (days / 7), the unit of the published CDNOW parameters. Purchases on one day are
one purchase whose amount is the day's total: a second order on the same day says little about how
often the customer comes back. A customer's first purchase day is their birth; only the purchases
after it are *repeat* purchases, which is what BG/NBD counts and Gamma-Gamma averages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from reviva.scoring.transactions import Transaction

DAYS_PER_WEEK = 7.0
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class CustomerHistory:
    """One customer's purchase days (ascending, distinct) and each day's total amount."""

    customer_id: str
    days: tuple[date, ...]
    amounts: tuple[float, ...]


def histories_from_transactions(transactions: Iterable[Transaction]) -> list[CustomerHistory]:
    """Group purchases by customer and by day (a day's purchases become one); ordered by customer id."""
    by_customer: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for transaction in transactions:
        by_customer[transaction.customer_id][transaction.day] += transaction.amount
    histories = []
    for customer_id in sorted(by_customer):
        daily = by_customer[customer_id]
        days = tuple(sorted(daily))
        histories.append(CustomerHistory(customer_id, days, tuple(daily[day] for day in days)))
    return histories


@dataclass(frozen=True)
class CustomerSummary:
    """Per customer, as of a cutoff (inclusive): the RFM figures, in weeks, one array entry each.

    `frequency` counts repeat purchase days, `recency` is the age at the last purchase, `age` (the
    literature's T) the time from the first purchase to the cutoff, `monetary` the mean repeat
    purchase amount (0 without repeats), `first_amount` the first day's total.
    """

    customer_ids: tuple[str, ...]
    frequency: FloatArray
    recency: FloatArray
    age: FloatArray
    monetary: FloatArray
    first_amount: FloatArray
    cutoff: date

    def __len__(self) -> int:
        return len(self.customer_ids)


def _weeks(later: date, earlier: date) -> float:
    return (later - earlier).days / DAYS_PER_WEEK


def customers_born_by(histories: Iterable[CustomerHistory], cutoff: date) -> list[CustomerHistory]:
    """The customers whose first purchase is on or before the cutoff."""
    return [history for history in histories if history.days and history.days[0] <= cutoff]


def summarize(histories: list[CustomerHistory], cutoff: date) -> CustomerSummary:
    """The RFM summary as of `cutoff` of the given customers (each must be born by then)."""
    size = len(histories)
    frequency, recency, age = np.zeros(size), np.zeros(size), np.zeros(size)
    monetary, first_amount = np.zeros(size), np.zeros(size)
    for index, history in enumerate(histories):
        first = history.days[0]
        if first > cutoff:
            raise ValueError(f"customer {index} has no purchase by {cutoff.isoformat()}")
        seen = [i for i, day in enumerate(history.days) if day <= cutoff]
        last = history.days[seen[-1]]
        repeats = [history.amounts[i] for i in seen[1:]]
        frequency[index] = len(repeats)
        recency[index] = _weeks(last, first)
        age[index] = _weeks(cutoff, first)
        monetary[index] = float(np.mean(repeats)) if repeats else 0.0
        first_amount[index] = history.amounts[0]
    return CustomerSummary(
        tuple(h.customer_id for h in histories), frequency, recency, age, monetary, first_amount, cutoff
    )


def purchases_between(histories: list[CustomerHistory], start: date, end: date) -> FloatArray:
    """Per customer, the purchase days in (start, end]."""
    return np.array([sum(1 for day in h.days if start < day <= end) for h in histories], dtype=float)


def spend_between(histories: list[CustomerHistory], start: date, end: date) -> FloatArray:
    """Per customer, the amount spent in (start, end]."""
    return np.array(
        [sum(a for day, a in zip(h.days, h.amounts, strict=True) if start < day <= end) for h in histories],
        dtype=float,
    )


def purchase_gaps(histories: list[CustomerHistory], cutoff: date) -> FloatArray:
    """Every gap, in weeks, between consecutive purchase days of a customer up to the cutoff."""
    gaps = [
        _weeks(later, earlier)
        for h in histories
        for earlier, later in zip(h.days, h.days[1:], strict=False)
        if later <= cutoff
    ]
    return np.array(gaps, dtype=float)
