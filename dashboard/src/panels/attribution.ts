/** Attribution: conversions, revenue or (with imported spend) CAC, ROAS and ROI per channel or campaign, every model side by side. */

import { term } from "../definitions";
import { h, replaceChildren } from "../dom";
import { decimal, gbp, label, num } from "../format";
import { findFreshness, Panel, type Freshness, type PanelContext } from "../panel";
import type { Attribution } from "../types";

const MODELS: [string, string][] = [
  ["first_touch", "First touch"],
  ["last_touch", "Last touch"],
  ["linear", "Linear"],
  ["time_decay", "Time decay"],
  ["position_based", "Position"],
  ["markov", "Markov"],
];

/** One line per model, as docs/api-analytics.md defines it; `days` is the lookback window. */
const EXPLAINED: Record<string, (days: number) => string> = {
  first_touch: (days) => `all of a conversion's credit to the first session in the ${days} days before it.`,
  last_touch: () => "all of it to the last session before the conversion (usually the converting one).",
  linear: (days) => `shared equally by every session in the ${days} days before the conversion.`,
  time_decay: () => "more to recent sessions: a session's share halves for every 7 days it came before the conversion.",
  position_based: () => "40% to the first session, 40% to the last, 20% shared by the sessions between.",
  markov: () =>
    "by how many conversions would be lost without the channel, from every journey's channel-to-channel steps, converting or not.",
};

type Measure = "conversions" | "revenue" | "cac" | "roas" | "roi";
type Group = "channel" | "campaign";
const SPEND_MEASURES: Measure[] = ["cac", "roas", "roi"];

const MEASURE_NOTES: Record<Measure, string> = {
  conversions: "",
  revenue: "",
  cac: ": spend per attributed conversion (lower is better).",
  roas: ": attributed revenue per £1 of spend.",
  roi: ": (attributed revenue − spend) / spend; −100% means nothing came back.",
};

interface Compared {
  /** model → its answer; a model that failed on its own is missing and listed in `failed`. */
  answers: Map<string, Attribution>;
  failed: [string, string][];
}

interface Figures {
  conversions: number;
  revenue: number;
  /** Only over the campaigns with imported spend, so the ratios compare like with like. */
  spentConversions: number;
  spentRevenue: number;
}

interface TableRow {
  channel: string;
  campaign: string | null;
  spend: number | null;
  figures: Map<string, Figures>;
}

function rowKey(channel: string, campaign: string | null, group: Group): string {
  return group === "channel" ? channel : `${channel}\u0000${campaign ?? ""}`;
}

/** The measure's value for one row under one model; null where it is undefined (no spend, no credit). */
function measured(measure: Measure, spend: number | null, figures: Figures | undefined): number | null {
  const f = figures ?? { conversions: 0, revenue: 0, spentConversions: 0, spentRevenue: 0 };
  if (measure === "conversions") return f.conversions;
  if (measure === "revenue") return f.revenue;
  if (spend === null) return null;
  if (measure === "cac") return f.spentConversions > 0 ? spend / f.spentConversions : null;
  if (!spend) return null;
  return measure === "roas" ? f.spentRevenue / spend : (f.spentRevenue - spend) / spend;
}

function formatted(measure: Measure, value: number): string {
  if (measure === "revenue") return gbp(value);
  if (measure === "cac") return gbp(value, true);
  if (measure === "roas") return `${decimal(value, 2)}×`;
  if (measure === "roi") return `${value > 0 ? "+" : value < 0 ? "−" : ""}${decimal(Math.abs(value) * 100, 0)}%`;
  return decimal(value, 1);
}

export class AttributionPanel extends Panel<Compared> {
  private measure: Measure = "conversions";
  private group: Group = "channel";
  private last: Compared | null = null;
  private readonly measures: HTMLElement;

  constructor() {
    super("attribution", {
      title: "Attribution",
      subtitle: "Credit for the same conversions under each model (30-day lookback)",
      span: 7,
      endpoint: "GET /v1/attribution",
      minHeight: 300,
    });
    this.measures = toggle(
      "measure",
      [
        ["conversions", "Conversions"],
        ["revenue", "Revenue"],
        ["cac", "CAC"],
        ["roas", "ROAS"],
        ["roi", "ROI"],
      ],
      this.measure,
      (v) => {
        this.measure = v as Measure;
        if (this.last) this.render(this.last);
      },
    );
    this.showSpendMeasures(false);
    this.tools.append(
      this.measures,
      toggle("group", [["channel", "Channels"], ["campaign", "Campaigns"]], this.group, (v) => {
        this.group = v as Group;
        if (this.last) this.render(this.last);
      }),
    );
  }

  /** CAC, ROAS and ROI are offered only when spend was imported for the period. */
  private showSpendMeasures(show: boolean): void {
    for (const button of this.measures.querySelectorAll<HTMLButtonElement>("button")) {
      if (SPEND_MEASURES.includes(button.dataset.value as Measure)) button.hidden = !show;
    }
    if (!show && SPEND_MEASURES.includes(this.measure)) {
      this.measure = "conversions";
      for (const b of this.measures.querySelectorAll("button")) b.setAttribute("aria-checked", String(b.dataset.value === "conversions"));
    }
  }

  protected async load(context: PanelContext, signal: AbortSignal): Promise<Compared> {
    const { from, to } = context.range;
    const settled = await Promise.allSettled(
      MODELS.map(([model]) => context.api.get<Attribution>("/v1/attribution", { model, from, to, limit: 500, ...context.filters }, signal)),
    );
    const answers = new Map<string, Attribution>();
    const failed: [string, string][] = [];
    settled.forEach((result, i) => {
      if (result.status === "fulfilled") answers.set(MODELS[i][0], result.value);
      else failed.push([MODELS[i][1], result.reason instanceof Error ? result.reason.message : String(result.reason)]);
    });
    // All models failed: one error for the panel (e.g. the endpoint is not deployed yet).
    if (!answers.size) throw (settled[0] as PromiseRejectedResult).reason;
    return { answers, failed };
  }

  protected override dataAsOf(data: Compared): Freshness | null {
    return findFreshness([...data.answers.values()][0]);
  }

  protected isEmpty(data: Compared): boolean {
    return [...data.answers.values()].every((a) => !a.rows.length);
  }

  protected override emptyMessage(): string {
    return "No conversions to attribute in this period.";
  }

  /** Rows per channel (or campaign) with each model's figures; spend is the same under every model. */
  private tableRows(data: Compared, models: [string, string][]): TableRow[] {
    const rows = new Map<string, TableRow>();
    const spendCounted = new Set<string>();
    for (const [model] of models) {
      for (const row of data.answers.get(model)!.rows) {
        const key = rowKey(row.channel, row.campaign, this.group);
        const entry = rows.get(key) ?? {
          channel: row.channel,
          campaign: this.group === "campaign" ? row.campaign : null,
          spend: null,
          figures: new Map<string, Figures>(),
        };
        const spendKey = `${row.channel}\u0000${row.campaign ?? ""}`;
        if (row.spend !== null && !spendCounted.has(spendKey)) {
          spendCounted.add(spendKey);
          entry.spend = (entry.spend ?? 0) + row.spend;
        }
        const figures = entry.figures.get(model) ?? { conversions: 0, revenue: 0, spentConversions: 0, spentRevenue: 0 };
        figures.conversions += row.conversions;
        figures.revenue += row.revenue;
        if (row.spend !== null) {
          figures.spentConversions += row.conversions;
          figures.spentRevenue += row.revenue;
        }
        entry.figures.set(model, figures);
        rows.set(key, entry);
      }
    }
    const most = (row: TableRow, measure: "conversions" | "revenue") =>
      Math.max(...[...row.figures.values()].map((f) => f[measure]));
    const byCredit = this.measure === "revenue" ? "revenue" : "conversions";
    return [...rows.values()].sort(
      (a, b) =>
        (SPEND_MEASURES.includes(this.measure) ? (b.spend ?? -1) - (a.spend ?? -1) : 0) ||
        most(b, byCredit) - most(a, byCredit) ||
        a.channel.localeCompare(b.channel),
    );
  }

  protected render(data: Compared): void {
    this.last = data;
    const models = MODELS.filter(([m]) => data.answers.has(m));
    const any = data.answers.values().next().value!;
    const spendTotal = any.totals.spend;
    this.showSpendMeasures(spendTotal !== null);
    const measure = this.measure;
    const ratio = SPEND_MEASURES.includes(measure);
    const rows = this.tableRows(data, models);
    const total = measure === "revenue" ? any.totals.revenue : any.totals.conversions;
    const days = any.lookback_days;
    const shared = [
      "Every model shares out the same ",
      measure === "revenue" ? term("credited_revenue", gbp(total)) : term("credited_conversions", `${num(total)} conversion${total === 1 ? "" : "s"}`),
      ratio ? "." : "; shading shows each row's share.",
    ];
    const spendLine = spendTotal !== null ? ` ${gbp(spendTotal)} of ad spend imported for these dates.` : "";
    replaceChildren(
      this.body,
      h("p", { className: "muted small" }, shared, spendLine, ratio ? [" ", term(measure as "cac" | "roas" | "roi"), MEASURE_NOTES[measure]] : ""),
      h(
        "div",
        { className: "table-scroll tall" },
        h(
          "table",
          { className: "table numeric heat" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              h("th", {}, this.group === "channel" ? "Channel" : "Campaign"),
              spendTotal !== null ? h("th", { "data-column": "spend" }, term("spend")) : null,
              models.map(([model, name]) =>
                h("th", { "data-model": model, title: `${name}: ${EXPLAINED[model](days)}` }, name),
              ),
            ),
          ),
          h(
            "tbody",
            {},
            rows.slice(0, 30).map((row) =>
              h(
                "tr",
                {},
                h(
                  "th",
                  { scope: "row" },
                  this.group === "channel" ? label(row.channel) : row.campaign ?? h("span", { className: "muted" }, "(no campaign)"),
                  this.group === "campaign" ? h("span", { className: "muted small" }, ` ${label(row.channel)}`) : null,
                ),
                spendTotal !== null
                  ? h("td", { className: row.spend === null ? "muted" : "", title: row.spend === null ? "No spend imported" : "" }, row.spend === null ? "–" : gbp(row.spend))
                  : null,
                models.map(([model]) => {
                  const value = measured(measure, row.spend, row.figures.get(model));
                  if (value === null) {
                    const why = row.spend === null ? "No spend imported" : measure === "cac" ? "No conversion credited" : "No spend";
                    return h("td", { className: "muted", title: why }, "–");
                  }
                  const share = !ratio && total ? value / total : 0;
                  return h("td", { style: `--heat:${Math.min(1, share * 2.5).toFixed(3)}` }, formatted(measure, value));
                }),
              ),
            ),
          ),
        ),
      ),
      h(
        "dl",
        { className: "model-notes small" },
        models.flatMap(([model, name]) => [h("dt", {}, name), h("dd", {}, EXPLAINED[model](days))]),
      ),
      data.failed.length
        ? h("p", { className: "form-error small" }, `Not shown: ${data.failed.map(([m, why]) => `${m} (${why})`).join("; ")}`)
        : null,
    );
  }
}

function toggle(name: string, options: [string, string][], initial: string, onChange: (value: string) => void): HTMLElement {
  const group = h("div", { className: "segmented", role: "radiogroup", "aria-label": label(name) });
  for (const [value, text] of options) {
    const button = h("button", { type: "button", role: "radio", "aria-checked": String(value === initial), "data-value": value }, text);
    button.addEventListener("click", () => {
      for (const b of group.querySelectorAll("button")) b.setAttribute("aria-checked", String(b === button));
      onChange(value);
    });
    group.append(button);
  }
  return group;
}
