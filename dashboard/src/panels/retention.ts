/** Cohort retention: of the visitors first seen in a period, how many came back in each later period. */

import { draw, MUTED } from "../charts";
import { term } from "../definitions";
import { h, replaceChildren } from "../dom";
import { num, pct } from "../format";
import { dayCount } from "../range";
import { Panel, type PanelContext } from "../panel";
import type { Retention } from "../types";

type Cohort = "day" | "week" | "month";

export class RetentionPanel extends Panel<Retention> {
  private cohort: Cohort | null = null; // null: chosen from the range's length
  private readonly chart = h("div", { className: "chart chart-heatmap" });
  private readonly cohortSelect: HTMLSelectElement;

  constructor() {
    super("retention", {
      title: "Cohort retention",
      subtitle: "Share of each cohort active again, period by period",
      span: 5,
      endpoint: "GET /v1/retention",
      minHeight: 360,
    });
    this.cohortSelect = h(
      "select",
      { name: "cohort", "aria-label": "Cohort size" },
      h("option", { value: "day" }, "Daily cohorts"),
      h("option", { value: "week" }, "Weekly cohorts"),
      h("option", { value: "month" }, "Monthly cohorts"),
    );
    this.cohortSelect.addEventListener("change", () => {
      this.cohort = this.cohortSelect.value as Cohort;
      void this.refresh();
    });
    this.tools.append(this.cohortSelect);
  }

  protected load(context: PanelContext, signal: AbortSignal): Promise<Retention> {
    const days = dayCount(context.range);
    const cohort = this.cohort ?? (days <= 14 ? "day" : days <= 120 ? "week" : "month");
    this.cohortSelect.value = cohort;
    return context.api.get<Retention>(
      "/v1/retention",
      { cohort, periods: 8, from: context.range.from, to: context.range.to, ...context.filters },
      signal,
    );
  }

  protected isEmpty(data: Retention): boolean {
    return !data.cohorts.some((c) => c.size > 0);
  }

  protected override emptyMessage(): string {
    return "No cohorts in this period.";
  }

  protected async render(data: Retention): Promise<void> {
    const cohorts = data.cohorts;
    const periods = Math.max(1, ...cohorts.map((c) => c.rates.length));
    const unit = data.cohort === "day" ? "Day" : data.cohort === "week" ? "Week" : "Month";
    const columns = Array.from({ length: periods }, (_, i) => `${unit} ${i}`);
    const rows = cohorts.map((c) => `${c.cohort} · ${num(c.size)}`);
    const cells: [number, number, number][] = [];
    cohorts.forEach((c, y) => c.rates.forEach((rate, x) => cells.push([x, y, rate])));
    // Period 0 is 100 % by definition; the scale is set by the later periods so they stay readable.
    const later = cells.filter(([x]) => x > 0).map(([, , r]) => r);
    const top = Math.max(0.05, ...later);
    this.chart.style.height = `${Math.max(220, cohorts.length * 30 + 70)}px`;
    const visitors = cohorts.reduce((sum, c) => sum + c.size, 0);
    replaceChildren(
      this.body,
      h(
        "p",
        { className: "muted small", "data-retention-summary": "" },
        `${num(visitors)} visitors in ${num(cohorts.length)} cohort${cohorts.length === 1 ? "" : "s"}. Each cell: `,
        term("retention_rate", "retention rate"),
        " (",
        term("retained_visitors", "retained visitors"),
        " ÷ the cohort's visitors).",
      ),
      this.chart,
    );
    await draw(this.chart, {
      animation: false,
      grid: { left: 118, right: 8, top: 26, bottom: 46 },
      tooltip: {
        formatter: (p: { data: [number, number, number] }) => {
          const [x, y, rate] = p.data;
          const cohort = cohorts[y];
          return `${cohort.cohort} cohort (${num(cohort.size)})<br>${columns[x]}: <b>${pct(rate)}</b> · ${num(cohort.retained[x])} visitors`;
        },
      },
      xAxis: { type: "category", data: columns, position: "top", axisLine: { show: false }, axisTick: { show: false }, axisLabel: { color: MUTED, fontSize: 11 } },
      yAxis: { type: "category", data: rows, inverse: true, axisLine: { show: false }, axisTick: { show: false }, axisLabel: { color: "#475569", fontSize: 11 } },
      visualMap: {
        min: 0,
        max: top,
        calculable: false,
        orient: "horizontal",
        left: "center",
        bottom: 0,
        itemHeight: 120,
        itemWidth: 10,
        text: [pct(top, 0), "0%"],
        textStyle: { color: MUTED, fontSize: 11 },
        inRange: { color: ["#f0fdfa", "#5eead4", "#0f766e"] },
      },
      series: [
        {
          type: "heatmap",
          data: cells,
          label: { show: true, fontSize: 11, formatter: (p: { data: [number, number, number] }) => pct(p.data[2], 0) },
          itemStyle: { borderColor: "#fff", borderWidth: 2, borderRadius: 3 },
          emphasis: { itemStyle: { borderColor: "#0f172a", borderWidth: 1 } },
        },
      ],
    });
  }
}
