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


@dataclass(frozen=True)
class Chain:
    """The first-order chain start → touches → conversion / null, with its states numbered.

    `states` is START, the touches (sorted), CONVERSION, NULL; `probabilities[i]` maps each state j
    that state i moves to onto P(i → j) (CONVERSION and NULL absorb: their rows are empty).
    """

    states: list[State]
    probabilities: list[dict[int, float]]


def chain(paths: Sequence[PathCount]) -> Chain:
    """The chain's transition probabilities: journeys per transition over the journeys leaving.

    A transition from a touch to the same touch is left out before normalising, as
    ChannelAttribution does: a repeated visit through one channel says nothing about which channel
    leads on, and a self-loop with a share near 1 would only make the chain slow to leave that state.
    """
    touches = sorted({touch for path in paths for touch in path.touches}, key=_state_order)
    states: list[State] = [START, *touches, CONVERSION, NULL]
    index = {state: i for i, state in enumerate(states)}
    conversion, null = len(states) - 2, len(states) - 1
    counts: list[dict[int, float]] = [defaultdict(float) for _ in states]
    for path in paths:
        steps = [0, *(index[touch] for touch in path.touches)]
        for end, journeys in ((conversion, path.conversions), (null, path.non_conversions)):
            if journeys <= 0:
                continue
            for source, target in zip(steps, [*steps[1:], end], strict=True):
                if source != target:
                    counts[source][target] += journeys
    probabilities = []
    for row in counts:
        leaving = sum(row.values())
        probabilities.append({target: count / leaving for target, count in row.items()})
    return Chain(states, probabilities)


def transition_probabilities(paths: Sequence[PathCount]) -> dict[State, dict[State, float]]:
    """P(source → target) for every transition some journey made (self-loops dropped first)."""
    built = chain(paths)
    return {
        built.states[i]: {built.states[j]: p for j, p in row.items()}
        for i, row in enumerate(built.probabilities)
        if row
    }


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
    conversion), and P(reach k from start) = N(start, k) / N(k, k). One matrix inversion gives every
    touch's effect, with no iteration to stop early.

    Revenue, as in ChannelAttribution: a conversion reached from touch s is worth the mean revenue
    of the conversions whose last touch is s; the same algebra on expected revenue gives the
    revenue removal effects.
    """
    built = chain(paths)
    touches = [state for state in built.states[1:-2] if not isinstance(state, str)]
    if not touches:
        return RemovalEffects({}, {})
    size = len(touches) + 1  # START and the touches: the transient states
    conversion = size  # CONVERSION's index
    revenue: dict[TouchKey, float] = defaultdict(float)
    converted: dict[TouchKey, int] = defaultdict(int)
    for path in paths:
        if path.conversions > 0 and path.touches:
            revenue[path.touches[-1]] += path.revenue
            converted[path.touches[-1]] += path.conversions
    worth = [0.0] + [revenue[touch] / converted[touch] if converted[touch] else 0.0 for touch in touches]
    to_conversion = [built.probabilities[i].get(conversion, 0.0) for i in range(size)]
    identity_minus_q = [
        [(1.0 if i == j else 0.0) - built.probabilities[i].get(j, 0.0) for j in range(size)]
        for i in range(size)
    ]
    # Every transient state lies on some journey that ends in conversion or null, so I - Q is
    # invertible; it is diagonally dominant (no self-loops, rows of Q sum to at most 1).
    fundamental = _inverse(identity_minus_q)
    converts = [sum(n * b for n, b in zip(row, to_conversion, strict=True)) for row in fundamental]
    earns = [sum(n * b * w for n, b, w in zip(row, to_conversion, worth, strict=True)) for row in fundamental]
    reach = [fundamental[0][k] / fundamental[k][k] for k in range(size)]
    return RemovalEffects(
        conversions=_effects(touches, reach, converts),
        revenue=_effects(touches, reach, earns),
    )


def _effects(touches: list[TouchKey], reach: list[float], value: list[float]) -> dict[TouchKey, float]:
    """Removal effect of each touch (state i + 1): reach(k) · value(k) / value(start)."""
    if value[0] <= 0:
        return dict.fromkeys(touches, 0.0)
    return {touch: reach[i + 1] * value[i + 1] / value[0] for i, touch in enumerate(touches)}


def _inverse(matrix: list[list[float]]) -> list[list[float]]:
    """The inverse of I - Q for a chain's transient states: in-place Gauss-Jordan elimination.

    I - Q of an absorbing chain (Q substochastic, every state able to reach absorption) is a
    nonsingular M-matrix, so elimination needs no pivoting: every pivot stays positive and the
    entries do not grow. Plain Python on purpose: numpy would not fit in the query function's layers
    beside the lake's (Lambda's 250 MB); a chain has one state per channel and campaign.
    """
    size = len(matrix)
    rows = [list(row) for row in matrix]
    for k in range(size):
        pivot = rows[k][k]
        if pivot <= 0.0:
            raise ArithmeticError("not the matrix of an absorbing chain: a pivot is not positive")
        rows[k][k] = 1.0
        lead = rows[k] = [value / pivot for value in rows[k]]
        for i in range(size):
            factor = rows[i][k]
            if i != k and factor != 0.0:
                rows[i][k] = 0.0
                rows[i] = [a - factor * b for a, b in zip(rows[i], lead, strict=True)]
    return rows


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
