/** Overview: the period's KPIs against the previous period, each with its sparkline; and the audience mix. */

import { axisStyle, COLORS, draw, sparklineOption } from "../charts";
import { DEFINITIONS, term } from "../definitions";
import { h, replaceChildren } from "../dom";
import { duration, gbp, label, num, pct } from "../format";
import { setFilter, updateUrl, type FilterName } from "../navigation";
import { intervalFor } from "../range";
import { Panel, type PanelContext } from "../panel";
import { shared } from "../shared";
import type { Breakdown, KpiComparison, Overview } from "../types";

function fetchOverview(context: PanelContext): Promise<Overview> {
  const { from, to } = context.range;
  const query = { from, to, interval: intervalFor(context.range), ...context.filters };
  // Both overview panels show parts of one answer: ask once.
  return shared(context.api.url("/v1/stats/overview", query), () => context.api.get<Overview>("/v1/stats/overview", query));
}

type KpiName = keyof Overview["kpis"];

interface KpiSpec {
  name: KpiName;
  /** The figure's term in the one vocabulary (definitions.ts, docs/api-analytics.md). */
  term: keyof typeof DEFINITIONS & string;
  title: string;
  format: (value: number | null) => string;
  /** A drop is good news (bounce rate). */
  lowerIsBetter?: boolean;
  /** The series column for the sparkline, when the API gives one. */
  series?: (bucket: Overview["series"][number]) => number;
}

const KPIS: KpiSpec[] = [
  { name: "visitors", term: "visitors", title: "Visitors", format: num, series: (b) => b.visitors },
  { name: "sessions", term: "sessions", title: "Sessions", format: num, series: (b) => b.sessions },
  { name: "page_views", term: "page_views", title: "Page views", format: num, series: (b) => b.page_views },
  { name: "bounce_rate", term: "bounce_rate", title: "Bounce rate", format: (v) => pct(v), lowerIsBetter: true },
  { name: "avg_session_duration_seconds", term: "avg_session_duration_seconds", title: "Avg session", format: duration },
  { name: "conversions", term: "conversion_events", title: "Conversion events", format: num, series: (b) => b.conversions },
  { name: "conversion_rate", term: "session_conversion_rate", title: "Session conv. rate", format: (v) => pct(v, 2) },
  { name: "revenue", term: "revenue", title: "Revenue", format: (v) => gbp(v), series: (b) => b.revenue },
];

function change(value: number | null, lowerIsBetter = false): HTMLElement {
  if (value === null || value === undefined) return h("span", { className: "delta neutral" }, "new");
  const good = lowerIsBetter ? value < 0 : value > 0;
  const arrow = value > 0 ? "▲" : value < 0 ? "▼" : "■";
  const tone = Math.abs(value) < 0.005 ? "neutral" : good ? "up" : "down";
  return h("span", { className: `delta ${tone}` }, `${arrow} ${pct(Math.abs(value))}`);
}

function dayLabel(day: string): string {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });
}

function span(period: { from: string; to: string }): string {
  return period.from === period.to ? dayLabel(period.from) : `${dayLabel(period.from)}–${dayLabel(period.to)}`;
}

/** The line that says which days the changes compare, when a day still in progress is left out. */
function comparisonNote(comparison: KpiComparison | undefined): HTMLElement | null {
  if (!comparison?.excluded_open_days) return null;
  const text =
    comparison.current && comparison.previous
      ? `* Changes compare complete days only, ${span(comparison.current)} with ${span(comparison.previous)}: today so far counts in the figures, not in the changes.`
      : "Today is still in progress: no change is shown until a full day can be compared.";
  return h("p", { className: "muted small comparison-note", "data-comparison": String(comparison.excluded_open_days) }, text);
}

const BUCKET_MS: Record<string, number> = { hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 };

/** How many buckets at the end of the series are still open (today, this hour): drawn dashed. */
export function partialBuckets(series: Overview["series"], interval: string, now = new Date()): number {
  const size = BUCKET_MS[interval] ?? BUCKET_MS.day;
  let open = 0;
  for (let i = series.length - 1; i >= 0; i--) {
    if (Date.parse(series[i].bucket) + size > now.getTime()) open++;
    else break;
  }
  return open;
}

/** A complete line and, dashed, its open end: so a partial today does not read as a drop. */
function splitAtPartial(values: number[], open: number): [(number | null)[], (number | null)[]] {
  if (!open || values.length < 2) return [values, values.map(() => null)];
  const cut = values.length - open;
  const solid = values.map((v, i) => (i < cut ? v : null));
  const dashed = values.map((v, i) => (i >= cut - 1 ? v : null));
  return [solid, dashed];
}

function bucketLabel(bucket: string, interval: string): string {
  const date = new Date(bucket);
  if (interval === "hour") return date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "UTC" });
  return date.toLocaleDateString("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });
}

const CHART_METRICS = KPIS.filter((spec) => spec.series);

export class KpiPanel extends Panel<Overview> {
  private metric: KpiName = (new URLSearchParams(window.location.search).get("metric") as KpiName) ?? "visitors";
  private readonly chart = h("div", { className: "chart chart-main", "data-main-chart": "" });
  private last: Overview | null = null;

  constructor() {
    super("overview", {
      title: "Overview",
      subtitle: "Compared with the previous period of the same length · click a figure to chart it",
      span: 12,
      endpoint: "GET /v1/stats/overview",
      minHeight: 210,
      firstScreen: true,
    });
    if (!CHART_METRICS.some((spec) => spec.name === this.metric)) this.metric = "visitors";
  }

  protected load(context: PanelContext): Promise<Overview> {
    return fetchOverview(context);
  }

  protected isEmpty(data: Overview): boolean {
    return !data.kpis.sessions.value && !data.kpis.page_views.value && !data.kpis.visitors.value;
  }

  protected override emptyMessage(): string {
    return this.context && Object.keys(this.context.filters).length
      ? "No sessions match these filters in this period. Remove a filter above."
      : "No visits in this period. Pick a longer range, or send traffic (reviva simulate).";
  }

  private choose(metric: KpiName): void {
    this.metric = metric;
    updateUrl({ metric: metric === "visitors" ? null : metric });
    if (this.last) void this.render(this.last);
  }

  protected async render(data: Overview): Promise<void> {
    this.last = data;
    const open = partialBuckets(data.series, data.interval);
    const sparks: [HTMLElement, number[], string][] = [];
    const tiles = KPIS.map((spec, i) => {
      const kpi = data.kpis[spec.name];
      const spark = h("div", { className: "spark" });
      if (spec.series && data.series.length > 1) sparks.push([spark, data.series.map(spec.series), COLORS[i % 4 === 3 ? 1 : 0]]);
      const estimated = spec.name === "visitors" && data.visitors_estimated;
      const chartable = !!spec.series;
      return h(
        "article",
        {
          className: `kpi${chartable ? " chartable" : ""}${spec.name === this.metric ? " selected" : ""}`,
          "data-kpi": spec.name,
          role: chartable ? "button" : null,
          tabindex: chartable ? "0" : null,
          "aria-pressed": chartable ? String(spec.name === this.metric) : null,
          onclick: chartable
            ? (event: Event) => {
                if (!(event.target as HTMLElement).closest("a")) this.choose(spec.name);
              }
            : null,
          onkeydown: chartable
            ? (event: Event) => {
                // Enter on the figure's definition link follows the link, not the chart.
                if ((event.target as HTMLElement).closest("a")) return;
                const key = (event as KeyboardEvent).key;
                if (key === "Enter" || key === " ") {
                  event.preventDefault();
                  this.choose(spec.name);
                }
              }
            : null,
        },
        h("h3", {}, term(spec.term, spec.title), estimated ? h("span", { className: "muted", title: "HyperLogLog estimate, about ±1 %" }, " ≈") : null),
        h("div", { className: "kpi-value" }, spec.format(kpi.value)),
        compareLine(spec, kpi, data.comparison),
        spec.series ? spark : periodBars(kpi.value, kpi.previous),
      );
    });
    const spec = CHART_METRICS.find((m) => m.name === this.metric) ?? CHART_METRICS[0];
    replaceChildren(
      this.body,
      h("div", { className: "kpi-grid" }, tiles),
      comparisonNote(data.comparison),
      h(
        "div",
        { className: "main-chart" },
        h(
          "div",
          { className: "main-chart-head" },
          h("h3", {}, spec.title, " by ", data.interval),
          open ? h("span", { className: "muted small", "data-partial": String(open) }, "Dashed: still in progress (", data.interval === "hour" ? "this hour" : "today", ")") : null,
        ),
        this.chart,
      ),
    );
    const values = data.series.map(spec.series!);
    const [solid, dashed] = splitAtPartial(values, open);
    const labels = data.series.map((b) => bucketLabel(b.bucket, data.interval));
    await Promise.all([
      ...sparks.map(([element, series, color]) => draw(element, sparklineWithPartial(series, open, color))),
      draw(this.chart, {
        animation: false,
        grid: { left: 44, right: 12, top: 12, bottom: 24 },
        tooltip: { trigger: "axis", valueFormatter: (v: unknown) => (typeof v === "number" ? spec.format(v) : "–") },
        xAxis: { type: "category", data: labels, boundaryGap: false, ...axisStyle },
        yAxis: { type: "value", minInterval: 1, ...axisStyle },
        series: [
          { name: spec.title, type: "line", data: solid, symbol: "none", smooth: true, color: COLORS[0], areaStyle: { opacity: 0.1 } },
          { name: `${spec.title} (so far)`, type: "line", data: dashed, symbol: "circle", symbolSize: 5, smooth: true, color: COLORS[0], lineStyle: { type: "dashed" } },
        ],
      }),
    ]);
  }
}

/** A tile's change line: against the same complete days of the previous period (see comparisonNote). */
function compareLine(spec: KpiSpec, kpi: Overview["kpis"][KpiName], comparison: KpiComparison | undefined): HTMLElement {
  if (comparison && !comparison.current) {
    return h("div", { className: "kpi-compare" }, h("span", { className: "delta neutral" }, "so far"), h("span", { className: "muted" }, " today in progress"));
  }
  const partial = !!comparison?.excluded_open_days && !!comparison.current && !!comparison.previous;
  return h(
    "div",
    {
      className: "kpi-compare",
      title: partial
        ? `${spec.format(kpi.compared ?? null)} over ${span(comparison!.current!)} against ${spec.format(kpi.previous)} over ${span(comparison!.previous!)}; today is left out until it is over.`
        : null,
    },
    change(kpi.change, spec.lowerIsBetter),
    h("span", { className: "muted" }, ` vs ${spec.format(kpi.previous)}`),
    partial ? h("span", { className: "muted", "data-complete-days": "" }, "*") : null,
  );
}

/** A sparkline whose open end (the partial bucket) is dashed. */
function sparklineWithPartial(values: number[], open: number, color: string): ReturnType<typeof sparklineOption> {
  const option = sparklineOption(values, color) as { series: Record<string, unknown>[] };
  if (!open) return option;
  const [solid, dashed] = splitAtPartial(values, open);
  option.series = [
    { ...option.series[0], data: solid },
    { type: "line", data: dashed, smooth: true, symbol: "none", lineStyle: { width: 1.4, color, type: "dashed" } },
  ];
  return option;
}

/** For a ratio without a per-bucket series: this period's value against the previous one. */
function periodBars(value: number | null, previous: number | null): HTMLElement {
  const max = Math.max(value ?? 0, previous ?? 0) || 1;
  const bar = (name: string, v: number | null, tone: string) =>
    h(
      "div",
      { className: "period-bar" },
      h("span", { className: "period-label" }, name),
      h("span", { className: `period-fill ${tone}`, style: `--share:${((v ?? 0) / max).toFixed(3)}` }),
    );
  return h("div", { className: "spark period-bars" }, bar("now", value, "current"), bar("prev", previous, "previous"));
}

export class AudiencePanel extends Panel<Overview> {
  constructor() {
    super("audience", {
      title: "Audience",
      subtitle: "Sessions by channel, device and country; the most viewed pages · click one to filter",
      span: 6,
      endpoint: "GET /v1/stats/overview",
      minHeight: 300,
    });
  }

  protected load(context: PanelContext): Promise<Overview> {
    return fetchOverview(context);
  }

  protected isEmpty(data: Overview): boolean {
    return !data.channels.length && !data.top_pages.length;
  }

  protected render(data: Overview): void {
    replaceChildren(
      this.body,
      h(
        "div",
        { className: "audience-grid" },
        barList("Channels", data.channels, label, "channel"),
        barList("Devices", data.devices, label, "device"),
        barList("Countries", data.countries, (key) => key, "country"),
        barList("Top pages", data.top_pages, (key) => key, "page", "page views"),
      ),
    );
  }
}

function barList(title: string, items: Breakdown[], name: (key: string) => string, filter: FilterName, unit = "sessions"): HTMLElement {
  const max = Math.max(1, ...items.map((i) => i.value));
  return h(
    "div",
    { className: "breakdown" },
    h("h3", {}, title),
    items.length
      ? h(
          "ol",
          { className: "bar-list" },
          items.slice(0, 8).map((item) =>
            h(
              "li",
              {},
              h(
                "button",
                {
                  type: "button",
                  className: "bar-button",
                  "data-filter-name": filter,
                  "data-filter-value": item.key,
                  title: `${num(item.value)} ${unit}${item.previous !== null ? `, previously ${num(item.previous)}` : ""} · click to filter`,
                  onclick: () => setFilter(filter, item.key),
                },
                h("span", { className: "bar", style: `--share:${(item.value / max).toFixed(3)}` }),
                h("span", { className: "bar-key" }, name(item.key)),
                h("span", { className: "bar-value" }, num(item.value)),
              ),
            ),
          ),
        )
      : h("p", { className: "muted small" }, "None in this period."),
  );
}
