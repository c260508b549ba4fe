/** Journeys: how sessions move through the journey touchpoints, as a Sankey, with the top paths and stage moves. */

import { COLORS, draw } from "../charts";
import { term } from "../definitions";
import { h, replaceChildren } from "../dom";
import { label, num } from "../format";
import { Panel, type PanelContext } from "../panel";
import type { Paths } from "../types";

const START_STEPS = ["", "landing_page", "home_page", "service_browse", "pricing_check", "booking_page", "booking_start"];

export class PathsPanel extends Panel<Paths> {
  private fromStep = "";
  private readonly chart = h("div", { className: "chart chart-sankey" });

  constructor() {
    super("paths", {
      title: "Journeys",
      subtitle: "Sessions flowing through journey touchpoints, one column per step",
      span: 12,
      endpoint: "GET /v1/paths",
      minHeight: 420,
    });
    const start = h(
      "select",
      { name: "from_step", "aria-label": "Start at" },
      START_STEPS.map((s) => h("option", { value: s }, s ? `From ${label(s).toLowerCase()}` : "From session start")),
    );
    start.addEventListener("change", () => {
      this.fromStep = start.value;
      void this.refresh();
    });
    this.tools.append(start);
  }

  protected load(context: PanelContext, signal: AbortSignal): Promise<Paths> {
    return context.api.get<Paths>(
      "/v1/paths",
      { from: context.range.from, to: context.range.to, depth: 4, from_step: this.fromStep || null, ...context.filters },
      signal,
    );
  }

  protected isEmpty(data: Paths): boolean {
    return !data.links.length;
  }

  protected override emptyMessage(): string {
    return this.fromStep ? `No session reached ${label(this.fromStep).toLowerCase()} in this period.` : "No journeys in this period.";
  }

  protected async render(data: Paths): Promise<void> {
    // Thin flows (under 2 % of the sessions) make the diagram unreadable; the top paths list keeps them.
    const entering = data.nodes.filter((n) => n.depth === 0).reduce((sum, n) => sum + n.count, 0);
    const threshold = Math.max(2, entering * 0.02);
    const thick = data.links.filter((l) => l.value >= threshold);
    const links = thick.length ? thick : data.links;
    const linked = new Set(links.flatMap((l) => [l.source, l.target]));
    const nodes = data.nodes.filter((n) => linked.has(n.id));
    const names = [...new Set(data.nodes.map((n) => n.name))];
    const colorOf = (name: string) => COLORS[names.indexOf(name) % COLORS.length];
    const maxPath = Math.max(1, ...data.top_paths.map((p) => p.sessions));
    // One node per (step, touchpoint): the id is "<depth>:<touchpoint>", shown as "2 · Pricing check".
    const byId = new Map(data.nodes.map((n) => [n.id, n]));
    const nodeName = (id?: string) => {
      const node = id ? byId.get(id) : undefined;
      return node ? `${node.depth + 1} · ${label(node.name)}` : label(id?.split(":").slice(1).join(":"));
    };
    replaceChildren(
      this.body,
      h(
        "div",
        { className: "paths-grid" },
        // On a phone the diagram keeps a readable width and scrolls sideways inside its card.
        h("div", { className: "chart-scroll" }, this.chart),
        h(
          "div",
          { className: "paths-side" },
          h("h3", {}, "Top paths ", h("span", { className: "muted small" }, "(", term("journey_sessions", "sessions"), ")")),
          h(
            "ol",
            { className: "path-list path-list-full" },
            data.top_paths.slice(0, 10).map((path) =>
              h(
                "li",
                { title: path.steps.map(label).join(" → ") },
                h("span", { className: "bar", style: `--share:${(path.sessions / maxPath).toFixed(3)}` }),
                h(
                  "span",
                  { className: "path-steps" },
                  path.steps.flatMap((step, i) => [i ? h("span", { className: "path-arrow", "aria-hidden": "true" }, " → ") : null, h("span", { className: "path-step" }, label(step))]),
                ),
                h("span", { className: "bar-value" }, num(path.sessions)),
              ),
            ),
          ),
          data.stage_transitions.length ? h("h3", {}, "Stage moves") : null,
          h(
            "ul",
            { className: "stage-moves" },
            data.stage_transitions.slice(0, 6).map((t) =>
              h(
                "li",
                {},
                h("span", { className: `chip stage-chip stage-${t.from}` }, label(t.from)),
                " → ",
                h("span", { className: `chip stage-chip stage-${t.to}` }, label(t.to)),
                h("span", { className: "bar-value" }, num(t.count)),
              ),
            ),
          ),
        ),
      ),
    );
    await draw(this.chart, {
      tooltip: {
        trigger: "item",
        formatter: (p: { dataType: string; data: { source?: string; target?: string; value: number; name?: string } }) =>
          p.dataType === "edge"
            ? `${nodeName(p.data.source)} → ${nodeName(p.data.target)}: <b>${num(p.data.value)}</b> sessions`
            : `Step ${nodeName(p.data.name)}: <b>${num(p.data.value)}</b> sessions`,
      },
      series: [
        {
          type: "sankey",
          left: 8,
          right: 120,
          top: 12,
          bottom: 12,
          nodeGap: 10,
          nodeWidth: 14,
          draggable: false,
          layoutIterations: 32,
          emphasis: { focus: "adjacency" },
          data: nodes.map((n) => ({ name: n.id, value: n.count, itemStyle: { color: colorOf(n.name), borderWidth: 0 } })),
          links,
          lineStyle: { color: "gradient", opacity: 0.28, curveness: 0.5 },
          label: {
            color: "#334155",
            fontSize: 11,
            // "2 · Pricing check" over its sessions: the same touchpoint at two steps is two nodes.
            formatter: (p: { name: string; value: number }) => `${nodeName(p.name)} · ${num(p.value)}`,
          },
          edgeLabel: {
            show: true,
            color: "#475569",
            fontSize: 10,
            formatter: (p: { value: number }) => num(p.value),
          },
        },
      ],
    });
  }
}
