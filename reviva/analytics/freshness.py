"""How fresh an answer is: where it came from, when its data last changed, when it was made."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from reviva.analytics.answers import Answer
from reviva.analytics.ports import QueryExecutor


def iso_utc(value: datetime | None) -> str | None:
    """An ISO 8601 UTC time ending in Z, or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Freshness(Answer):
    """`source` says what answered: the lake, stored rollups, or rollups some computed on the spot."""

    source: Literal["lake", "rollup", "rollup+lake"]
    data_as_of: str | None
    generated_at: str | None


def lake_freshness(executor: QueryExecutor, now: datetime) -> Freshness:
    """An answer computed from the lake now: fresh as the lake's newest commit."""
    return Freshness(source="lake", data_as_of=iso_utc(executor.data_as_of()), generated_at=iso_utc(now))


def rollup_freshness(rollups: list[dict[str, Any]], computed: bool, now: datetime) -> Freshness:
    """An answer from daily rollups: fresh as the newest of them (`computed`: some were made now)."""
    stamps = [str(r["data_as_of"]) for r in rollups if r.get("data_as_of")]
    newest = max((datetime.fromisoformat(s) for s in stamps), default=None)
    return Freshness(
        source="rollup+lake" if computed else "rollup",
        data_as_of=iso_utc(newest),
        generated_at=iso_utc(now),
    )
