"""Attribution models: how each conversion's credit (and revenue) is shared among its touches.

Rule-based models share each conversion's 1 credit over that conversion's touches; the Markov
model shares the total by removal effects over all visitors' paths. Either way every model hands
out exactly the conversions and revenue there are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

TouchKey = tuple[str, str | None]  # (channel, campaign)
RULE_MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based")
MODELS = (*RULE_MODELS, "markov")
HALF_LIFE_DAYS = 7.0
NO_TOUCH: TouchKey = ("(none)", None)


@dataclass
class Conversion:
    """A conversion and its touches (oldest first)."""

    conversion_id: str
    converted_at: datetime
    revenue: float
    touches: list[tuple[TouchKey, datetime]] = field(default_factory=list)


def weights(model: str, conversion: Conversion) -> list[float]:
    """The share of each touch of one conversion under a rule-based model (sums to 1)."""
    count = len(conversion.touches)
    if count == 1:
        return [1.0]
    if model == "first_touch":
        return [1.0] + [0.0] * (count - 1)
    if model == "last_touch":
        return [0.0] * (count - 1) + [1.0]
    if model == "linear":
        return [1.0 / count] * count
    if model == "time_decay":
        raw = [
            2.0 ** (-((conversion.converted_at - at).total_seconds() / 86400) / HALF_LIFE_DAYS)
            for _, at in conversion.touches
        ]
        total = sum(raw)
        return [r / total for r in raw]
    if model == "position_based":
        if count == 2:
            return [0.5, 0.5]
        middle = 0.2 / (count - 2)
        return [0.4] + [middle] * (count - 2) + [0.4]
    raise ValueError(f"unknown model {model!r}")


def rule_based(model: str, conversions: Iterable[Conversion]) -> dict[TouchKey, list[float]]:
    """(channel, campaign) → [conversions, revenue] credited by a rule-based model."""
    credit: dict[TouchKey, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for conversion in conversions:
        touched = conversion
        if not conversion.touches:
            touched = Conversion(
                conversion.conversion_id,
                conversion.converted_at,
                conversion.revenue,
                [(NO_TOUCH, conversion.converted_at)],
            )
        for (key, _), share in zip(touched.touches, weights(model, touched), strict=True):
            credit[key][0] += share
            credit[key][1] += share * conversion.revenue
    return dict(credit)


START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


def _conversion_probability(
    transitions: dict[str, list[tuple[str, float]]], removed: str | None = None, tolerance: float = 1e-10
) -> float:
    """P(reaching conversion from start) in the absorbing chain, with `removed` sending to null.

    Gauss-Seidel iteration on p(s) = sum over t of P(s→t)·p(t), p(conversion) = 1, p(null) = 0;
    touch paths are nearly acyclic, so it converges in a few sweeps.
    """
    probability = dict.fromkeys(transitions, 0.0)
    probability[CONVERSION], probability[NULL] = 1.0, 0.0
    if removed is not None:
        probability[removed] = 0.0
    states = [s for s in transitions if s != removed]
    for _ in range(1000):
        delta = 0.0
        for state in states:
            value = 0.0
            for target, share in transitions[state]:
                value += share * probability.get(target, 0.0)
            delta = max(delta, abs(value - probability[state]))
            probability[state] = value
        if delta < tolerance:
            break
    return probability.get(START, 0.0)


def removal_effects(paths: Iterable[tuple[Sequence[TouchKey], int, int]]) -> dict[TouchKey, float]:
    """First-order Markov removal effect of each touch, from (path, conversions, non-conversions)."""
    transitions: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    names: dict[str, TouchKey] = {}
    for path, converted, not_converted in paths:
        states = []
        for key in path:
            name = f"{key[0]}\x1f{key[1] or ''}"
            names[name] = key
            states.append(name)
        chain = [START, *states]
        for end, weight in ((CONVERSION, converted), (NULL, not_converted)):
            if weight <= 0:
                continue
            for source, target in zip(chain, [*states, end], strict=True):
                transitions[source][target] += weight
    normalized: dict[str, list[tuple[str, float]]] = {}
    for source, targets in transitions.items():
        total = sum(targets.values())
        normalized[source] = [(target, count / total) for target, count in targets.items()]
    base = _conversion_probability(normalized)
    if base <= 0:
        return {}
    return {
        key: max(0.0, 1 - _conversion_probability(normalized, name) / base) for name, key in names.items()
    }


def markov(
    paths: Iterable[tuple[Sequence[TouchKey], int, int]], total_conversions: float, total_revenue: float
) -> dict[TouchKey, list[float]]:
    """Share the totals by normalized removal effects."""
    effects = removal_effects(paths)
    total_effect = sum(effects.values())
    if total_effect <= 0:
        return {NO_TOUCH: [total_conversions, total_revenue]} if total_conversions else {}
    return {
        key: [total_conversions * effect / total_effect, total_revenue * effect / total_effect]
        for key, effect in effects.items()
        if effect > 0
    }
