"""Customers drawn from the BG/NBD process itself, for tests that need a known truth.

Every customer is born with a purchase at week 0 of their own clock; while active they buy as a
Poisson process of rate lambda ~ Gamma(r, alpha), and after each repeat purchase drop out with probability
p ~ Beta(a, b), as the model assumes.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from reviva.scoring.bgnbd import BgNbdParameters


def simulate_purchase_weeks(
    params: BgNbdParameters, weeks: float, customers: int, seed: int
) -> list[list[float]]:
    """Each customer's purchase times in weeks after their birth, up to `weeks` (the first is 0)."""
    rng = np.random.default_rng(seed)
    rates = rng.gamma(params.r, 1.0 / params.alpha, size=customers)
    dropouts = rng.beta(params.a, params.b, size=customers)
    histories = []
    for rate, dropout in zip(rates, dropouts, strict=True):
        times = [0.0]
        clock = 0.0
        while True:
            clock += rng.exponential(1.0 / rate)
            if clock > weeks:
                break
            times.append(clock)
            if rng.random() < dropout:
                break
        histories.append(times)
    return histories


def simulated_transactions_csv(
    params: BgNbdParameters, customers: int, start: date, birth_days: int, total_days: int, seed: int
) -> str:
    """A `customer_id,date,amount` CSV of simulated customers born over the first `birth_days`."""
    rng = np.random.default_rng(seed + 1)
    lines = ["customer_id,date,amount"]
    for index, weeks in enumerate(simulate_purchase_weeks(params, total_days / 7, customers, seed)):
        birth = start + timedelta(days=int(rng.integers(0, birth_days)))
        spend = rng.gamma(6.0, 4.0)
        for week in weeks:
            day = birth + timedelta(days=int(week * 7))
            if (day - start).days < total_days:
                lines.append(f"c{index:05d},{day.isoformat()},{rng.gamma(6.0, spend / 6.0):.2f}")
    return "\n".join(lines) + "\n"
