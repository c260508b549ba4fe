/** Rejected events: the newest bad rows with their reasons, so a broken client is noticed early. */

import { h, replaceChildren } from "../dom";
import { dateTime, num } from "../format";
import { Panel, type PanelContext } from "../panel";
import type { Rejected } from "../types";

const LIMIT = 50;

export class RejectedPanel extends Panel<Rejected> {
  constructor() {
    super("rejected", {
      title: "Rejected events",
      subtitle: `The ${LIMIT} newest messages the pipeline refused, with the reason`,
      span: 5,
      endpoint: "GET /v1/rejected",
      minHeight: 280,
    });
    this.tools.append(h("button", { type: "button", className: "button small ghost", onclick: () => void this.refresh() }, "Reload"));
  }

  protected load(context: PanelContext, signal: AbortSignal): Promise<Rejected> {
    return context.api.get<Rejected>("/v1/rejected", { limit: LIMIT }, signal);
  }

  protected isEmpty(data: Rejected): boolean {
    return data.rejected.length === 0;
  }

  protected override emptyMessage(): string {
    return "Nothing rejected in the last 30 days: every message was valid.";
  }

  protected render(data: Rejected): void {
    const reasons = new Map<string, number>();
    for (const item of data.rejected) {
      const short = item.reason.split(":")[0].slice(0, 60);
      reasons.set(short, (reasons.get(short) ?? 0) + 1);
    }
    replaceChildren(
      this.body,
      h(
        "div",
        { className: "chips" },
        [...reasons.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 4)
          .map(([reason, count]) => h("span", { className: "chip chip-warn", title: reason }, `${reason} · ${num(count)}`)),
      ),
      h(
        "div",
        { className: "table-scroll tall" },
        h(
          "table",
          { className: "table" },
          h("thead", {}, h("tr", {}, h("th", {}, "When"), h("th", {}, "Stage"), h("th", {}, "Reason"))),
          h(
            "tbody",
            {},
            data.rejected.map((item) =>
              h(
                "tr",
                {},
                h("td", { className: "nowrap muted" }, dateTime(item.rejected_at)),
                h("td", {}, h("span", { className: `chip chip-${item.stage}` }, item.stage)),
                h(
                  "td",
                  { className: "reason-cell" },
                  h(
                    "details",
                    {},
                    h("summary", {}, item.reason, item.index !== null ? h("span", { className: "muted" }, ` (message #${item.index})`) : null),
                    h("pre", { className: "raw" }, item.raw),
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }
}
