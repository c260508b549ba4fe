/** Realtime: who is on the site now, from the live counters; refreshes itself while the tab is visible. */

import { axisStyle, COLORS, draw } from "../charts";
import { term } from "../definitions";
import { h, replaceChildren } from "../dom";
import { ago, label, num } from "../format";
import { openVisitor } from "../navigation";
import { Panel, type PanelContext } from "../panel";
import type { LiveVisitor, Ranked, Realtime } from "../types";

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
      subtitle: "Last 30 minutes: who is on the site, where, and what they do",
      span: 12,
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
    // The site's own events (pricing views, bookings) first; the tracker's automatic ones after.
    const business = data.business_events ?? Object.entries(data.track_events).map(([key, value]) => ({ key, value }));
    const automatic = data.automatic_events ?? [];
    const now = new Date(data.generated_at);
    replaceChildren(
      this.body,
      h(
        "div",
        { className: "realtime-grid" },
        h(
          "div",
          { className: "realtime-main" },
          h(
            "div",
            { className: "realtime-stats" },
            h(
              "div",
              { className: "big-stat" },
              h("span", { className: "big-number", "data-metric": "active_visitors_5m" }, num(data.active_visitors_5m)),
              h("span", { className: "big-label" }, term("active_visitors_5m", "active now (5 min)")),
            ),
            h(
              "dl",
              { className: "mini-stats" },
              h("div", {}, h("dt", {}, term("active_visitors")), h("dd", {}, num(data.active_visitors))),
              h("div", {}, h("dt", {}, term("live_events", "Events")), h("dd", {}, num(data.total_events))),
              h("div", {}, h("dt", {}, term("bot_events")), h("dd", {}, num(data.bot_events))),
            ),
          ),
          this.chart,
          h(
            "ul",
            { className: "legend" },
            SERIES.map(([name, color]) => h("li", { style: `--swatch:${color}` }, name)),
          ),
        ),
        h(
          "div",
          { className: "realtime-lists" },
          rankedList("Pages now", data.live_pages ?? [], "No page views in the window.", "data-live-pages"),
          rankedList("Sources", data.live_sources ?? [], "No visits in the window.", "data-live-sources", label),
          h(
            "div",
            { className: "breakdown" },
            h("h3", {}, "Events"),
            business.length || automatic.length
              ? h(
                  "ol",
                  { className: "bar-list compact", "data-live-events": "" },
                  business.slice(0, 6).map((item) => barItem(item, business[0]?.value ?? 1, item.key)),
                  automatic.slice(0, 3).map((item) => barItem(item, business[0]?.value ?? automatic[0].value, item.key, "automatic")),
                )
              : h("p", { className: "muted small" }, "No track events in the window."),
          ),
        ),
        h(
          "div",
          { className: "realtime-visitors" },
          h("h3", {}, "On the site", data.live_sampled ? h("span", { className: "muted small", title: "The most recent visitors are shown" }, " (most recent)") : null),
          (data.live_visitors ?? []).length
            ? h("ol", { className: "live-visitors", "data-live-visitors": "" }, (data.live_visitors ?? []).slice(0, 8).map((v) => liveVisitor(v, now)))
            : h("p", { className: "muted small" }, "Nobody right now."),
        ),
      ),
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

function barItem(item: Ranked, max: number, name: string, tone = ""): HTMLElement {
  return h(
    "li",
    { className: tone, title: tone === "automatic" ? "Sent by the tracker on its own" : "" },
    h("span", { className: "bar", style: `--share:${Math.min(1, item.value / (max || 1)).toFixed(3)}` }),
    h("span", { className: "bar-key" }, name),
    h("span", { className: "bar-value" }, num(item.value)),
  );
}

function rankedList(title: string, items: Ranked[], none: string, marker: string, name: (key: string) => string = (key) => key): HTMLElement {
  const max = items[0]?.value ?? 1;
  return h(
    "div",
    { className: "breakdown" },
    h("h3", {}, title),
    items.length
      ? h("ol", { className: "bar-list compact", [marker]: "" }, items.slice(0, 5).map((item) => barItem(item, max, name(item.key))))
      : h("p", { className: "muted small" }, none),
  );
}

function liveVisitor(visitor: LiveVisitor, now: Date): HTMLElement {
  const seen = visitor.last_seen_at ? ago(new Date(visitor.last_seen_at), now) : "";
  return h(
    "li",
    {},
    h(
      "button",
      {
        type: "button",
        className: "person live",
        "data-visitor-key": visitor.visitor_key,
        title: `Open ${visitor.visitor_key}`,
        onclick: () => openVisitor(visitor.visitor_key),
      },
      h(
        "span",
        { className: "person-main" },
        h("span", { className: "person-key" }, h("span", { className: visitor.active_now ? "dot on" : "dot" }), visitor.page),
        h(
          "span",
          { className: "person-meta muted small" },
          [label(visitor.channel), label(visitor.device_type), visitor.country, `${num(visitor.session_pages)} page${visitor.session_pages === 1 ? "" : "s"}`, seen]
            .filter((part) => part && part !== "–")
            .join(" · "),
        ),
      ),
      visitor.identified ? h("span", { className: "chip chip-success" }, "Known") : null,
    ),
  );
}
