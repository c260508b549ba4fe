"""Ad spend imported from CSV (`reviva import spend FILE.csv`), for CAC, ROAS and ROI.

CSV header: date,channel,campaign,spend. Rows are keyed by (date, channel, campaign); importing a
row again replaces it, so re-importing a corrected export is safe.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from reviva.analytics.ports import ObjectStore
from reviva.analytics.store import get_json, put_json

SPEND_KEY = "spend/spend.json"
REQUIRED_COLUMNS = ("date", "channel", "campaign", "spend")


class SpendFileError(ValueError):
    """The CSV is malformed; the message names the line and the problem."""


@dataclass(frozen=True)
class SpendRow:
    day: date
    channel: str
    campaign: str  # "" for channel-level spend
    spend: float


def parse_spend_csv(text: str) -> list[SpendRow]:
    """Parse and validate the whole file (nothing is imported when a line is wrong)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise SpendFileError(
            f"the header must name {', '.join(REQUIRED_COLUMNS)}; missing {', '.join(missing)}"
        )
    rows: list[SpendRow] = []
    for line, raw in enumerate(reader, start=2):
        record = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        try:
            day = date.fromisoformat(record["date"])
        except ValueError:
            raise SpendFileError(f"line {line}: date {record['date']!r} is not YYYY-MM-DD") from None
        if not record["channel"]:
            raise SpendFileError(f"line {line}: channel is empty")
        try:
            amount = float(record["spend"])
        except ValueError:
            raise SpendFileError(f"line {line}: spend {record['spend']!r} is not a number") from None
        if amount < 0 or not math.isfinite(amount):
            raise SpendFileError(f"line {line}: spend must be a non-negative number")
        rows.append(SpendRow(day, record["channel"], record["campaign"], round(amount, 2)))
    return rows


class SpendStore:
    """The imported spend, one JSON object."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    @property
    def object_store(self) -> ObjectStore:
        """The analytics ObjectStore the spend is kept in (shared with the other analytics objects)."""
        return self._store

    def _load(self) -> dict[str, float]:
        data = get_json(self._store, SPEND_KEY) or {"rows": []}
        return {f"{r['date']}|{r['channel']}|{r['campaign']}": float(r["spend"]) for r in data["rows"]}

    def import_rows(self, rows: list[SpendRow]) -> dict[str, Any]:
        """Merge rows in (same day, channel and campaign replaces); return what changed."""
        current = self._load()
        before = len(current)
        for row in rows:
            current[f"{row.day.isoformat()}|{row.channel}|{row.campaign}"] = row.spend
        stored = []
        for key, amount in sorted(current.items()):
            day, channel, campaign = key.split("|", 2)
            stored.append({"date": day, "channel": channel, "campaign": campaign, "spend": amount})
        put_json(self._store, SPEND_KEY, {"rows": stored})
        return {"rows": len(rows), "added": len(current) - before, "total_rows": len(current)}

    def totals(self, first: date, last: date) -> dict[tuple[str, str], float] | None:
        """Spend per (channel, campaign) over first..last, or None when nothing was ever imported."""
        data = get_json(self._store, SPEND_KEY)
        if not data or not data["rows"]:
            return None
        sums: dict[tuple[str, str], float] = defaultdict(float)
        for row in data["rows"]:
            if first <= date.fromisoformat(row["date"]) <= last:
                sums[(row["channel"], row["campaign"])] += float(row["spend"])
        return dict(sums)
