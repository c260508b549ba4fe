/** Funnel: visitors reaching each step within the window, the drop-off between steps, and a breakdown. */

import { axisStyle, COLORS, draw, MUTED } from "../charts";
import { h, replaceChildren } from "../dom";
import { duration, label, num, pct } from "../format";
import { Panel, type PanelContext } from "../panel";
import type { Funnel, FunnelStepSpec } from "../types";

interface FunnelPreset {
  id: string;
  name: string;
  steps: FunnelStepSpec[];
  labels: string[];
}

/** The store's funnels (the source plan's booking journey). */
const PRESETS: FunnelPreset[] = [
  {
    id: "booking",
    name: "Visit → booking",
    steps: [{ type: "page" }, { url: "/pricing*" }, { event: "Booking Started" }, { event: "Booking Submitted" }],
    labels: ["Visited", "Saw prices", "Started booking", "Booked"],
  },
  {
    id: "services",
    name: "Services → booking",
    steps: [{ url: "/services*" }, { event: "Pricing Viewed" }, { event: "Booking Started" }, { event: "Booking Submitted" }],
    labels: ["Browsed services", "Viewed a price", "Started booking", "Booked"],
  },
];

const BREAKDOWNS = ["", "channel", "device_type", "country", "utm_source", "utm_campaign", "journey_stage"];

function select(name: string, options: [string, string][], onChange: (value: string) => void): HTMLSelectElement {
  const element = h(
    "select",
    { name, "aria-label": label(name) },
    options.map(([value, text]) => h("option", { value }, text)),
  );
  element.addEventListener("change", () => onChange(element.value));
  return element;
}

export class FunnelPanel extends Panel<Funnel> {
  private preset = PRESETS[0];
  private breakdown = "channel";
  private readonly chart = h("div", { className: "chart chart-funnel" });

  constructor() {
    super("funnel", {
      title: "Funnel",
      subtitle: "Visitors completing each step within 72 hours of the first",
      span: 8,
      endpoint: "POST /v1/funnels",
      minHeight: 360,
      firstScreen: true,
    });
    const presetSelect = select("funnel", PRESETS.map((p) => [p.id, p.name]), (value) => {
      this.preset = PRESETS.find((p) => p.id === value) ?? PRESETS[0];
      void this.refresh();
    });
    const breakdownSelect = select("breakdown", BREAKDOWNS.map((b) => [b, b ? `By ${label(b).toLowerCase()}` : "No breakdown"]), (value) => {
      this.breakdown = value;
      void this.refresh();
    });
    breakdownSelect.value = this.breakdown;
    this.tools.append(presetSelect, breakdownSelect);
  }

  protected load(context: PanelContext, signal: AbortSignal): Promise<Funnel> {
    const body: Record<string, unknown> = {
      steps: this.preset.steps,
      window_hours: 72,
      from: context.range.from,
      to: context.range.to,
    };
    if (this.breakdown) body.breakdown = this.breakdown;
    return context.api.post<Funnel>("/v1/funnels", body, {}, signal);
  }

  protected isEmpty(data: Funnel): boolean {
    return !data.steps.length || data.steps[0].count === 0;
  }

  protected override emptyMessage(): string {
    return "Nobody entered this funnel in the period.";
  }

  private stepName(index: number, fallback: string): string {
    return this.preset.labels[index] ?? fallback;
  }

  protected async render(data: Funnel): Promise<void> {
    const steps = data.steps;
    const names = steps.map((s) => this.stepName(s.index, s.label));
    const overall = steps[steps.length - 1].conversion_from_start;
    replaceChildren(
      this.body,
      this.chart,
      h(
        "ol",
        { className: "funnel-steps" },
        steps.map((step, i) =>
          h(
            "li",
            {},
            h("span", { className: "step-index" }, String(i + 1)),
            h("span", { className: "step-title", title: step.label }, names[i]),
            h("span", { className: "step-count" }, num(step.count)),
            i === 0
              ? h("span", { className: "muted small" }, "entered")
              : h(
                  "span",
                  { className: "small" },
                  h("span", { className: "drop" }, `−${num(step.drop_off)} (${pct(step.drop_off_rate, 0)})`),
                  step.median_seconds_from_previous !== null
                    ? h("span", { className: "muted" }, ` · median ${duration(step.median_seconds_from_previous)}`)
                    : null,
                ),
          ),
        ),
        h("li", { className: "funnel-total" }, h("span", {}, "Overall conversion"), h("strong", {}, pct(overall, 1))),
      ),
      data.breakdowns.length ? breakdownTable(data, names) : null,
    );
    await draw(this.chart, {
      grid: { left: 44, right: 12, top: 24, bottom: 28 },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        valueFormatter: (value: unknown) => num(Number(value)),
      },
      xAxis: { type: "category", data: names, ...axisStyle, axisLabel: { ...axisStyle.axisLabel, color: "#475569", fontSize: 12 } },
      yAxis: { type: "value", ...axisStyle },
      series: [
        {
          name: "Reached",
          type: "bar",
          stack: "funnel",
          barWidth: "56%",
          data: steps.map((s) => s.count),
          itemStyle: { color: COLORS[0], borderRadius: [0, 0, 4, 4] },
          label: {
            show: true,
            position: "insideTop",
            color: "#fff",
            fontWeight: 600,
            formatter: (p: { dataIndex: number }) => pct(steps[p.dataIndex].conversion_from_start, 0),
          },
        },
        {
          name: "Dropped off",
          type: "bar",
          stack: "funnel",
          // Stacked on top: the whole bar is the previous step, the light part is who left.
          data: steps.map((s) => s.drop_off),
          itemStyle: { color: "rgba(219, 39, 119, 0.16)", borderColor: "rgba(219, 39, 119, 0.45)", borderType: "dashed", borderRadius: [4, 4, 0, 0] },
          label: {
            show: true,
            position: "top",
            color: MUTED,
            formatter: (p: { dataIndex: number }) => (p.dataIndex ? `−${pct(steps[p.dataIndex].drop_off_rate, 0)}` : ""),
          },
        },
      ],
    });
  }
}

function breakdownTable(data: Funnel, names: string[]): HTMLElement {
  const last = data.steps.length - 1;
  return h(
    "div",
    { className: "table-scroll" },
    h(
      "table",
      { className: "table numeric" },
      h(
        "thead",
        {},
        h("tr", {}, h("th", {}, label(data.breakdown ?? "")), names.map((n) => h("th", {}, n)), h("th", {}, "Conversion")),
      ),
      h(
        "tbody",
        {},
        data.breakdowns.slice(0, 6).map((row) => {
          const counts = data.steps.map((s) => row.steps.find((r) => r.index === s.index)?.count ?? 0);
          return h(
            "tr",
            {},
            h("th", { scope: "row" }, label(row.key)),
            counts.map((c) => h("td", {}, num(c))),
            h("td", { className: "strong" }, counts[0] ? pct(counts[last] / counts[0]) : "–"),
          );
        }),
      ),
    ),
  );
}
