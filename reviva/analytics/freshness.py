"""How fresh an answer is: where it came from, what lake commit it reflects, when it was computed,
and whether its period is still running (docs/api-analytics.md, "Freshness")."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

from reviva.analytics.answers import Answer
from reviva.analytics.ports import QueryExecutor

if TYPE_CHECKING:  # rollups import this module's neighbours; only the type is needed here
    from reviva.analytics.rollups import RollupRead


def iso_utc(value: datetime | None) -> str | None:
    """An ISO 8601 UTC time ending in Z, or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Freshness(Answer):
    """`source` says what answered: the lake, stored rollups, or rollups some computed on the spot.

    `data_as_of` is the lake commit every figure reflects (a later commit may add data the answer
    does not hold yet); `computed_at` when the oldest figure was computed from the lake;
    `generated_at` when the answer was made. `partial` is true when the range ends today (UTC) or
    later, so its last day is still filling up; `complete_through` is the last day of the range that
    had ended. `recomputed_days` counts the days computed from the lake for this answer (missing, or
    reached by late data); `lagging_days` the days whose newer data is not in the answer yet (their
    rollup is younger than the minimum age; the schedule or a later read recomputes them).
    """

    source: Literal["lake", "rollup", "rollup+lake"]
    data_as_of: str | None
    computed_at: str | None
    generated_at: str | None
    partial: bool
    complete_through: date | None
    recomputed_days: int = 0
    lagging_days: int = 0


def is_partial(day: date, now: datetime) -> bool:
    """Whether `day` had not ended (UTC) at `now`: its figures will still grow."""
    return day >= now.astimezone(UTC).date()


def _complete_through(first: date, last: date, now: datetime) -> date | None:
    today = now.astimezone(UTC).date()
    if last < today:
        return last
    if first < today:
        return date.fromordinal(today.toordinal() - 1)
    return None


def lake_freshness(
    executor: QueryExecutor, now: datetime, first: date | None = None, last: date | None = None
) -> Freshness:
    """An answer computed from the lake now: fresh as the lake's newest commit.

    With the answer's range (`first`..`last`), it also says whether the period is still running.
    """
    stamp = iso_utc(now)
    return Freshness(
        source="lake",
        data_as_of=iso_utc(executor.data_as_of()),
        computed_at=stamp,
        generated_at=stamp,
        partial=last is not None and is_partial(last, now),
        complete_through=_complete_through(first, last, now) if first and last else None,
    )


def rollup_freshness(read: RollupRead, first: date, last: date, now: datetime) -> Freshness:
    """An answer from the daily rollups of first..last (as `RollupService.days` read them).

    Every day not lagging is current with the lake version the change log reached, so the answer
    reflects that commit; a lagging day holds data only as of its own rollup.
    """
    used = [read.days[day] for day in sorted(read.days) if first <= day <= last]
    lagging = [day for day in read.lagging if first <= day <= last]
    as_of: list[datetime] = [read.lake.committed_at] if read.lake else []
    as_of += [stamp for day in lagging if (stamp := _stamp(read.days[day], "data_as_of")) is not None]
    computed = [stamp for rollup in used if (stamp := _stamp(rollup, "computed_at")) is not None]
    recomputed = [day for day in read.recomputed if first <= day <= last]
    return Freshness(
        source="rollup+lake" if recomputed else "rollup",
        data_as_of=iso_utc(min(as_of, default=None)),
        computed_at=iso_utc(min(computed, default=None)),
        generated_at=iso_utc(now),
        partial=is_partial(last, now),
        complete_through=_complete_through(first, last, now),
        recomputed_days=len(recomputed),
        lagging_days=len(lagging),
    )


def _stamp(rollup: dict[str, Any], name: str) -> datetime | None:
    value = rollup.get(name)
    return datetime.fromisoformat(str(value)) if value else None
