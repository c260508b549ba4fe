/** Campaigns: per UTM campaign visitors, conversions, revenue and the daily trend. */

import { term } from "../definitions";
import { h, replaceChildren } from "../dom";
import { gbp, num, pct } from "../format";
import { Panel, type PanelContext } from "../panel";
import type { Campaign, Campaigns } from "../types";

const SORTS: [string, string][] = [
  ["visitors", "Visitors"],
  ["sessions", "Sessions"],
  ["conversions", "Conversions"],
  ["revenue", "Revenue"],
];
const PAGE = 25;

/** A tiny inline SVG line: one per row, far cheaper than a chart instance each. */
function sparkSvg(values: number[]): SVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const width = 96;
  const height = 24;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "inline-spark");
  svg.setAttribute("aria-hidden", "true");
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`);
  const area = document.createElementNS(ns, "path");
  area.setAttribute("d", `M0,${height} L${points.join(" L")} L${width},${height} Z`);
  area.setAttribute("class", "spark-area");
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", points.join(" "));
  line.setAttribute("class", "spark-line");
  svg.append(area, line);
  return svg;
}

export class CampaignsPanel extends Panel<Campaigns> {
  private sort = "visitors";
  private rows: Campaign[] = [];

  constructor() {
    super("campaigns", {
      title: "Campaigns",
      subtitle: "UTM campaigns in the period, with their daily visitors",
      span: 6,
      endpoint: "GET /v1/campaigns",
      minHeight: 300,
    });
    const sort = h("select", { name: "sort", "aria-label": "Sort by" }, SORTS.map(([v, t]) => h("option", { value: v }, `By ${t.toLowerCase()}`)));
    sort.addEventListener("change", () => {
      this.sort = sort.value;
      void this.refresh();
    });
    this.tools.append(sort);
  }

  protected async load(context: PanelContext, signal: AbortSignal): Promise<Campaigns> {
    const answer = await context.api.get<Campaigns>(
      "/v1/campaigns",
      { from: context.range.from, to: context.range.to, sort: this.sort, limit: PAGE, ...context.filters },
      signal,
    );
    this.rows = answer.campaigns;
    return answer;
  }

  protected isEmpty(data: Campaigns): boolean {
    return !data.campaigns.length;
  }

  protected override emptyMessage(): string {
    return "No campaign traffic (utm_campaign) in this period.";
  }

  private async more(data: Campaigns, button: HTMLButtonElement): Promise<void> {
    if (!this.context || !data.next_cursor) return;
    button.disabled = true;
    try {
      const next = await this.context.api.get<Campaigns>("/v1/campaigns", {
        from: this.context.range.from,
        to: this.context.range.to,
        sort: this.sort,
        limit: PAGE,
        cursor: data.next_cursor,
        ...this.context.filters,
      });
      this.rows = [...this.rows, ...next.campaigns];
      this.render({ ...next, campaigns: this.rows });
    } catch (error) {
      this.fail(error);
    }
  }

  protected render(data: Campaigns): void {
    const hasSpend = this.rows.some((c) => c.spend !== null);
    const more = h("button", { type: "button", className: "button small ghost" }, `Show more (${num(data.total - this.rows.length)} left)`);
    more.addEventListener("click", () => void this.more(data, more));
    replaceChildren(
      this.body,
      h(
        "div",
        { className: "table-scroll tall" },
        h(
          "table",
          { className: "table numeric" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", {}, "Campaign"),
              h("th", {}, term("visitors")),
              h("th", {}, term("conversion_events", "Conv.")),
              h("th", {}, term("conversion_events_per_session", "Per session")),
              h("th", {}, term("revenue")),
              hasSpend ? h("th", {}, term("spend")) : null,
              h("th", { className: "trend-col" }, "Trend"),
            ),
          ),
          h(
            "tbody",
            {},
            this.rows.map((c) =>
              h(
                "tr",
                {},
                h(
                  "th",
                  { scope: "row" },
                  h("div", { className: "campaign-name" }, c.campaign),
                  h("div", { className: "muted small" }, [c.source, c.medium].filter(Boolean).join(" / ") || "–"),
                ),
                h("td", {}, num(c.visitors)),
                h("td", {}, num(c.conversions)),
                h("td", {}, pct(c.conversion_rate)),
                h("td", {}, gbp(c.revenue)),
                hasSpend ? h("td", {}, gbp(c.spend)) : null,
                h("td", { className: "trend-col", title: `Daily visitors: ${c.trend.visitors.join(", ")}` }, sparkSvg(c.trend.visitors)),
              ),
            ),
          ),
        ),
      ),
      data.next_cursor ? h("div", { className: "table-more" }, more) : null,
    );
  }
}
