/** The dashboard: sign in, then a grid of independent panels over one date range. */

import "./styles.css";
import { ApiClient } from "./api";
import { createAuthProvider, type AuthProvider } from "./auth";
import { loadConfig } from "./config";
import { definitionsSection, openDefinitionsOnLink } from "./definitions";
import { h, replaceChildren } from "./dom";
import { loadECharts } from "./charts";
import type { Panel, PanelContext } from "./panel";
import { AttributionPanel } from "./panels/attribution";
import { CampaignsPanel } from "./panels/campaigns";
import { FunnelPanel } from "./panels/funnel";
import { AudiencePanel, KpiPanel } from "./panels/overview";
import { PathsPanel } from "./panels/paths";
import { PeoplePanel } from "./panels/people";
import { RealtimePanel } from "./panels/realtime";
import { RejectedPanel } from "./panels/rejected";
import { RetentionPanel } from "./panels/retention";
import { VisitorPanel } from "./panels/visitor";
import { PRESETS, presetRange, rangeFromUrl, rangeToUrl, validRange, type DateRange } from "./range";
import { clearShared } from "./shared";
import { label } from "./format";
import { FILTER_NAMES, filtersFromUrl, OPEN_VISITOR, SET_FILTER, updateUrl, type FilterName, type Filters } from "./navigation";

const FILTER_TITLES: Record<FilterName, string> = { channel: "Channel", page: "Page", device: "Device", country: "Country" };

const FRESHNESS_TICK_MS = 15_000;
/** How long the panels below the fold wait for the first screen before asking anyway. */
const FIRST_SCREEN_HEAD_START_MS = 1_500;

class Dashboard {
  private range: DateRange = rangeFromUrl();
  private filters: Filters = filtersFromUrl();
  private readonly filterBar = h("div", { className: "filter-bar", "aria-label": "Filters", hidden: true });
  private visitorPanel: VisitorPanel | null = null;
  private panels: Panel<unknown>[] = [];
  private ticker: number | undefined;
  private readonly root: HTMLElement;
  private api!: ApiClient;
  private signingIn = false;

  constructor(
    private readonly auth: AuthProvider,
    private readonly apiBaseUrl: string,
    private readonly realtimeRefreshSeconds: number,
  ) {
    this.root = document.getElementById("app")!;
    document.addEventListener(OPEN_VISITOR, (event) => this.openVisitor(String((event as CustomEvent).detail)));
    document.addEventListener(SET_FILTER, (event) => {
      const { name, value } = (event as CustomEvent<{ name: FilterName; value: string | null }>).detail;
      this.setFilter(name, value);
    });
  }

  private openVisitor(visitorKey: string): void {
    if (!this.visitorPanel) return;
    updateUrl({ visitor: visitorKey });
    this.visitorPanel.lookUp(visitorKey);
    this.visitorPanel.element.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  private setFilter(name: FilterName, value: string | null): void {
    const filters = { ...this.filters };
    if (value) filters[name] = value;
    else delete filters[name];
    this.filters = filters;
    updateUrl({ [name]: value });
    this.renderFilterBar();
    this.refreshAll();
  }

  /** The filter chips under the header: what is filtered, each removable. */
  private renderFilterBar(): void {
    const chips = FILTER_NAMES.filter((name) => this.filters[name]).map((name) =>
      h(
        "span",
        { className: "filter-chip", "data-filter": name },
        h("span", { className: "filter-name" }, FILTER_TITLES[name]),
        h("span", { className: "filter-value" }, name === "page" || name === "country" ? this.filters[name]! : label(this.filters[name])),
        h(
          "button",
          { type: "button", className: "filter-remove", "aria-label": `Remove the ${FILTER_TITLES[name].toLowerCase()} filter`, onclick: () => this.setFilter(name, null) },
          "×",
        ),
      ),
    );
    replaceChildren(
      this.filterBar,
      h("span", { className: "muted small" }, "Filtered:"),
      chips,
      h("span", { className: "muted small filter-scope" }, "Live Realtime and People lists are not filtered."),
    );
    this.filterBar.hidden = chips.length === 0;
  }

  async start(): Promise<void> {
    this.api = new ApiClient(this.apiBaseUrl, this.auth, () => void this.requireSignIn("Your session has ended. Sign in again."));
    if (!this.auth.token()) await this.signIn();
    this.show();
  }

  private async signIn(notice?: string): Promise<void> {
    this.signingIn = true;
    document.body.dataset.view = "signin";
    const host = h("main", { className: "signin" });
    replaceChildren(this.root, host);
    await this.auth.signIn(host, (token) => this.api.check(token), notice);
    this.signingIn = false;
  }

  private async requireSignIn(notice: string): Promise<void> {
    if (this.signingIn) return;
    this.stop();
    this.auth.signOut();
    await this.signIn(notice);
    this.show();
  }

  private context(): PanelContext {
    return { api: this.api, range: this.range, filters: this.filters };
  }

  private show(): void {
    document.body.dataset.view = "dashboard";
    // Start fetching the charts library while the first answers are on their way.
    void loadECharts();
    const overview = new KpiPanel();
    const visitor = new VisitorPanel();
    this.visitorPanel = visitor;
    this.panels = [
      overview,
      new RealtimePanel(this.realtimeRefreshSeconds),
      new FunnelPanel(),
      new PeoplePanel(),
      new PathsPanel(),
      new RetentionPanel(),
      new AttributionPanel(),
      new CampaignsPanel(),
      new AudiencePanel(),
      visitor,
      new RejectedPanel(),
    ] as Panel<unknown>[];
    replaceChildren(
      this.root,
      this.header(),
      this.filterBar,
      h("main", { className: "grid", id: "panels" }, this.panels.map((p) => p.element)),
      h(
        "footer",
        { className: "page-footer" },
        "RevivaTech Analytics · times in your time zone, days in UTC · ",
        h("a", { href: "#definitions" }, "Definitions"),
        definitionsSection(),
      ),
    );
    openDefinitionsOnLink();
    const wanted = new URLSearchParams(window.location.search).get("visitor");
    if (wanted) visitor.lookUp(wanted);
    this.renderFilterBar();
    this.refreshAll();
    this.ticker = window.setInterval(() => this.panels.forEach((p) => p.tick()), FRESHNESS_TICK_MS);
  }

  private stop(): void {
    window.clearInterval(this.ticker);
    this.panels.forEach((p) => p.dispose());
    this.panels = [];
  }

  /**
   * Reload every panel: the first screen first, the panels below it once those answered (or after a
   * head start). The lake queries behind them compete for the same query function, and what the
   * user sees first should not wait behind six attribution models.
   */
  private refreshAll(): void {
    clearShared();
    const context = this.context();
    const panels = this.panels;
    const first = panels.filter((p) => p.options.firstScreen);
    const rest = panels.filter((p) => !p.options.firstScreen);
    const headStart = new Promise((resolve) => window.setTimeout(resolve, FIRST_SCREEN_HEAD_START_MS));
    void Promise.race([Promise.allSettled(first.map((p) => p.refresh(context))), headStart]).then(() => {
      if (this.panels === panels) for (const panel of rest) void panel.refresh(context);
    });
  }

  private header(): HTMLElement {
    const from = h("input", { type: "date", name: "from", value: this.range.from, "aria-label": "From", max: this.range.to });
    const to = h("input", { type: "date", name: "to", value: this.range.to, "aria-label": "To", min: this.range.from });
    const presets = h("div", { className: "segmented", role: "radiogroup", "aria-label": "Date range" });
    const syncPresets = () => {
      for (const button of presets.querySelectorAll("button")) {
        button.setAttribute("aria-checked", String(button.dataset.value === this.range.preset));
      }
      from.value = this.range.from;
      to.value = this.range.to;
      to.min = from.value;
      from.max = to.value;
    };
    const apply = (range: DateRange) => {
      this.range = range;
      rangeToUrl(range);
      syncPresets();
      this.refreshAll();
    };
    for (const preset of PRESETS) {
      presets.append(
        h(
          "button",
          { type: "button", role: "radio", "data-value": preset.id, onclick: () => apply(presetRange(preset.id)) },
          preset.label,
        ),
      );
    }
    const custom = () => {
      if (validRange(from.value, to.value)) apply({ from: from.value, to: to.value, preset: null });
    };
    from.addEventListener("change", custom);
    to.addEventListener("change", custom);
    syncPresets();
    return h(
      "header",
      { className: "topbar" },
      h("div", { className: "brand" }, h("span", { className: "brand-mark", "aria-hidden": "true" }), "RevivaTech", h("span", { className: "brand-sub" }, "Analytics")),
      h(
        "div",
        { className: "range-picker", "data-range-picker": "" },
        presets,
        h("div", { className: "date-inputs" }, from, h("span", { className: "muted" }, "–"), to),
      ),
      h(
        "div",
        { className: "topbar-actions" },
        h("button", { type: "button", className: "button ghost", onclick: () => this.refreshAll(), title: "Reload every panel" }, "Refresh"),
        h("span", { className: "user" }, this.auth.userLabel()),
        h(
          "button",
          {
            type: "button",
            className: "button ghost",
            onclick: () => {
              this.stop();
              this.auth.signOut();
              void this.signIn().then(() => this.show());
            },
          },
          "Sign out",
        ),
      ),
    );
  }
}

async function main(): Promise<void> {
  const config = await loadConfig();
  const auth = createAuthProvider(config.auth);
  await auth.init();
  await new Dashboard(auth, config.apiBaseUrl, config.realtimeRefreshSeconds).start();
}

main().catch((error: unknown) => {
  const app = document.getElementById("app");
  if (app) replaceChildren(app, h("main", { className: "fatal" }, h("h1", {}, "The dashboard could not start"), h("p", {}, String(error))));
});
