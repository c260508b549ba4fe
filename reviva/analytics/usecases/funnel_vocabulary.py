"""GET /v1/funnels/vocabulary: what a funnel step can name, from the lake, and the preset funnels.

The funnel builder autocompletes from this: the track event names, page paths, page path
patterns (`/services/*` when several paths share a first segment) and journey touchpoints the
lake holds over the range, each with the visitors and events behind it, most visitors first and
at most `limit` of each kind; `q` keeps values containing it (case-insensitive). The presets are
the site's journey rules' funnels (`reviva.enrich.journey_rules`), so they name what the rules
label in the data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import Field

from reviva.analytics.answers import Answer
from reviva.analytics.errors import InvalidParameter
from reviva.analytics.freshness import Freshness, lake_freshness
from reviva.analytics.params import is_text, parse_int, parse_range
from reviva.analytics.periods import lake_range
from reviva.analytics.ports import LakeQuery, Param, QueryExecutor
from reviva.analytics.sql_fragments import EVENT_RANGE_SQL, PAGE_TYPES_SQL
from reviva.analytics.usecase import AnalyticsAdapters, AnalyticsRequest
from reviva.enrich.journey_rules import JourneyRules

Kind = Literal["event", "page", "pattern", "touchpoint"]
KINDS: tuple[Kind, ...] = ("event", "page", "pattern", "touchpoint")
DEFAULT_DAYS = 30
MAX_QUERY_TEXT = 100


@dataclass(frozen=True)
class VocabularyParams:
    """`from`/`to` (default the last 30 days), a search text `q` and a `limit` per kind (1-100)."""

    first: date
    last: date
    text: str | None
    limit: int

    @classmethod
    def parse(cls, query: Mapping[str, str], today: date) -> VocabularyParams:
        """Parse the query string; InvalidParameter names a bad parameter."""
        first, last = parse_range(query, today, default_days=DEFAULT_DAYS)
        text = query.get("q") or None
        if text is not None and (
            not isinstance(text, str)
            or not is_text(text)
            or len(text) > MAX_QUERY_TEXT
            or not text.isprintable()
        ):
            raise InvalidParameter("q", f"must be printable text of at most {MAX_QUERY_TEXT} characters")
        limit = parse_int(query, "limit", 25, 1, 100)
        return cls(first, last, text.lower() if text else None, limit)


class Term(Answer):
    value: str
    visitors: int
    events: int


class PresetStep(Answer):
    step: dict[str, str]
    label: str


class Preset(Answer):
    id: str
    name: str
    steps: list[PresetStep]


class VocabularyAnswer(Answer):
    first: date = Field(serialization_alias="from")
    last: date = Field(serialization_alias="to")
    q: str | None
    limit: int
    events: list[Term]
    pages: list[Term]
    patterns: list[Term]
    touchpoints: list[Term]
    presets: list[Preset]
    freshness: Freshness


def answer(request: AnalyticsRequest, adapters: AnalyticsAdapters) -> VocabularyAnswer:
    """The use case's entry point (`reviva.analytics.usecase`): parse the request, then answer it."""
    params = VocabularyParams.parse(request.query, request.now.date())
    return vocabulary(params, adapters.executor, adapters.journey_rules, request.now)


def vocabulary(
    params: VocabularyParams, executor: QueryExecutor, rules: JourneyRules, now: datetime
) -> VocabularyAnswer:
    """The range's event names, page paths, path patterns and touchpoints, and the presets."""
    start, end = lake_range(params.first, params.last)
    found: dict[str, list[Term]] = {kind: [] for kind in KINDS}
    for row in executor.run(vocabulary_query(start, end, params.text, params.limit)):
        found[row["kind"]].append(
            Term(value=row["value"], visitors=int(row["visitors"]), events=int(row["events"]))
        )
    for terms in found.values():
        terms.sort(key=lambda t: (-t.visitors, -t.events, t.value))
    return VocabularyAnswer(
        first=params.first,
        last=params.last,
        q=params.text,
        limit=params.limit,
        events=found["event"],
        pages=found["page"],
        patterns=found["pattern"],
        touchpoints=found["touchpoint"],
        presets=[
            Preset(
                id=preset.id,
                name=preset.name,
                steps=[PresetStep(step=step.step(), label=step.label) for step in preset.steps],
            )
            for preset in rules.funnels
        ],
        freshness=lake_freshness(executor, now),
    )


# ------------------------------------------------------------------------------------------- SQL


def vocabulary_query(start: datetime, end: datetime, text: str | None, limit: int) -> LakeQuery:
    """Rows (kind, value, visitors, events): the `limit` values of each kind with most visitors.

    A pattern is a path's first segment as a prefix (`/services/*`), kept when at least two
    distinct paths share it. `text` (lower case) keeps values containing it.
    """
    params: list[Param] = [start, end]
    match = ""
    if text is not None:
        # strpos on lower(): a plain substring test, so % and _ in the text mean themselves.
        match = "AND strpos(lower(value), ?) > 0"
    kinds = [
        ("event", "event_name", "event_type = 'track' AND event_name IS NOT NULL", False),
        ("page", "page_path", f"{PAGE_TYPES_SQL} AND page_path IS NOT NULL", False),
        (
            "pattern",
            "concat('/', split_part(page_path, '/', 2), '/*')",
            f"{PAGE_TYPES_SQL} AND strpos(substr(page_path, 2), '/') > 0",
            True,
        ),
        ("touchpoint", "touchpoint", "touchpoint IS NOT NULL", False),
    ]
    selects = []
    for kind, value_sql, condition, needs_variety in kinds:
        having = "HAVING count(DISTINCT page_path) >= 2" if needs_variety else ""
        selects.append(
            f"SELECT kind, value, visitors, events FROM (SELECT '{kind}' AS kind, {value_sql} AS value, "
            "count(DISTINCT visitor_key) AS visitors, count(*) AS events "
            f"FROM base WHERE {condition} GROUP BY {value_sql} {having}) k_{kind} WHERE true {match}"
        )
        if text is not None:
            params.append(text)
    params.append(limit)
    sql = f"""
WITH base AS (
  SELECT visitor_key, event_type, event_name, page_path, touchpoint
  FROM events
  WHERE {EVENT_RANGE_SQL}
),
terms AS (
  {" UNION ALL ".join(selects)}
),
ranked AS (
  SELECT kind, value, visitors, events,
         row_number() OVER (PARTITION BY kind ORDER BY visitors DESC, events DESC, value) AS rn
  FROM terms
)
SELECT kind, value, visitors, events FROM ranked WHERE rn <= ?
"""
    return LakeQuery("funnel_vocabulary", sql, tuple(params), start, end)
