/**
 * Funnel: visitors reaching each step within the window, the drop-off between steps, and a
 * breakdown by the session's acquisition channel (or another dimension). The funnel is a preset of
 * the site's journey rules, a saved funnel (opened by `?funnel=<id>` in the URL), or one built in
 * the builder from values the lake holds.
 */

import { ApiError } from "../api";
import { axisStyle, COLORS, draw, MUTED } from "../charts";
import { term } from "../definitions";
import { h, replaceChildren } from "../dom";
import { duration, label, num, pct } from "../format";
import { Panel, type PanelContext } from "../panel";
import type { Funnel, FunnelVocabulary, SavedFunnel } from "../types";
import { type BuiltStep, defaultLabel, FunnelBuilder } from "./funnel-builder";

interface FunnelChoice {
  key: string; // "preset:<id>", "saved:<id>" or "custom"
  name: string;
  steps: BuiltStep[];
  savedId: string | null;
  /** A saved funnel's breakdown ("" for none); presets keep the panel's. */
  breakdown?: string;
}

/** Used only when the deployment cannot say its presets (no vocabulary endpoint yet). */
const FALLBACK: FunnelChoice = {
  key: "preset:booking",
  name: "Visit → booking",
  savedId: null,
  steps: [
    { step: { type: "page" }, label: "Visited" },
    { step: { event: "Booking Started" }, label: "Started booking" },
    { step: { event: "Booking Submitted" }, label: "Booked" },
  ],
};
const BREAKDOWNS = ["", "channel", "device_type", "country", "utm_source", "utm_campaign", "journey_stage"];
const URL_PARAMETER = "funnel";
const WINDOW_HOURS = 72;

function breakdownName(breakdown: string): string {
  return breakdown === "channel" ? "Acquisition channel" : label(breakdown);
}

/** Keep `?funnel=<id>` in the address bar (or drop it), leaving the other parameters alone. */
function setUrlFunnel(id: string | null): void {
  const params = new URLSearchParams(window.location.search);
  if (id) params.set(URL_PARAMETER, id);
  else params.delete(URL_PARAMETER);
  window.history.replaceState(null, "", `${window.location.pathname}?${params}${window.location.hash}`);
}

export class FunnelPanel extends Panel<Funnel> {
  private choices: FunnelChoice[] = [FALLBACK];
  private current: FunnelChoice = FALLBACK;
  private breakdown = "channel";
  private started: Promise<void> | null = null;
  private vocabularyRange = "";
  private readonly chart = h("div", { className: "chart chart-funnel" });
  private readonly choiceSelect = h("select", { name: "funnel", "aria-label": "Funnel" });
  private readonly builder: FunnelBuilder;
  private readonly link = h("p", { className: "funnel-link small", hidden: true });

  constructor() {
    super("funnel", {
      title: "Funnel",
      subtitle: "Visitors completing each step in order within 72 hours of the first",
      span: 8,
      endpoint: "POST /v1/funnels",
      minHeight: 360,
      firstScreen: true,
    });
    this.choiceSelect.addEventListener("change", () => {
      const choice = this.choices.find((c) => c.key === this.choiceSelect.value);
      if (choice) this.choose(choice);
    });
    const breakdownSelect = h(
      "select",
      { name: "breakdown", "aria-label": "Breakdown" },
      BREAKDOWNS.map((b) => h("option", { value: b }, b ? `By ${breakdownName(b).toLowerCase()}` : "No breakdown")),
    );
    breakdownSelect.value = this.breakdown;
    breakdownSelect.addEventListener("change", () => {
      this.breakdown = breakdownSelect.value;
      void this.refresh();
    });
    this.tools.append(this.choiceSelect, breakdownSelect);
    this.builder = new FunnelBuilder(
      () => this.context,
      (steps) => this.choose({ key: "custom", name: "Custom funnel", steps, savedId: null }),
      (steps, name) => void this.save(steps, name),
    );
    this.controls.hidden = false;
    this.controls.append(this.builder.element, this.link);
    this.renderChoices();
  }

  private applyBreakdown(choice: FunnelChoice): void {
    if (choice.breakdown === undefined) return;
    this.breakdown = choice.breakdown;
    const select = this.tools.querySelector<HTMLSelectElement>("select[name=breakdown]");
    if (select) select.value = this.breakdown;
  }

  private choose(choice: FunnelChoice): void {
    this.current = choice;
    this.applyBreakdown(choice);
    if (choice.key === "custom" && !this.choices.some((c) => c.key === "custom")) this.choices.push(choice);
    else if (choice.key === "custom") this.choices = this.choices.map((c) => (c.key === "custom" ? choice : c));
    this.renderChoices();
    this.builder.show(choice.steps, choice.savedId ? choice.name : "");
    setUrlFunnel(choice.savedId);
    this.showLink(choice.savedId);
    void this.refresh();
  }

  private renderChoices(): void {
    const group = (name: string, prefix: string) => {
      const items = this.choices.filter((c) => c.key.startsWith(prefix));
      return items.length ? h("optgroup", { label: name }, items.map((c) => h("option", { value: c.key }, c.name))) : null;
    };
    replaceChildren(this.choiceSelect, group("Presets", "preset:"), group("Saved", "saved:"), group("Built here", "custom"));
    this.choiceSelect.value = this.current.key;
  }

  private showLink(id: string | null): void {
    this.link.hidden = !id;
    if (!id) return;
    const url = new URL(window.location.href);
    url.hash = "";
    replaceChildren(this.link, "Saved. Open it again with ", h("a", { href: url.toString(), "data-funnel-link": id }, `?${URL_PARAMETER}=${id}`));
  }

  /** Presets (the site's journey rules), the saved funnels, and the one the URL names. */
  private async start(context: PanelContext): Promise<void> {
    await this.loadVocabulary(context);
    const saved = await context.api
      .get<{ funnels: SavedFunnel[] }>("/v1/funnels/saved")
      .then((answer) => answer.funnels)
      .catch(() => [] as SavedFunnel[]);
    this.choices = [...this.choices.filter((c) => c.key.startsWith("preset:")), ...saved.map(savedChoice)];
    const wanted = new URLSearchParams(window.location.search).get(URL_PARAMETER);
    let chosen = this.choices[0];
    if (wanted) {
      const found = this.choices.find((c) => c.savedId === wanted);
      if (found) chosen = found;
      else this.builder.say(`No saved funnel ${wanted}: showing ${chosen.name}.`);
    }
    this.current = chosen;
    this.applyBreakdown(chosen);
    this.renderChoices();
    this.builder.show(chosen.steps, chosen.savedId ? chosen.name : "");
    this.showLink(chosen.savedId);
  }

  private async loadVocabulary(context: PanelContext): Promise<void> {
    const range = `${context.range.from}/${context.range.to}`;
    if (range === this.vocabularyRange) return;
    this.vocabularyRange = range;
    try {
      const vocabulary = await context.api.get<FunnelVocabulary>("/v1/funnels/vocabulary", { from: context.range.from, to: context.range.to });
      this.builder.setVocabulary(vocabulary);
      const presets = vocabulary.presets.map((p) => ({ key: `preset:${p.id}`, name: p.name, steps: p.steps, savedId: null }));
      if (presets.length) this.choices = [...presets, ...this.choices.filter((c) => !c.key.startsWith("preset:"))];
    } catch (error) {
      // Without the vocabulary the builder still takes typed values and the fallback preset runs.
      if (!(error instanceof ApiError)) throw error;
    }
  }

  private async save(steps: BuiltStep[], name: string): Promise<void> {
    if (!this.context) return;
    const body: Record<string, unknown> = {
      name,
      steps: steps.map((s) => s.step),
      labels: steps.map((s) => s.label),
      window_hours: WINDOW_HOURS,
      breakdown: this.breakdown || null,
    };
    if (this.current.savedId && this.current.name === name) body.id = this.current.savedId;
    try {
      const saved = await this.context.api.post<SavedFunnel>("/v1/funnels/saved", body);
      const choice = savedChoice(saved);
      this.choices = [...this.choices.filter((c) => c.key !== choice.key && c.key !== "custom"), choice];
      this.choose(choice);
    } catch (error) {
      this.builder.say(`Could not save: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  protected async load(context: PanelContext, signal: AbortSignal): Promise<Funnel> {
    this.started ??= this.start(context);
    await this.started;
    void this.loadVocabulary(context).then(() => this.renderChoices());
    const body: Record<string, unknown> = {
      steps: this.current.steps.map((s) => s.step),
      window_hours: WINDOW_HOURS,
      from: context.range.from,
      to: context.range.to,
      ...context.filters,
    };
    if (this.breakdown) body.breakdown = this.breakdown;
    return context.api.post<Funnel>("/v1/funnels", body, {}, signal);
  }

  protected isEmpty(data: Funnel): boolean {
    return !data.steps.length || data.entered_visitors === 0;
  }

  protected override emptyMessage(): string {
    return `Nobody entered “${this.current.name}” in the period.`;
  }

  protected async render(data: Funnel): Promise<void> {
    const steps = data.steps;
    const names = steps.map((s) => this.current.steps[s.index]?.label ?? s.label);
    replaceChildren(
      this.body,
      this.chart,
      h(
        "ol",
        { className: "funnel-steps" },
        steps.map((step, i) =>
          h(
            "li",
            { "data-step": i },
            h("span", { className: "step-index" }, String(i + 1)),
            h("span", { className: "step-title", title: step.label }, names[i]),
            h("span", { className: "step-count", title: "Visitors who reached this step" }, num(step.visitors)),
            i === 0
              ? h("span", { className: "muted small" }, term("entered_visitors", "entered"))
              : h(
                  "span",
                  { className: "small" },
                  step.drop_off_visitors > 0
                    ? h("span", { className: "drop", title: "Drop-off: visitors of the previous step who did not reach this one" }, `−${num(step.drop_off_visitors)} (${pct(step.drop_off_rate, 0)})`)
                    : h("span", { className: "muted no-drop" }, "no drop-off"),
                  step.median_seconds_from_previous !== null
                    ? h("span", { className: "muted" }, ` · median ${duration(step.median_seconds_from_previous)}`)
                    : null,
                ),
          ),
        ),
        h(
          "li",
          { className: "funnel-total" },
          h("span", {}, term("funnel_completion_rate")),
          h("strong", { "data-figure": "funnel_completion_rate" }, pct(data.funnel_completion_rate, 1)),
          h("span", { className: "small" }, `${num(data.completed_visitors)} of ${num(data.entered_visitors)} visitors`),
        ),
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
      xAxis: {
        type: "category",
        data: names,
        ...axisStyle,
        // Every step named, as wide as its column allows (the step list below has the full names).
        axisLabel: {
          ...axisStyle.axisLabel,
          color: "#475569",
          fontSize: 12,
          interval: 0,
          width: Math.max(56, Math.floor((this.chart.clientWidth - 56) / Math.max(1, steps.length)) - 8),
          overflow: "truncate",
        },
      },
      yAxis: { type: "value", ...axisStyle },
      series: [
        {
          name: "Visitors",
          type: "bar",
          stack: "funnel",
          barWidth: "56%",
          data: steps.map((s) => s.visitors),
          itemStyle: { color: COLORS[0], borderRadius: [0, 0, 4, 4] },
          label: {
            show: true,
            position: "insideTop",
            color: "#fff",
            fontWeight: 600,
            formatter: (p: { dataIndex: number }) => pct(steps[p.dataIndex].reached_rate_from_start, 0),
          },
        },
        {
          name: "Dropped off",
          type: "bar",
          stack: "funnel",
          // Stacked on top: the whole bar is the previous step, the light part is who left.
          data: steps.map((s) => s.drop_off_visitors),
          itemStyle: { color: "rgba(219, 39, 119, 0.16)", borderColor: "rgba(219, 39, 119, 0.45)", borderType: "dashed", borderRadius: [4, 4, 0, 0] },
          label: {
            show: true,
            position: "top",
            color: MUTED,
            formatter: (p: { dataIndex: number }) => (steps[p.dataIndex].drop_off_visitors > 0 ? `−${pct(steps[p.dataIndex].drop_off_rate, 0)}` : ""),
          },
        },
      ],
    });
  }
}

function savedChoice(saved: SavedFunnel): FunnelChoice {
  return {
    key: `saved:${saved.id}`,
    name: saved.name,
    savedId: saved.id,
    breakdown: saved.breakdown ?? "",
    steps: saved.steps.map((step, i) => ({ step, label: saved.labels[i] || defaultLabel(step) })),
  };
}

function breakdownTable(data: Funnel, names: string[]): HTMLElement {
  const last = data.steps.length - 1;
  const keyName = (key: string) => (key === "(other)" ? `Other (${num(data.other_keys)} more)` : label(key));
  return h(
    "div",
    { className: "table-scroll" },
    h(
      "table",
      { className: "table numeric", "data-breakdown": data.breakdown ?? "" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", {}, data.breakdown === "channel" ? term("acquisition_channel") : breakdownName(data.breakdown ?? "")),
          names.map((n) => h("th", {}, n)),
          h("th", {}, term("funnel_completion_rate", "Completion")),
        ),
      ),
      h(
        "tbody",
        {},
        data.breakdowns.map((row) => {
          const counts = data.steps.map((s) => row.steps.find((r) => r.index === s.index)?.visitors ?? 0);
          return h(
            "tr",
            { className: row.key === "(other)" ? "other-row" : null },
            h("th", { scope: "row" }, keyName(row.key)),
            counts.map((c) => h("td", {}, num(c))),
            h("td", { className: "strong" }, counts[0] ? pct(counts[last] / counts[0]) : "–"),
          );
        }),
      ),
    ),
  );
}
