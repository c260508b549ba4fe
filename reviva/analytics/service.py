"""The analytics endpoints' logic: parameters in, JSON-ready dicts out (shapes: docs/api-analytics.md).

`AnalyticsService` takes its adapters (a lake executor, the rollups, the spend store, a clock) and
makes no AWS call of its own; the HTTP routes (reviva.api.analytics_routes) only call it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from reviva.analytics import hll
from reviva.analytics.attribution import MODELS, Conversion, TouchKey, markov, rule_based
from reviva.analytics.errors import InvalidParameter
from reviva.analytics.executors import QueryExecutor
from reviva.analytics.forecast import holt_forecast
from reviva.analytics.params import (
    page,
    parse_choice,
    parse_day,
    parse_int,
    parse_page,
    parse_range,
    parse_step,
)
from reviva.analytics.queries import (
    BREAKDOWN_COLUMNS,
    PATH_SEPARATOR,
    FunnelStep,
    attribution_paths_query,
    attribution_touches_query,
    campaigns_query,
    funnel_query,
    paths_query,
    retention_query,
)
from reviva.analytics.rollups import RollupService, day_start
from reviva.analytics.spend import SpendStore

TOP = 10
METRICS = ("visitors", "sessions", "page_views", "conversions", "revenue")


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _ratio(numerator: float, denominator: float, digits: int = 4) -> float:
    return round(numerator / denominator, digits) if denominator else 0.0


def _change(value: float, previous: float) -> float | None:
    return round((value - previous) / previous, 4) if previous else None


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@dataclass
class _Totals:
    visitors: int = 0
    sessions: int = 0
    page_views: int = 0
    bounced: int = 0
    duration: float = 0.0
    converted: int = 0
    conversions: int = 0
    revenue: float = 0.0


def _sum_days(rollups: list[dict[str, Any]]) -> _Totals:
    totals = _Totals()
    for rollup in rollups:
        for hour in rollup["hours"]:
            totals.sessions += hour["sessions"]
            totals.page_views += hour["page_views"]
            totals.bounced += hour["bounced_sessions"]
            totals.duration += hour["duration_seconds"]
            totals.converted += hour["converted_sessions"]
            totals.conversions += hour["conversions"]
            totals.revenue += hour["revenue"]
    totals.visitors = _visitors(rollups)
    return totals


def _visitors(rollups: list[dict[str, Any]]) -> int:
    if len(rollups) == 1:
        return int(rollups[0]["visitors"])
    sketches = [hll.decode(r["hll"]) for r in rollups if r["visitors"]]
    return hll.estimate(hll.merge(sketches)) if sketches else 0


def _kpis(current: _Totals, previous: _Totals) -> dict[str, dict[str, Any]]:
    def kpi(value: float, before: float) -> dict[str, Any]:
        return {"value": value, "previous": before, "change": _change(value, before)}

    def derived(t: _Totals) -> dict[str, float]:
        return {
            "visitors": t.visitors,
            "sessions": t.sessions,
            "page_views": t.page_views,
            "bounce_rate": _ratio(t.bounced, t.sessions),
            "avg_session_duration_seconds": round(t.duration / t.sessions, 1) if t.sessions else 0.0,
            "conversions": t.conversions,
            "conversion_rate": _ratio(t.converted, t.sessions),
            "revenue": round(t.revenue, 2),
        }

    now, before = derived(current), derived(previous)
    return {name: kpi(now[name], before[name]) for name in now}


def _top(
    name: str, current: list[dict[str, Any]], previous: list[dict[str, Any]], limit: int = TOP
) -> list[dict[str, Any]]:
    def add(rollups: list[dict[str, Any]]) -> dict[str, int]:
        sums: dict[str, int] = defaultdict(int)
        for rollup in rollups:
            for key, value in rollup[name].items():
                sums[key] += value
        return sums

    now, before = add(current), add(previous)
    ranked = sorted(now.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"key": key, "value": value, "previous": before.get(key, 0)} for key, value in ranked]


class AnalyticsService:
    """Every analytics endpoint, over injected adapters."""

    def __init__(
        self,
        executor: QueryExecutor,
        rollups: RollupService,
        spend: SpendStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.executor = executor
        self.rollups = rollups
        self.spend = spend
        self._clock = clock

    # ------------------------------------------------------------------------------ freshness

    def _lake_freshness(self, now: datetime) -> dict[str, Any]:
        return {"source": "lake", "data_as_of": _iso(self.executor.data_as_of()), "generated_at": _iso(now)}

    @staticmethod
    def _rollup_freshness(rollups: list[dict[str, Any]], computed: bool, now: datetime) -> dict[str, Any]:
        stamps = [str(r["data_as_of"]) for r in rollups if r.get("data_as_of")]
        newest = max((datetime.fromisoformat(s) for s in stamps), default=None)
        return {
            "source": "rollup+lake" if computed else "rollup",
            "data_as_of": _iso(newest),
            "generated_at": _iso(now),
        }

    # ------------------------------------------------------------------------------- overview

    def overview(self, query: Mapping[str, str]) -> dict[str, Any]:
        """KPIs, series and breakdowns of a range and the period before it, from the rollups."""
        now = self._clock()
        first, last = parse_range(query, now.date())
        interval = parse_choice(query, "interval", ("hour", "day", "week"), "day")
        span = (last - first).days + 1
        if interval == "hour" and span > 7:
            raise InvalidParameter("interval", "hour needs a range of at most 7 days")
        previous_last = first - timedelta(days=1)
        previous_first = previous_last - timedelta(days=span - 1)
        days, computed = self.rollups.days(previous_first, last)
        current = [days[d] for d in _days(first, last)]
        previous = [days[d] for d in _days(previous_first, previous_last)]
        return {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "interval": interval,
            "previous": {"from": previous_first.isoformat(), "to": previous_last.isoformat()},
            "kpis": _kpis(_sum_days(current), _sum_days(previous)),
            "series": self._series(current, first, interval),
            "top_pages": _top("pages", current, previous),
            "channels": _top("channels", current, previous),
            "devices": _top("devices", current, previous),
            "countries": _top("countries", current, previous),
            "visitors_estimated": span > 1,
            "freshness": self._rollup_freshness(current, computed, now),
        }

    @staticmethod
    def _series(rollups: list[dict[str, Any]], first: date, interval: str) -> list[dict[str, Any]]:
        series = []
        if interval == "hour":
            for offset, rollup in enumerate(rollups):
                for hour_index, hour in enumerate(rollup["hours"]):
                    bucket = day_start(first + timedelta(days=offset)) + timedelta(hours=hour_index)
                    series.append(
                        {
                            "bucket": _iso(bucket),
                            "visitors": hour["visitors"],
                            "sessions": hour["sessions"],
                            "page_views": hour["page_views"],
                            "conversions": hour["conversions"],
                            "revenue": round(hour["revenue"], 2),
                        }
                    )
            return series
        size = 1 if interval == "day" else 7
        for offset in range(0, len(rollups), size):
            chunk = rollups[offset : offset + size]
            totals = _sum_days(chunk)
            series.append(
                {
                    "bucket": _iso(day_start(first + timedelta(days=offset))),
                    "visitors": totals.visitors,
                    "sessions": totals.sessions,
                    "page_views": totals.page_views,
                    "conversions": totals.conversions,
                    "revenue": round(totals.revenue, 2),
                }
            )
        return series

    # -------------------------------------------------------------------------------- trends

    def trends(self, query: Mapping[str, str]) -> dict[str, Any]:
        """A metric's history from the rollups and a Holt forecast with a ~95 % interval."""
        now = self._clock()
        metric = parse_choice(query, "metric", METRICS, None)
        first, last = parse_range(query, now.date(), default_days=28)
        interval = parse_choice(query, "interval", ("day", "week"), "day")
        horizon = parse_int(query, "horizon", 14 if interval == "day" else 4, 1, 60)
        days, computed = self.rollups.days(first, last)
        rollups = [days[d] for d in _days(first, last)]
        size = 1 if interval == "day" else 7
        history: list[dict[str, Any]] = []
        for offset in range(0, len(rollups), size):
            totals = _sum_days(rollups[offset : offset + size])
            value = float(getattr(totals, metric))
            history.append({"bucket": (first + timedelta(days=offset)).isoformat(), "value": round(value, 2)})
        next_bucket = first + timedelta(days=len(history) * size)
        forecast = [
            {
                "bucket": (next_bucket + timedelta(days=i * size)).isoformat(),
                "value": round(point.value, 2),
                "lower": round(point.lower, 2),
                "upper": round(point.upper, 2),
            }
            for i, point in enumerate(holt_forecast([float(h["value"]) for h in history], horizon))
        ]
        return {
            "metric": metric,
            "interval": interval,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "history": history,
            "forecast": forecast,
            "method": "holt_linear",
            "confidence": 0.95,
            "freshness": self._rollup_freshness(rollups, computed, now),
        }

    # ------------------------------------------------------------------------------- funnels

    def funnel(self, body: Any) -> dict[str, Any]:
        """Visitors per ordered step within a window, drop-off, median time, breakdown."""
        now = self._clock()
        if not isinstance(body, dict):
            raise InvalidParameter("body", "must be a JSON object with steps")
        steps = _parse_steps(body.get("steps"))
        window = parse_int(body, "window_hours", 72, 1, 2160)
        breakdown = body.get("breakdown")
        if breakdown is not None and breakdown not in BREAKDOWN_COLUMNS:
            raise InvalidParameter("breakdown", "must be one of " + ", ".join(BREAKDOWN_COLUMNS))
        for name in ("from", "to"):
            if body.get(name) is not None and not isinstance(body[name], str):
                raise InvalidParameter(name, "must be a date YYYY-MM-DD")
        first, last = parse_range({k: body[k] for k in ("from", "to") if body.get(k)}, now.date())
        rows = self.executor.run(
            funnel_query(steps, day_start(first), day_start(last + timedelta(days=1)), window, breakdown)
        )
        counts = [0] * len(steps)
        medians: list[float | None] = [None] * len(steps)
        by_key: dict[str, list[int]] = defaultdict(lambda: [0] * len(steps))
        for row in rows:
            position = int(row["step"])
            counts[position] += int(row["visitors"])
            if row["median_seconds"] is not None:
                medians[position] = round(float(row["median_seconds"]), 1)
            if breakdown:
                by_key[row["breakdown"] if row["breakdown"] is not None else "(none)"][position] += int(
                    row["visitors"]
                )
        result_steps = []
        for index, step in enumerate(steps):
            previous = counts[index - 1] if index else counts[0]
            drop = previous - counts[index] if index else 0
            result_steps.append(
                {
                    "index": index,
                    "label": step.label,
                    "count": counts[index],
                    "conversion_from_start": _ratio(counts[index], counts[0]) if counts[0] else 0.0,
                    "drop_off": drop,
                    "drop_off_rate": _ratio(drop, previous),
                    "median_seconds_from_previous": medians[index] if index else None,
                }
            )
        ranked = sorted(by_key.items(), key=lambda kv: (-kv[1][0], kv[0]))[:20]
        return {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "window_hours": window,
            "breakdown": breakdown,
            "steps": result_steps,
            "breakdowns": [
                {"key": key, "steps": [{"index": i, "count": c} for i, c in enumerate(values)]}
                for key, values in ranked
            ],
            "freshness": self._lake_freshness(now),
        }

    # ----------------------------------------------------------------------------- retention

    def retention(self, query: Mapping[str, str]) -> dict[str, Any]:
        """The cohort retention matrix."""
        now = self._clock()
        unit = parse_choice(query, "cohort", ("day", "week", "month"), "week")
        periods = parse_int(query, "periods", 8, 1, 52)
        last = parse_day("to", query.get("to"), now.date())
        default_first = _add_periods(_period_start(last, unit), unit, -(periods - 1))
        first = parse_day("from", query.get("from"), default_first)
        if first > last:
            raise InvalidParameter("from", "must not be after to")
        first = _period_start(first, unit)
        if (last - first).days + 1 > 2 * 366:
            raise InvalidParameter("from", "the range may span at most 732 days")
        rows = self.executor.run(retention_query(unit, day_start(first), day_start(last + timedelta(days=1))))
        matrix: dict[date, dict[int, int]] = defaultdict(dict)
        for row in rows:
            cohort = row["cohort"].astimezone(UTC).date()
            period = row["period"].astimezone(UTC).date()
            index = _period_index(cohort, period, unit)
            if index < periods:
                matrix[cohort][index] = int(row["visitors"])
        cohorts = []
        for cohort in sorted(matrix):
            started = [k for k in range(periods) if _add_periods(cohort, unit, k) <= last]
            size = matrix[cohort].get(0, 0)
            retained = [matrix[cohort].get(k, 0) for k in started]
            cohorts.append(
                {
                    "cohort": cohort.isoformat(),
                    "size": size,
                    "retained": retained,
                    "rates": [_ratio(r, size) for r in retained],
                }
            )
        return {
            "cohort": unit,
            "periods": periods,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "cohorts": cohorts,
            "freshness": self._lake_freshness(now),
        }

    # --------------------------------------------------------------------------------- paths

    def paths(self, query: Mapping[str, str]) -> dict[str, Any]:
        """Sankey nodes and links of session paths, the top paths and journey-stage transitions."""
        now = self._clock()
        first, last = parse_range(query, now.date())
        from_step = parse_step("from_step", query.get("from_step"))
        depth = parse_int(query, "depth", 4, 2, 8)
        rows = self.executor.run(
            paths_query(day_start(first), day_start(last + timedelta(days=1)), from_step, depth)
        )
        nodes: dict[int, list[tuple[str, int]]] = defaultdict(list)
        links: list[dict[str, Any]] = []
        top_paths: list[tuple[str, int]] = []
        stages: list[dict[str, Any]] = []
        for row in rows:
            kind, count = row["kind"], int(row["sessions"])
            if kind == "node":
                nodes[int(row["pos"])].append((row["source"], count))
            elif kind == "link":
                links.append(
                    {"pos": int(row["pos"]), "source": row["source"], "target": row["target"], "value": count}
                )
            elif kind == "path":
                top_paths.append((row["source"], count))
            else:
                stages.append({"from": row["source"], "to": row["target"], "count": count})
        kept: set[str] = set()
        node_list = []
        for pos in sorted(nodes):
            for name, count in sorted(nodes[pos], key=lambda nc: (-nc[1], nc[0]))[:30]:
                kept.add(f"{pos}:{name}")
                node_list.append({"id": f"{pos}:{name}", "name": name, "depth": pos, "count": count})
        link_list = [
            {
                "source": f"{link['pos']}:{link['source']}",
                "target": f"{link['pos'] + 1}:{link['target']}",
                "value": link["value"],
            }
            for link in sorted(links, key=lambda lk: (lk["pos"], -lk["value"], lk["source"], lk["target"]))
        ]
        link_list = [lk for lk in link_list if lk["source"] in kept and lk["target"] in kept]
        return {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "from_step": from_step,
            "depth": depth,
            "nodes": node_list,
            "links": link_list,
            "top_paths": [
                {"steps": path.split(PATH_SEPARATOR), "sessions": count}
                for path, count in sorted(top_paths, key=lambda pc: (-pc[1], pc[0]))[:20]
            ],
            "stage_transitions": sorted(stages, key=lambda s: (-s["count"], s["from"], s["to"])),
            "freshness": self._lake_freshness(now),
        }

    # --------------------------------------------------------------------------- attribution

    def attribution(self, query: Mapping[str, str]) -> dict[str, Any]:
        """Conversions and revenue credited per channel and campaign by one model; spend ratios."""
        now = self._clock()
        model = parse_choice(query, "model", MODELS, None)
        first, last = parse_range(query, now.date())
        lookback = parse_int(query, "lookback_days", 30, 1, 90)
        offset, limit = parse_page(query)
        start, end = day_start(first), day_start(last + timedelta(days=1))
        conversions = self._conversions(start, end, lookback)
        total_conversions = float(len(conversions))
        total_revenue = sum(c.revenue for c in conversions)
        if model == "markov":
            credit = markov(self._paths(start, end), total_conversions, total_revenue)
        else:
            credit = rule_based(model, conversions)
        spend = self.spend.totals(first, last)
        rows: list[dict[str, Any]] = []
        for (channel, campaign), (credited, revenue) in credit.items():
            if credited <= 0:
                continue  # first/last touch leave the other touches without credit: no row
            row_spend = None if spend is None else spend.get((channel, campaign or ""))
            rows.append(
                {
                    "channel": channel,
                    "campaign": campaign,
                    "conversions": round(credited, 4),
                    "revenue": round(revenue, 2),
                    "spend": row_spend,
                    "cac": round(row_spend / credited, 2) if row_spend is not None and credited else None,
                    "roas": round(revenue / row_spend, 4) if row_spend else None,
                    "roi": round((revenue - row_spend) / row_spend, 4) if row_spend else None,
                }
            )
        rows.sort(key=lambda r: (-r["conversions"], r["channel"], r["campaign"] or ""))
        chunk, next_cursor = page(rows, offset, limit)
        return {
            "model": model,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "lookback_days": lookback,
            "totals": {
                "conversions": round(total_conversions, 4),
                "revenue": round(total_revenue, 2),
                "spend": None if spend is None else round(sum(spend.values()), 2),
            },
            "rows": chunk,
            "total": len(rows),
            "next_cursor": next_cursor,
            "freshness": self._lake_freshness(now),
        }

    def _conversions(self, start: datetime, end: datetime, lookback: int) -> list[Conversion]:
        conversions: dict[str, Conversion] = {}
        for row in self.executor.run(attribution_touches_query(start, end, lookback)):
            conversion = conversions.setdefault(
                row["conversion_id"],
                Conversion(row["conversion_id"], row["converted_at"], float(row["revenue"] or 0)),
            )
            if row["session_id"] is not None:
                key: TouchKey = (row["channel"] or "(none)", row["campaign"])
                conversion.touches.append((key, row["started_at"]))
        return list(conversions.values())

    def _paths(self, start: datetime, end: datetime) -> list[tuple[list[TouchKey], int, int]]:
        paths = []
        for row in self.executor.run(attribution_paths_query(start, end)):
            states: list[TouchKey] = []
            for state in str(row["path"]).split("\x1e"):
                channel, _, campaign = state.partition("\x1f")
                states.append((channel, campaign or None))
            paths.append((states, int(row["conversions"]), int(row["non_conversions"])))
        return paths

    # ----------------------------------------------------------------------------- campaigns

    def campaigns(self, query: Mapping[str, str]) -> dict[str, Any]:
        """Per UTM campaign: visitors, sessions, conversions, revenue, spend and a daily trend."""
        now = self._clock()
        first, last = parse_range(query, now.date())
        sort = parse_choice(query, "sort", ("visitors", "sessions", "conversions", "revenue"), "visitors")
        offset, limit = parse_page(query)
        days = _days(first, last)
        index = {d: i for i, d in enumerate(days)}
        rows = self.executor.run(campaigns_query(day_start(first), day_start(last + timedelta(days=1))))
        campaigns: dict[str, dict[str, Any]] = {}
        sources: dict[str, list[tuple[int, str, str]]] = defaultdict(list)

        def entry(name: str) -> dict[str, Any]:
            return campaigns.setdefault(
                name,
                {
                    "campaign": name,
                    "source": None,
                    "medium": None,
                    "visitors": 0,
                    "sessions": 0,
                    "conversions": 0,
                    "revenue": 0.0,
                    "conversion_rate": 0.0,
                    "spend": None,
                    "trend": {"visitors": [0] * len(days), "conversions": [0] * len(days)},
                },
            )

        for row in rows:
            item = entry(row["campaign"])
            if not row["no_day"]:
                slot = index[row["day"].astimezone(UTC).date()]
                item["trend"]["visitors"][slot] = int(row["visitors"])
                item["trend"]["conversions"][slot] = int(row["conversions"])
            elif not row["no_source"]:
                sources[row["campaign"]].append((int(row["sessions"]), row["source"], row["medium"]))
            else:
                item["visitors"] = int(row["visitors"])
                item["sessions"] = int(row["sessions"])
                item["conversions"] = int(row["conversions"])
                item["revenue"] = round(float(row["revenue"] or 0), 2)
                item["conversion_rate"] = _ratio(item["conversions"], item["sessions"])
        for name, options in sources.items():
            _, source, medium = sorted(options, key=lambda o: (-o[0], o[1], o[2]))[0]
            campaigns[name]["source"] = source or None
            campaigns[name]["medium"] = medium or None
        spend = self.spend.totals(first, last)
        if spend is not None:
            for (_, campaign), amount in spend.items():
                if campaign in campaigns:
                    current = campaigns[campaign]["spend"] or 0.0
                    campaigns[campaign]["spend"] = round(current + amount, 2)
        ordered = sorted(campaigns.values(), key=lambda c: (-c[sort], c["campaign"]))
        chunk, next_cursor = page(ordered, offset, limit)
        return {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "days": [d.isoformat() for d in days],
            "campaigns": chunk,
            "total": len(ordered),
            "next_cursor": next_cursor,
            "freshness": self._lake_freshness(now),
        }


def _parse_steps(raw: Any) -> list[FunnelStep]:
    if not isinstance(raw, list) or not 2 <= len(raw) <= 10:
        raise InvalidParameter("steps", "must be a list of 2 to 10 steps")
    steps = []
    for index, item in enumerate(raw):
        name = f"steps[{index}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise InvalidParameter(name, 'must be one of {"type": …}, {"url": …}, {"event": …}')
        ((kind, value),) = item.items()
        if kind not in ("type", "url", "event") or not isinstance(value, str) or not 1 <= len(value) <= 200:
            raise InvalidParameter(
                name, 'must be one of {"type": …}, {"url": …}, {"event": …} with a 1-200 character value'
            )
        if kind == "type" and value not in ("page", "screen", "track", "identify"):
            raise InvalidParameter(name, "type must be page, screen, track or identify")
        if kind == "url":
            if "*" in value[:-1]:
                raise InvalidParameter(name, "url may contain * only at its end")
            if value.endswith("*"):
                steps.append(FunnelStep("url_prefix", value[:-1]))
                continue
        steps.append(FunnelStep(kind, value))
    return steps


def _period_start(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def _add_periods(day: date, unit: str, count: int) -> date:
    if unit == "day":
        return day + timedelta(days=count)
    if unit == "week":
        return day + timedelta(weeks=count)
    months = day.year * 12 + day.month - 1 + count
    return date(months // 12, months % 12 + 1, 1)


def _period_index(cohort: date, period: date, unit: str) -> int:
    if unit == "day":
        return (period - cohort).days
    if unit == "week":
        return (period - cohort).days // 7
    return (period.year * 12 + period.month) - (cohort.year * 12 + cohort.month)
