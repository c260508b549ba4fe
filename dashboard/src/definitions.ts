/**
 * One vocabulary: what each figure counts, in the words of docs/api-analytics.md's "Definitions"
 * table (tests/dashboard/test_definitions.py keeps the two lists equal). Panels name a figure with
 * `term(...)`: its definition shows as a tooltip and the label links to the definitions list at
 * the foot of the page.
 */

import { h } from "./dom";

export const DEFINITIONS: Record<string, { name: string; text: string }> = {
  visitors: { name: "Visitors", text: "Distinct visitors (visitor keys: one browser or device, or one signed-in user id), bots excluded." },
  sessions: { name: "Sessions", text: "Visits: a visitor's events with no gap over 30 minutes and no new campaign, counted on the day they start." },
  page_views: { name: "Page views", text: "Page and screen events." },
  bounce_rate: { name: "Bounce rate", text: "Sessions with a single event ÷ sessions." },
  avg_session_duration_seconds: { name: "Average session duration", text: "Mean time from a session's first to its last event, in seconds." },
  conversion_events: {
    name: "Conversion events",
    text: "Conversion events (events a journey rule marks as a conversion, e.g. Booking Submitted); a session that books twice counts 2.",
  },
  converted_sessions: { name: "Converted sessions", text: "Sessions with at least one conversion event." },
  session_conversion_rate: { name: "Session conversion rate", text: "Converted sessions ÷ sessions." },
  conversion_events_per_session: { name: "Conversion events per session", text: "Conversion events ÷ sessions (campaigns); can exceed 1." },
  revenue: { name: "Revenue", text: "Sum of the revenue on conversion events." },
  entered_visitors: { name: "Entered", text: "Funnel: visitors who did step 1 in the range." },
  funnel_step_visitors: {
    name: "Visitors at a step",
    text: "Funnel: visitors who reached a step — did it after the previous step and within the window of their step 1.",
  },
  reached_rate_from_start: { name: "Reached from start", text: "Funnel: a step's visitors ÷ entered visitors." },
  drop_off_visitors: { name: "Drop-off", text: "Funnel: the previous step's visitors − this step's visitors." },
  drop_off_rate: { name: "Drop-off rate", text: "Funnel: drop-off visitors ÷ the previous step's visitors." },
  completed_visitors: { name: "Completed", text: "Funnel: visitors who reached the last step." },
  funnel_completion_rate: {
    name: "Funnel completion rate",
    text: "Funnel: completed visitors ÷ entered visitors (visitors completing the funnel in order); not the session conversion rate.",
  },
  acquisition_channel: {
    name: "Acquisition channel",
    text: "The channel of a session's first event (search, social, email, paid, direct, referral); later pages of a session are \"internal\" and never credited.",
  },
  journey_sessions: {
    name: "Journey sessions",
    text: "Journeys: sessions reaching a touchpoint at a step, or moving between two touchpoints at consecutive steps.",
  },
  credited_conversions: {
    name: "Credited conversions",
    text: "Attribution: the share of conversions a model gives a channel and campaign (fractions; every model shares out the same total).",
  },
  retained_visitors: {
    name: "Retained visitors",
    text: "Retention: a cohort's visitors active again k periods after the period of their first event.",
  },
  retention_rate: { name: "Retention rate", text: "Retention: retained visitors ÷ the cohort's visitors (period 0 is 100 %)." },
  credited_revenue: { name: "Credited revenue", text: "Attribution: the share of conversion revenue a model gives a channel and campaign." },
  spend: { name: "Spend", text: "Ad spend imported for a channel and campaign over the range (reviva import spend)." },
  cac: { name: "CAC", text: "Customer acquisition cost: spend ÷ credited conversions (lower is better)." },
  roas: { name: "ROAS", text: "Return on ad spend: credited revenue ÷ spend." },
  roi: { name: "ROI", text: "Return on investment: (credited revenue − spend) ÷ spend; −100 % means nothing came back." },
  active_visitors_5m: { name: "Active now", text: "Realtime: distinct visitors with an event in the last 5 minutes, bots excluded." },
  active_visitors: { name: "Visitors, 30 min", text: "Realtime: distinct visitors with an event in the last 30 minutes, bots excluded." },
  live_events: { name: "Events, 30 min", text: "Realtime: events in the last 30 minutes, bot events excluded." },
  bot_events: { name: "Bot events", text: "Realtime: events in the last 30 minutes from visitors flagged as bots (left out of every other figure)." },
};

/** A figure's name, linked to its definition (shown as a tooltip on hover or focus). */
export function term(key: keyof typeof DEFINITIONS & string, text?: string): HTMLElement {
  const definition = DEFINITIONS[key];
  return h(
    "a",
    { className: "term", href: `#definition-${key}`, title: definition.text, "data-term": key },
    text ?? definition.name,
  );
}

/** The definitions list the terms link to (at the foot of the page). */
export function definitionsSection(): HTMLElement {
  return h(
    "details",
    { className: "definitions", id: "definitions" },
    h("summary", {}, "Definitions: what each figure counts"),
    h(
      "dl",
      {},
      Object.entries(DEFINITIONS).flatMap(([key, { name, text }]) => [
        h("dt", { id: `definition-${key}` }, name, " ", h("code", {}, key)),
        h("dd", {}, text),
      ]),
    ),
  );
}

/** Open the definitions list when a term's link is followed (a closed <details> hides its target). */
export function openDefinitionsOnLink(): void {
  const open = () => {
    if (!window.location.hash.startsWith("#definition")) return;
    const list = document.getElementById("definitions") as HTMLDetailsElement | null;
    if (list) list.open = true;
    document.getElementById(window.location.hash.slice(1))?.scrollIntoView({ block: "center" });
  };
  window.addEventListener("hashchange", open);
  open();
}
