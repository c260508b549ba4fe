/** Realtime: who is on the site now, from the live counters; refreshes itself while the tab is visible. */

import { axisStyle, COLORS, draw } from "../charts";
import { h, replaceChildren } from "../dom";
import { num } from "../format";
import { Panel, type PanelContext } from "../panel";
import type { Realtime } from "../types";

const MINUTE_MS = 60_000;
const SERIES: [string, string][] = [
  ["Page views", COLORS[0]],
  ["Track events", COLORS[1]],
  ["Other", COLORS[8]],
];

/** The window's minutes, oldest first, as "YYYY-MM-DDTHH:MM" (UTC) like the counters. */
function minutes(now: Date, count: number): string[] {
  const last = Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS;
  return Array.from({ length: count }, (_, i) => new Date(last - (count - 1 - i) * MINUTE_MS).toISOString().slice(0, 16));
}

export class RealtimePanel extends Panel<Realtime> {
  private timer: number | undefined;
  private readonly chart = h("div", { className: "chart chart-realtime" });

  constructor(private readonly refreshSeconds: number) {
    super("realtime", {
      title: "Realtime",
      subtitle: "Last 30 minutes, live counters",
      span: 4,
      endpoint: "GET /v1/stats/realtime",
      minHeight: 330,
      firstScreen: true,
    });
    this.tools.append(h("span", { className: "live-dot", title: `Refreshes every ${refreshSeconds} s` }, "Live"));
    document.addEventListener("visibilitychange", this.onVisibility);
  }

  private readonly onVisibility = (): void => {
    // Polling stops while the tab is hidden; coming back refreshes at once.
    if (document.visibilityState === "visible") void this.refresh();
  };

  protected async load(context: PanelContext, signal: AbortSignal): Promise<Realtime> {
    return context.api.get<Realtime>("/v1/stats/realtime", {}, signal);
  }

  override async refresh(context?: PanelContext | null): Promise<void> {
    window.clearTimeout(this.timer);
    await super.refresh(context);
    // The next refresh is scheduled after this one finished, so slow answers never pile up.
    if (document.visibilityState === "visible" && this.context) {
      this.timer = window.setTimeout(() => void this.refresh(), this.refreshSeconds * 1000);
    }
  }

  protected isEmpty(data: Realtime): boolean {
    return data.total_events === 0 && data.active_visitors === 0 && data.bot_events === 0;
  }

  protected override emptyMessage(): string {
    return "Nobody has been on the site in the last 30 minutes.";
  }

  protected async render(data: Realtime): Promise<void> {
    const byMinute = new Map(data.per_minute.map((m) => [m.minute, m]));
    const axis = minutes(new Date(data.generated_at), data.window_minutes);
    const series = (pick: (counts: Record<string, number>) => number) =>
      axis.map((minute) => pick(byMinute.get(minute)?.counts ?? {}));
    const top = Object.entries(data.track_events)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5);
    const maxTop = top[0]?.[1] ?? 1;
    replaceChildren(
      this.body,
      h(
        "div",
        { className: "realtime-stats" },
        h(
          "div",
          { className: "big-stat" },
          h("span", { className: "big-number", "data-metric": "active_visitors_5m" }, num(data.active_visitors_5m)),
          h("span", { className: "big-label" }, "active now (5 min)"),
        ),
        h(
          "dl",
          { className: "mini-stats" },
          h("div", {}, h("dt", {}, "Visitors, 30 min"), h("dd", {}, num(data.active_visitors))),
          h("div", {}, h("dt", {}, "Events"), h("dd", {}, num(data.total_events))),
          h("div", {}, h("dt", {}, "Bot events"), h("dd", {}, num(data.bot_events))),
        ),
      ),
      this.chart,
      h(
        "ul",
        { className: "legend" },
        SERIES.map(([name, color]) => h("li", { style: `--swatch:${color}` }, name)),
      ),
      top.length
        ? h(
            "ol",
            { className: "bar-list compact" },
            top.map(([name, count]) =>
              h(
                "li",
                {},
                h("span", { className: "bar", style: `--share:${(count / maxTop).toFixed(3)}` }),
                h("span", { className: "bar-key" }, name),
                h("span", { className: "bar-value" }, num(count)),
              ),
            ),
          )
        : h("p", { className: "muted small" }, "No track events in the window."),
    );
    await draw(this.chart, {
      animation: false,
      grid: { left: 28, right: 8, top: 12, bottom: 22 },
      tooltip: { trigger: "axis" },
      xAxis: {
        type: "category",
        data: axis.map((m) => m.slice(11)),
        ...axisStyle,
        axisLabel: { ...axisStyle.axisLabel, interval: 9 },
      },
      yAxis: { type: "value", minInterval: 1, ...axisStyle },
      series: [
        { name: SERIES[0][0], type: "bar", stack: "events", data: series((c) => c.page ?? 0), color: SERIES[0][1] },
        { name: SERIES[1][0], type: "bar", stack: "events", data: series((c) => c.track ?? 0), color: SERIES[1][1] },
        {
          name: SERIES[2][0],
          type: "bar",
          stack: "events",
          data: series((c) => (c.identify ?? 0) + (c.screen ?? 0) + (c.group ?? 0) + (c.alias ?? 0)),
          color: SERIES[2][1],
        },
      ],
    });
  }

  override dispose(): void {
    window.clearTimeout(this.timer);
    document.removeEventListener("visibilitychange", this.onVisibility);
    super.dispose();
  }
}
