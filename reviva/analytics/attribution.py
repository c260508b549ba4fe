"""Attribution models: how each conversion's credit (and revenue) is shared among its touches.

Rule-based models share each conversion's 1 credit over that conversion's touches; the Markov
model shares the total by removal effects over every path: one per conversion (that conversion's
touches, as the rule-based models see them) and the journeys that ended without one. Either way
every model hands out exactly the conversions and revenue there are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

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


@dataclass(frozen=True)
class PathCount:
    """One distinct touch path (oldest touch first) and the journeys that took it.

    `revenue` is the summed revenue of its `conversions`; `non_conversions` journeys ended without one.
    """

    touches: tuple[TouchKey, ...]
    conversions: int
    non_conversions: int
    revenue: float = 0.0


START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"
State = TouchKey | str  # a touch, or one of START / CONVERSION / NULL


def transition_counts(paths: Iterable[PathCount]) -> dict[State, dict[State, float]]:
    """Journeys per transition of the first-order chain start → touches → conversion / null.

    A transition from a touch to the same touch is left out before anything is normalised, as
    ChannelAttribution does: a repeated visit through one channel says nothing about which channel
    leads on, and a self-loop with a share near 1 would only make the chain slow to leave that state.
    """
    counts: dict[State, dict[State, float]] = defaultdict(lambda: defaultdict(float))
    for path in paths:
        chain: list[State] = [START, *path.touches]
        for end, journeys in ((CONVERSION, path.conversions), (NULL, path.non_conversions)):
            if journeys <= 0:
                continue
            for source, target in zip(chain, [*chain[1:], end], strict=True):
                if source != target:
                    counts[source][target] += journeys
    return {source: dict(targets) for source, targets in counts.items()}


def transition_probabilities(paths: Iterable[PathCount]) -> dict[State, dict[State, float]]:
    """P(source → target): each state's transition counts over its total (self-loops dropped first)."""
    probabilities: dict[State, dict[State, float]] = {}
    for source, targets in transition_counts(paths).items():
        total = sum(targets.values())
        probabilities[source] = {target: count / total for target, count in targets.items()}
    return probabilities


@dataclass(frozen=True)
class RemovalEffects:
    """Per touch: how much of P(conversion) and of the expected revenue is lost when it is removed."""

    conversions: dict[TouchKey, float]
    revenue: dict[TouchKey, float]


def removal_effects(paths: Sequence[PathCount]) -> RemovalEffects:
    """First-order Markov removal effects, solved exactly on the absorbing chain.

    Removing a touch k sends every journey reaching it to null, so P'(conversion) = P(conversion) -
    P(reach k from start) · P(conversion from k) (strong Markov property at the first visit of k),
    and its removal effect is 1 - P'/P. With N = (I - Q)^-1 the chain's fundamental matrix (Q: the
    transitions among start and the touches), P(conversion from s) = (N·b)(s) for b(s) = P(s →
    conversion), and P(reach k from start) = N(start, k) / N(k, k). One linear solve gives every
    touch's effect, with no iteration to stop early.

    Revenue, as in ChannelAttribution: a conversion reached from touch s is worth the mean revenue
    of the conversions whose last touch is s; the same algebra on expected revenue gives the
    revenue removal effects.
    """
    paths = list(paths)
    probabilities = transition_probabilities(paths)
    touches = sorted({touch for path in paths for touch in path.touches}, key=_state_order)
    if START not in probabilities or not touches:
        return RemovalEffects({}, {})
    states: list[State] = [START, *touches]
    index = {state: i for i, state in enumerate(states)}
    size = len(states)
    transient = np.zeros((size, size))
    to_conversion = np.zeros(size)
    for source, targets in probabilities.items():
        for target, probability in targets.items():
            if target == CONVERSION:
                to_conversion[index[source]] = probability
            elif target != NULL:
                transient[index[source], index[target]] = probability
    revenue_sum: dict[State, float] = defaultdict(float)
    conversion_sum: dict[State, int] = defaultdict(int)
    for path in paths:
        if path.conversions > 0 and path.touches:
            revenue_sum[path.touches[-1]] += path.revenue
            conversion_sum[path.touches[-1]] += path.conversions
    value_per_conversion = np.array(
        [revenue_sum[s] / conversion_sum[s] if conversion_sum[s] else 0.0 for s in states]
    )
    # Every state is on some journey that ends in conversion or null, so I - Q is invertible.
    fundamental = np.linalg.solve(np.eye(size) - transient, np.eye(size))
    conversion = fundamental @ to_conversion
    revenue = fundamental @ (to_conversion * value_per_conversion)
    reach = fundamental[0, :] / np.diagonal(fundamental)
    return RemovalEffects(
        conversions=_effects(touches, reach, conversion),
        revenue=_effects(touches, reach, revenue),
    )


def _effects(touches: list[TouchKey], reach: np.ndarray, value: np.ndarray) -> dict[TouchKey, float]:
    """Removal effect of each touch (state i + 1): reach(k) · value(k) / value(start)."""
    if value[0] <= 0:
        return dict.fromkeys(touches, 0.0)
    return {touch: float(reach[i + 1] * value[i + 1] / value[0]) for i, touch in enumerate(touches)}


def _state_order(touch: TouchKey) -> tuple[str, str]:
    return touch[0], touch[1] or ""


def markov(paths: Sequence[PathCount]) -> dict[TouchKey, list[float]]:
    """Share the paths' conversions and revenue by normalised removal effects (conversions by the
    conversion effects, revenue by the revenue effects); the shares sum to the paths' totals."""
    total_conversions = float(sum(path.conversions for path in paths))
    total_revenue = sum(path.revenue for path in paths)
    if total_conversions <= 0:
        return {}
    effects = removal_effects(paths)
    conversion_total = sum(effects.conversions.values())
    revenue_total = sum(effects.revenue.values())
    credit: dict[TouchKey, list[float]] = {}
    for touch, effect in effects.conversions.items():
        revenue_effect = effects.revenue.get(touch, 0.0)
        credit[touch] = [
            total_conversions * effect / conversion_total if conversion_total > 0 else 0.0,
            total_revenue * revenue_effect / revenue_total if revenue_total > 0 else 0.0,
        ]
    return credit
