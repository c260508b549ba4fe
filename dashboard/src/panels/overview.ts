/** Overview: the period's KPIs against the previous period, each with its sparkline; and the audience mix. */

import { COLORS, draw, sparklineOption } from "../charts";
import { h, replaceChildren } from "../dom";
import { duration, gbp, label, num, pct } from "../format";
import { intervalFor } from "../range";
import { Panel, type PanelContext } from "../panel";
import { shared } from "../shared";
import type { Breakdown, Overview } from "../types";

function fetchOverview(context: PanelContext): Promise<Overview> {
  const { from, to } = context.range;
  const query = { from, to, interval: intervalFor(context.range) };
  // Both overview panels show parts of one answer: ask once.
  return shared(context.api.url("/v1/stats/overview", query), () => context.api.get<Overview>("/v1/stats/overview", query));
}

type KpiName = keyof Overview["kpis"];

interface KpiSpec {
  name: KpiName;
  title: string;
  format: (value: number | null) => string;
  /** A drop is good news (bounce rate). */
  lowerIsBetter?: boolean;
  /** The series column for the sparkline, when the API gives one. */
  series?: (bucket: Overview["series"][number]) => number;
}

const KPIS: KpiSpec[] = [
  { name: "visitors", title: "Visitors", format: num, series: (b) => b.visitors },
  { name: "sessions", title: "Sessions", format: num, series: (b) => b.sessions },
  { name: "page_views", title: "Page views", format: num, series: (b) => b.page_views },
  { name: "bounce_rate", title: "Bounce rate", format: (v) => pct(v), lowerIsBetter: true },
  { name: "avg_session_duration_seconds", title: "Avg session", format: duration },
  { name: "conversions", title: "Conversions", format: num, series: (b) => b.conversions },
  { name: "conversion_rate", title: "Conversion rate", format: (v) => pct(v, 2) },
  { name: "revenue", title: "Revenue", format: (v) => gbp(v), series: (b) => b.revenue },
];

function change(value: number | null, lowerIsBetter = false): HTMLElement {
  if (value === null || value === undefined) return h("span", { className: "delta neutral" }, "new");
  const good = lowerIsBetter ? value < 0 : value > 0;
  const arrow = value > 0 ? "▲" : value < 0 ? "▼" : "■";
  const tone = Math.abs(value) < 0.005 ? "neutral" : good ? "up" : "down";
  return h("span", { className: `delta ${tone}` }, `${arrow} ${pct(Math.abs(value))}`);
}

export class KpiPanel extends Panel<Overview> {
  constructor() {
    super("overview", {
      title: "Overview",
      subtitle: "Compared with the previous period of the same length",
      span: 12,
      endpoint: "GET /v1/stats/overview",
      minHeight: 210,
      firstScreen: true,
    });
  }

  protected load(context: PanelContext): Promise<Overview> {
    return fetchOverview(context);
  }

  protected isEmpty(data: Overview): boolean {
    return !data.kpis.sessions.value && !data.kpis.page_views.value && !data.kpis.visitors.value;
  }

  protected override emptyMessage(): string {
    return "No visits in this period. Pick a longer range, or send traffic (reviva simulate).";
  }

  protected async render(data: Overview): Promise<void> {
    const sparks: [HTMLElement, number[], string][] = [];
    const tiles = KPIS.map((spec, i) => {
      const kpi = data.kpis[spec.name];
      const spark = h("div", { className: "spark" });
      if (spec.series && data.series.length > 1) sparks.push([spark, data.series.map(spec.series), COLORS[i % 4 === 3 ? 1 : 0]]);
      const estimated = spec.name === "visitors" && data.visitors_estimated;
      return h(
        "article",
        { className: "kpi", "data-kpi": spec.name },
        h("h3", {}, spec.title, estimated ? h("span", { className: "muted", title: "HyperLogLog estimate, about ±1 %" }, " ≈") : null),
        h("div", { className: "kpi-value" }, spec.format(kpi.value)),
        h(
          "div",
          { className: "kpi-compare" },
          change(kpi.change, spec.lowerIsBetter),
          h("span", { className: "muted" }, ` vs ${spec.format(kpi.previous)}`),
        ),
        spec.series ? spark : periodBars(kpi.value, kpi.previous),
      );
    });
    replaceChildren(this.body, h("div", { className: "kpi-grid" }, tiles));
    await Promise.all(sparks.map(([element, values, color]) => draw(element, sparklineOption(values, color))));
  }
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
      subtitle: "Sessions by channel, device and country; the most viewed pages",
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
        barList("Channels", data.channels, label),
        barList("Devices", data.devices, label),
        barList("Countries", data.countries, (key) => key),
        barList("Top pages", data.top_pages, (key) => key, "page views"),
      ),
    );
  }
}

function barList(title: string, items: Breakdown[], name: (key: string) => string, unit = "sessions"): HTMLElement {
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
              { title: `${num(item.value)} ${unit}${item.previous !== null ? `, previously ${num(item.previous)}` : ""}` },
              h("span", { className: "bar", style: `--share:${(item.value / max).toFixed(3)}` }),
              h("span", { className: "bar-key" }, name(item.key)),
              h("span", { className: "bar-value" }, num(item.value)),
            ),
          ),
        )
      : h("p", { className: "muted small" }, "None in this period."),
  );
}
