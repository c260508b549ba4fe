/** Visitor lookup: one person's merged profile and their journey timeline, by anonymous id or user id. */

import { ApiError } from "../api";
import { h, replaceChildren, searchForm } from "../dom";
import { dateTime, decimal, duration, gbp, label, num, pct } from "../format";
import { openVisitor } from "../navigation";
import { Panel, type PanelContext } from "../panel";
import type { Touchpoint, Visitor, VisitorSession } from "../types";

/** A lookup that found nobody: an empty state, not an error. */
class NoSuchVisitor extends Error {}

const STAGES = ["awareness", "consideration", "decision", "retention"];

export class VisitorPanel extends Panel<Visitor | null> {
  private readonly input: HTMLInputElement;
  private visitorId = "";

  constructor() {
    super("visitor", {
      title: "Visitor lookup",
      subtitle: "Profile and journey, merged across the person's devices",
      span: 7,
      endpoint: "GET /v1/visitors/{id}",
      minHeight: 280,
    });
    this.input = h("input", {
      type: "search",
      name: "visitor",
      id: "visitor-id",
      placeholder: "Anonymous id, user id or visitor key",
      autocomplete: "off",
      spellcheck: "false",
      "aria-label": "Visitor id",
    });
    const form = searchForm(this.input, "Look up", (id) => {
      if (id) openVisitor(id); // the page's URL then opens this visitor again
    });
    this.controls.hidden = false;
    this.controls.append(form);
  }

  /** Show `id`'s profile (also used by links from other panels). */
  lookUp(id: string): void {
    this.visitorId = id.trim();
    this.input.value = this.visitorId;
    void this.refresh();
  }

  override async refresh(context?: PanelContext | null): Promise<void> {
    if (context) this.context = context;
    if (!this.visitorId) {
      this.showIdle(
        h("p", { className: "status-title" }, "Look someone up"),
        h(
          "p",
          {},
          "Pick someone in People or Realtime, or paste an anonymous id or a user id. The tracker keeps a browser's anonymous id in localStorage (key ",
          h("code", {}, "reviva.anon"),
          "), not in a cookie.",
        ),
      );
      this.tick();
      return;
    }
    await super.refresh(context);
  }

  protected async load(context: PanelContext, signal: AbortSignal): Promise<Visitor | null> {
    try {
      return await context.api.get<Visitor>(`/v1/visitors/${encodeURIComponent(this.visitorId)}`, {}, signal);
    } catch (error) {
      // The route answers 404 with its own message for an unknown visitor; the gateway's
      // "Not Found" would mean the route itself is missing.
      if (error instanceof ApiError && error.status === 404 && !error.routeMissing) throw new NoSuchVisitor();
      throw error;
    }
  }

  protected override fail(error: unknown): void {
    if (error instanceof NoSuchVisitor) {
      this.showStatus(
        "empty",
        h("p", { className: "status-title" }, "No visitor found"),
        h("p", {}, "Nobody with the id ", h("code", {}, this.visitorId), " has been seen."),
      );
      return;
    }
    super.fail(error);
  }

  protected isEmpty(data: Visitor | null): boolean {
    return data === null;
  }

  protected render(data: Visitor | null): void {
    if (!data) return;
    const p = data.profile;
    const stageIndex = STAGES.indexOf(p.journey_stage ?? "");
    replaceChildren(
      this.body,
      h(
        "div",
        { className: "visitor" },
        h(
          "div",
          { className: "visitor-profile" },
          h(
            "div",
            { className: "visitor-head" },
            h("div", { className: "avatar", "aria-hidden": "true" }, (p.anonymous_id ?? p.fingerprint).slice(-2).toUpperCase()),
            h(
              "div",
              {},
              h("div", { className: "visitor-name", "data-visitor": data.visitor_id }, data.visitor_id),
              h("div", { className: "muted small", "data-identities": String(data.identity_keys.length), title: data.identity_keys.join("\n") }, identities(data.identity_keys)),
            ),
          ),
          h(
            "ol",
            { className: "stage-track", "aria-label": "Journey stage" },
            STAGES.map((stage, i) => h("li", { className: i <= stageIndex ? "reached" : "" }, label(stage))),
          ),
          h(
            "dl",
            { className: "facts" },
            fact("Lead score", num(p.lead_score)),
            fact("Sessions", num(p.total_sessions)),
            fact("Page views", num(p.total_page_views)),
            fact("Avg session", duration(p.avg_session_duration)),
            fact("Pages / session", decimal(p.pages_per_session, 1)),
            fact("Bounce rate", pct(p.bounce_rate)),
            fact("Conversions", num(p.conversions)),
            fact("Revenue", gbp(p.total_revenue)),
            fact("First seen", dateTime(p.first_seen_at)),
            fact("Last seen", dateTime(p.last_seen_at)),
            fact("First / last channel", `${label(p.first_channel)} → ${label(p.last_channel)}`),
            fact("Devices", p.device_types.map(label).join(", ") || "–"),
            fact("Countries", p.countries.join(", ") || "–"),
            fact("Interested in", p.preferred_services.map(label).join(", ") || "–"),
          ),
        ),
        h("div", { className: "timeline-wrap" }, h("h3", {}, "Journey"), timeline(data.sessions, data.journey)),
      ),
    );
  }
}

/** "2 devices · signed in": the person's keys by kind (a: a browser or device, u: a user id). */
function identities(keys: string[]): string {
  const devices = keys.filter((key) => key.startsWith("a:")).length;
  const users = keys.filter((key) => key.startsWith("u:")).length;
  const parts = [`${devices} device${devices === 1 ? "" : "s"}`];
  if (users) parts.push(users === 1 ? "signed in (1 user id)" : `signed in (${users} user ids)`);
  return parts.join(" · ");
}

function fact(name: string, value: string): HTMLElement {
  return h("div", {}, h("dt", {}, name), h("dd", {}, value));
}

function timeline(sessions: VisitorSession[], journey: Touchpoint[]): HTMLElement {
  if (!journey.length && !sessions.length) return h("p", { className: "muted" }, "No journey recorded.");
  const steps = new Map<string, Touchpoint[]>();
  for (const step of journey) {
    const list = steps.get(step.session_id) ?? [];
    list.push(step);
    steps.set(step.session_id, list);
  }
  return h(
    "ol",
    { className: "timeline", "data-timeline": "" },
    [...sessions].reverse().map((session) =>
      h(
        "li",
        { className: `timeline-session${session.converted ? " converted" : ""}` },
        h(
          "div",
          { className: "session-head" },
          h("strong", {}, dateTime(session.started_at)),
          h("span", { className: "chip" }, label(session.channel)),
          session.utm_campaign ? h("span", { className: "chip chip-campaign" }, session.utm_campaign) : null,
          h(
            "span",
            { className: "muted small" },
            [label(session.device_type), session.country, `${num(session.page_views)} pages`, duration(session.duration_seconds)]
              .filter(Boolean)
              .join(" · "),
          ),
          session.converted ? h("span", { className: "chip chip-success" }, `Converted ${gbp(session.revenue)}`) : null,
        ),
        h(
          "ol",
          { className: "steps" },
          (steps.get(session.session_id) ?? []).map((step) =>
            h(
              "li",
              { className: `step stage-${step.journey_stage}${step.conversion_event ? " conversion" : ""}` },
              h("span", { className: "step-name" }, label(step.touchpoint)),
              h("span", { className: "muted small" }, step.page_path ?? step.event_name ?? ""),
            ),
          ),
        ),
      ),
    ),
  );
}
