/** People: visitors of the period, most recent first, with their key figures; a search by id or e-mail. */

import { DEFINITIONS, term } from "../definitions";
import { h, replaceChildren, searchForm } from "../dom";
import { ago, gbp, label, num } from "../format";
import { openVisitor } from "../navigation";
import { Panel, type PanelContext } from "../panel";
import type { People, Person } from "../types";

const PAGE_SIZE = 25;

export class PeoplePanel extends Panel<People> {
  private readonly input: HTMLInputElement;
  private search = "";
  private rows: Person[] = [];
  private cursor: string | null = null;
  private readonly more = h("button", { type: "button", className: "button small", "data-more": "" }, "Show more");

  constructor() {
    super("people", {
      title: "People",
      subtitle: "Visitors of the period, most recent first",
      span: 4,
      endpoint: "GET /v1/visitors",
      minHeight: 280,
    });
    this.input = h("input", {
      type: "search",
      name: "people-search",
      placeholder: "Anonymous id, user id or e-mail",
      autocomplete: "off",
      spellcheck: "false",
      "aria-label": "Search people",
    });
    const form = searchForm(this.input, "Search", (text) => {
      this.search = text;
      void this.refresh();
    });
    // Clearing the box (its × or by hand) goes back to the list.
    this.input.addEventListener("search", () => {
      if (!this.input.value.trim() && this.search) {
        this.search = "";
        void this.refresh();
      }
    });
    this.more.addEventListener("click", () => void this.loadMore());
    this.controls.hidden = false;
    this.controls.append(
      form,
      h("p", { className: "hint" }, "An e-mail address is matched by its keyed pseudonym: it is never stored, and never put in a URL."),
    );
  }

  protected async load(context: PanelContext, signal: AbortSignal): Promise<People> {
    if (this.search) {
      // A POST: what is searched for (an e-mail address) stays out of URLs and access logs.
      return context.api.post<People>("/v1/visitors/search", { q: this.search }, {}, signal);
    }
    const { from, to } = context.range;
    return context.api.get<People>("/v1/visitors", { from, to, limit: PAGE_SIZE }, signal);
  }

  protected isEmpty(data: People): boolean {
    return data.people.length === 0;
  }

  protected override emptyMessage(): string {
    return this.search ? "Nobody found with that id or e-mail address." : "No visitors in this period.";
  }

  protected render(data: People): void {
    this.rows = data.people;
    this.cursor = data.next_cursor;
    this.draw();
  }

  private async loadMore(): Promise<void> {
    if (!this.context || !this.cursor) return;
    const { from, to } = this.context.range;
    this.more.disabled = true;
    try {
      const next = await this.context.api.get<People>("/v1/visitors", { from, to, limit: PAGE_SIZE, cursor: this.cursor });
      this.rows = [...this.rows, ...next.people];
      this.cursor = next.next_cursor;
      this.draw();
    } finally {
      this.more.disabled = false;
    }
  }

  private draw(): void {
    const now = new Date();
    replaceChildren(
      this.body,
      h(
        "p",
        { className: "muted small people-legend" },
        "Each visitor's ",
        term("sessions", "sessions"),
        ", ",
        term("page_views", "page views"),
        ", ",
        term("conversion_events", "conversion events"),
        " and ",
        term("revenue", "revenue"),
        " in all their history.",
      ),
      h(
        "ol",
        { className: "people-list", "data-people": "" },
        this.rows.map((person) => personRow(person, now)),
      ),
      this.cursor ? h("div", { className: "table-more" }, this.more) : null,
    );
  }
}

function personRow(person: Person, now: Date): HTMLElement {
  const seen = person.last_seen_at ? ago(new Date(person.last_seen_at), now) : "–";
  return h(
    "li",
    {},
    h(
      "button",
      {
        type: "button",
        className: "person",
        "data-visitor-key": person.visitor_key,
        title: `Open ${person.visitor_key}`,
        onclick: () => openVisitor(person.visitor_key),
      },
      h(
        "span",
        { className: "person-main" },
        h("span", { className: "person-key" }, person.visitor_key),
        h(
          "span",
          { className: "person-meta muted small" },
          [seen, label(person.last_channel), label(person.device_type), person.country].filter((part) => part && part !== "–").join(" · "),
        ),
      ),
      h(
        "span",
        { className: "person-figures small" },
        person.identified ? h("span", { className: "chip chip-success" }, "Known") : null,
        h("span", { title: DEFINITIONS.sessions.text }, `${num(person.sessions)} sess.`),
        h("span", { title: DEFINITIONS.page_views.text }, `${num(person.page_views)} page${person.page_views === 1 ? "" : "s"}`),
        person.conversions ? h("span", { className: "strong", title: `${DEFINITIONS.conversion_events.text} ${DEFINITIONS.revenue.text}` }, `${num(person.conversions)} conv. ${gbp(person.revenue)}`) : null,
      ),
    ),
  );
}
