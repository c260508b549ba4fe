"""GET /v1/paths: Sankey nodes and links of session paths, the top paths and journey-stage changes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from pydantic import Field

from reviva.analytics.answers import Answer
from reviva.analytics.freshness import Freshness, lake_freshness
from reviva.analytics.params import parse_int, parse_range, parse_step
from reviva.analytics.periods import lake_range
from reviva.analytics.ports import LakeQuery, Param, QueryExecutor
from reviva.analytics.session_filters import SessionFilters, filtered
from reviva.analytics.sql_fragments import EVENT_RANGE_SQL
from reviva.analytics.usecase import AnalyticsAdapters, AnalyticsRequest

PATH_SEPARATOR = " > "
MAX_NODES_PER_DEPTH = 30
TOP_PATHS = 20


@dataclass(frozen=True)
class PathsParams:
    """`from`/`to` (default 7 days), the touchpoint paths start at (`from_step`) and their `depth`,
    and the session filters (see session_filters)."""

    first: date
    last: date
    from_step: str | None
    depth: int
    filters: SessionFilters = field(default_factory=SessionFilters)

    @classmethod
    def parse(cls, query: Mapping[str, str], today: date) -> PathsParams:
        """Parse the query string; InvalidParameter names a bad parameter."""
        first, last = parse_range(query, today)
        from_step = parse_step("from_step", query.get("from_step"))
        depth = parse_int(query, "depth", 4, 2, 8)
        return cls(first, last, from_step, depth, SessionFilters.parse(query))


class PathNode(Answer):
    id: str
    name: str
    depth: int
    count: int


class PathLink(Answer):
    source: str
    target: str
    value: int


class TopPath(Answer):
    steps: list[str]
    sessions: int


class StageTransition(Answer):
    stage_from: str = Field(serialization_alias="from")
    stage_to: str = Field(serialization_alias="to")
    count: int


class PathsAnswer(Answer):
    first: date = Field(serialization_alias="from")
    last: date = Field(serialization_alias="to")
    from_step: str | None
    depth: int
    nodes: list[PathNode]
    links: list[PathLink]
    top_paths: list[TopPath]
    stage_transitions: list[StageTransition]
    filters: dict[str, str]
    freshness: Freshness


def answer(request: AnalyticsRequest, adapters: AnalyticsAdapters) -> PathsAnswer:
    """The use case's entry point (`reviva.analytics.usecase`): parse the request, then answer it."""
    return paths(PathsParams.parse(request.query, request.now.date()), adapters.executor, request.now)


def paths(params: PathsParams, executor: QueryExecutor, now: datetime) -> PathsAnswer:
    """The top nodes per depth, the links between kept nodes, the top paths and stage changes."""
    executor = filtered(executor, params.filters)
    start, end = lake_range(params.first, params.last)
    rows = executor.run(paths_query(start, end, params.from_step, params.depth))
    nodes: dict[int, list[tuple[str, int]]] = defaultdict(list)
    links: list[tuple[int, str, str, int]] = []
    top_paths: list[tuple[str, int]] = []
    stages: list[StageTransition] = []
    for row in rows:
        kind, count = row["kind"], int(row["sessions"])
        if kind == "node":
            nodes[int(row["pos"])].append((row["source"], count))
        elif kind == "link":
            links.append((int(row["pos"]), row["source"], row["target"], count))
        elif kind == "path":
            top_paths.append((row["source"], count))
        else:
            stages.append(StageTransition(stage_from=row["source"], stage_to=row["target"], count=count))
    kept: set[str] = set()
    node_list = []
    for pos in sorted(nodes):
        for name, count in sorted(nodes[pos], key=lambda nc: (-nc[1], nc[0]))[:MAX_NODES_PER_DEPTH]:
            kept.add(f"{pos}:{name}")
            node_list.append(PathNode(id=f"{pos}:{name}", name=name, depth=pos, count=count))
    link_list = [
        PathLink(source=f"{pos}:{source}", target=f"{pos + 1}:{target}", value=value)
        for pos, source, target, value in sorted(links, key=lambda lk: (lk[0], -lk[3], lk[1], lk[2]))
    ]
    return PathsAnswer(
        first=params.first,
        last=params.last,
        from_step=params.from_step,
        depth=params.depth,
        nodes=node_list,
        links=[lk for lk in link_list if lk.source in kept and lk.target in kept],
        top_paths=[
            TopPath(steps=path.split(PATH_SEPARATOR), sessions=count)
            for path, count in sorted(top_paths, key=lambda pc: (-pc[1], pc[0]))[:TOP_PATHS]
        ],
        stage_transitions=sorted(stages, key=lambda s: (-s.count, s.stage_from, s.stage_to)),
        filters=params.filters.as_dict(),
        freshness=lake_freshness(executor, now, params.first, params.last),
    )


# ------------------------------------------------------------------------------------------- SQL


def paths_query(start: datetime, end: datetime, from_step: str | None, depth: int) -> LakeQuery:
    """Session paths over journey touchpoints (consecutive repeats collapsed) and stage changes.

    Rows: (kind, pos, source, target, sessions) with kind "node" (pos, source), "link" (pos, source
    → target), "path" (source = the steps joined by PATH_SEPARATOR) and "stage" (source → target).
    """
    params: list[Param] = [start, end]
    start_filter = ""
    if from_step is not None:
        start_filter = "WHERE touchpoint = ?"
        params.append(from_step)
    params += [depth, start, end]
    sql = f"""
WITH steps AS (
  SELECT session_id, message_id, event_time, touchpoint,
         lag(touchpoint) OVER (PARTITION BY session_id ORDER BY event_time, message_id) AS prev
  FROM events
  WHERE {EVENT_RANGE_SQL} AND session_id IS NOT NULL AND touchpoint IS NOT NULL
),
dedup AS (SELECT session_id, message_id, event_time, touchpoint FROM steps
          WHERE prev IS NULL OR prev <> touchpoint),
starts AS (SELECT session_id, min(event_time) AS t FROM dedup {start_filter} GROUP BY session_id),
ordered AS (
  SELECT d.session_id, d.touchpoint,
         row_number() OVER (PARTITION BY d.session_id ORDER BY d.event_time, d.message_id) - 1 AS pos
  FROM dedup d JOIN starts s ON s.session_id = d.session_id
  WHERE d.event_time >= s.t
),
kept AS (SELECT session_id, touchpoint, pos FROM ordered WHERE pos < ?),
stages AS (
  SELECT journey_stage,
         lag(journey_stage) OVER (PARTITION BY visitor_key ORDER BY event_time, message_id) AS prev
  FROM events
  WHERE {EVENT_RANGE_SQL} AND journey_stage IS NOT NULL
)
SELECT 'node' AS kind, pos, touchpoint AS source, CAST(NULL AS VARCHAR) AS target, count(*) AS sessions
FROM kept GROUP BY pos, touchpoint
UNION ALL
SELECT 'link', a.pos, a.touchpoint, b.touchpoint, count(*)
FROM kept a JOIN kept b ON b.session_id = a.session_id AND b.pos = a.pos + 1
GROUP BY a.pos, a.touchpoint, b.touchpoint
UNION ALL
SELECT 'path', CAST(NULL AS BIGINT), path, CAST(NULL AS VARCHAR), count(*)
FROM (SELECT session_id, array_join(array_agg(touchpoint ORDER BY pos), '{PATH_SEPARATOR}') AS path
      FROM kept GROUP BY session_id) p
GROUP BY path
UNION ALL
SELECT 'stage', CAST(NULL AS BIGINT), prev, journey_stage, count(*)
FROM stages WHERE prev IS NOT NULL AND prev <> journey_stage
GROUP BY prev, journey_stage
"""
    # Parameters follow the text: steps' range, from_step, depth (kept), then stages' range.
    return LakeQuery("paths", sql, tuple(params), start, end)
