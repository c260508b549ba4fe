/** Attribution: conversions (or revenue) credited per channel or campaign, every model side by side. */

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

type Measure = "conversions" | "revenue";
type Group = "channel" | "campaign";

interface Compared {
  /** model → its answer; a model that failed on its own is missing and listed in `failed`. */
  answers: Map<string, Attribution>;
  failed: [string, string][];
}

function rowKey(channel: string, campaign: string | null, group: Group): string {
  return group === "channel" ? channel : `${channel}\u0000${campaign ?? ""}`;
}

export class AttributionPanel extends Panel<Compared> {
  private measure: Measure = "conversions";
  private group: Group = "channel";
  private last: Compared | null = null;

  constructor() {
    super("attribution", {
      title: "Attribution",
      subtitle: "Credit for the same conversions under each model (30-day lookback)",
      span: 7,
      endpoint: "GET /v1/attribution",
      minHeight: 300,
    });
    this.tools.append(
      toggle("measure", [["conversions", "Conversions"], ["revenue", "Revenue"]], this.measure, (v) => {
        this.measure = v as Measure;
        if (this.last) this.render(this.last);
      }),
      toggle("group", [["channel", "Channels"], ["campaign", "Campaigns"]], this.group, (v) => {
        this.group = v as Group;
        if (this.last) this.render(this.last);
      }),
    );
  }

  protected async load(context: PanelContext, signal: AbortSignal): Promise<Compared> {
    const { from, to } = context.range;
    const settled = await Promise.allSettled(
      MODELS.map(([model]) => context.api.get<Attribution>("/v1/attribution", { model, from, to, limit: 500 }, signal)),
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

  protected render(data: Compared): void {
    this.last = data;
    const models = MODELS.filter(([m]) => data.answers.has(m));
    const rows = new Map<string, { channel: string; campaign: string | null; values: Map<string, number> }>();
    for (const [model] of models) {
      for (const row of data.answers.get(model)!.rows) {
        const key = rowKey(row.channel, row.campaign, this.group);
        const entry = rows.get(key) ?? { channel: row.channel, campaign: this.group === "campaign" ? row.campaign : null, values: new Map() };
        entry.values.set(model, (entry.values.get(model) ?? 0) + row[this.measure]);
        rows.set(key, entry);
      }
    }
    const sorted = [...rows.values()].sort(
      (a, b) => Math.max(...b.values.values()) - Math.max(...a.values.values()) || a.channel.localeCompare(b.channel),
    );
    const any = data.answers.values().next().value!;
    const total = any.totals[this.measure];
    const format = (v: number) => (this.measure === "revenue" ? gbp(v) : decimal(v, 1));
    replaceChildren(
      this.body,
      h(
        "p",
        { className: "muted small" },
        `Every model shares out the same ${this.measure === "revenue" ? gbp(total) : `${num(total)} conversions`}; shading shows each row's share.`,
      ),
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
              models.map(([, name]) => h("th", {}, name)),
            ),
          ),
          h(
            "tbody",
            {},
            sorted.slice(0, 30).map((row) =>
              h(
                "tr",
                {},
                h(
                  "th",
                  { scope: "row" },
                  this.group === "channel" ? label(row.channel) : row.campaign ?? h("span", { className: "muted" }, "(no campaign)"),
                  this.group === "campaign" ? h("span", { className: "muted small" }, ` ${label(row.channel)}`) : null,
                ),
                models.map(([model]) => {
                  const value = row.values.get(model) ?? 0;
                  const share = total ? value / total : 0;
                  return h("td", { style: `--heat:${Math.min(1, share * 2.5).toFixed(3)}` }, format(value));
                }),
              ),
            ),
          ),
        ),
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
