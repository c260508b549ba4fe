/**
 * A dashboard panel: one card that loads its own data and always shows one clear state —
 * loading, ready, empty, error (with retry), or not available (its endpoint is not deployed) —
 * and how fresh the data it shows is. Panels are independent: one failing never breaks another.
 */

import { ApiError, AuthRequiredError, type ApiClient } from "./api";
import { h, replaceChildren } from "./dom";
import { ago, time } from "./format";
import type { Filters } from "./navigation";
import type { DateRange } from "./range";

export type PanelState = "idle" | "loading" | "ready" | "empty" | "error" | "unavailable";

export interface PanelContext {
  api: ApiClient;
  range: DateRange;
  /** The filter chips (channel, page, device, country); every lake-backed panel passes them on. */
  filters: Filters;
}

export interface PanelOptions {
  title: string;
  subtitle?: string;
  /** Columns of the 12-column grid this card spans on wide screens. */
  span: number;
  /** The endpoint it reads, shown in the "not available" state. */
  endpoint: string;
  /** Content height in px while loading, so the page does not jump. */
  minHeight?: number;
  /** On the first screen: loaded before the panels below it. */
  firstScreen?: boolean;
}

export interface Freshness {
  asOf: Date;
  /** Where the answer came from: "rollup", "lake", "rollup+lake", "live counters"… */
  source: string | null;
}

function parseDate(value: unknown): Date | null {
  if (typeof value !== "string") return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The API's freshness fields (`freshness.data_as_of`, or a top-level `data_as_of`). */
export function findFreshness(data: unknown): Freshness | null {
  if (!data || typeof data !== "object") return null;
  const record = data as Record<string, unknown>;
  const nested = (record.freshness ?? {}) as Record<string, unknown>;
  const source = typeof nested.source === "string" ? nested.source : null;
  const asOf = parseDate(nested.data_as_of) ?? parseDate(record.data_as_of);
  if (asOf) return { asOf, source };
  // `data_as_of` is null when the lake is empty: say when the answer was built instead.
  const built = parseDate(nested.generated_at) ?? parseDate(record.generated_at);
  return built ? { asOf: built, source } : null;
}

export abstract class Panel<T> {
  readonly element: HTMLElement;
  protected readonly body: HTMLElement;
  protected readonly tools: HTMLElement;
  /** Inputs that stay visible in every state (search boxes, selectors). */
  protected readonly controls: HTMLElement;
  private readonly status: HTMLElement;
  private readonly freshness: HTMLElement;
  private controller: AbortController | null = null;
  private retryTimer: number | undefined;
  private asOf: Freshness | null = null;
  private fetchedAt: Date | null = null;
  private hasContent = false;
  protected context: PanelContext | null = null;
  state: PanelState = "loading";

  constructor(
    readonly id: string,
    readonly options: PanelOptions,
  ) {
    this.tools = h("div", { className: "panel-tools" });
    this.controls = h("div", { className: "panel-controls", hidden: true });
    this.body = h("div", { className: "panel-body" });
    this.status = h("div", { className: "panel-status", hidden: true });
    this.freshness = h("span", { className: "freshness", "data-freshness": "" });
    this.element = h(
      "section",
      {
        className: `panel span-${options.span}`,
        id: `panel-${id}`,
        "data-panel": id,
        "data-state": "loading",
        "aria-busy": "true",
        "aria-labelledby": `panel-${id}-title`,
        style: options.minHeight ? `--panel-min-height:${options.minHeight}px` : null,
      },
      h(
        "header",
        { className: "panel-header" },
        h(
          "div",
          { className: "panel-heading" },
          h("h2", { id: `panel-${id}-title` }, options.title),
          options.subtitle ? h("p", { className: "panel-subtitle" }, options.subtitle) : null,
        ),
        this.tools,
      ),
      h("div", { className: "panel-progress", "aria-hidden": "true" }),
      this.controls,
      this.body,
      this.status,
      h("footer", { className: "panel-footer" }, this.freshness),
    );
    this.body.append(h("div", { className: "skeleton" }));
  }

  /** Fetch this panel's data (abort with `signal` when a newer refresh starts). */
  protected abstract load(context: PanelContext, signal: AbortSignal): Promise<T>;

  /** True when the answer has nothing to show. */
  protected abstract isEmpty(data: T): boolean;

  /** Draw the data into `this.body`. */
  protected abstract render(data: T): void | Promise<void>;

  protected emptyMessage(): string {
    return "No data for this period yet.";
  }

  /** When the data was true (the answer's freshness); null means "live, as fetched". */
  protected dataAsOf(data: T): Freshness | null {
    return findFreshness(data);
  }

  /** Load and draw; safe to call again while a load is running (the older one is dropped). */
  async refresh(context: PanelContext | null = this.context): Promise<void> {
    if (!context) return;
    this.context = context;
    window.clearTimeout(this.retryTimer);
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    // A panel that shows something keeps showing it (and its state) while it reloads.
    if (this.state !== "loading" && this.state !== "idle") this.element.dataset.refreshing = "true";
    else this.setState("loading");
    this.tick();
    try {
      const data = await this.load(context, controller.signal);
      if (controller.signal.aborted) return;
      this.fetchedAt = new Date();
      this.asOf = this.dataAsOf(data);
      if (this.isEmpty(data)) {
        this.showStatus("empty", h("p", {}, this.emptyMessage()));
      } else {
        this.status.hidden = true;
        this.body.hidden = false;
        await this.render(data);
        this.hasContent = true;
        this.setState("ready");
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      this.fail(error);
    } finally {
      if (this.controller === controller) {
        this.controller = null;
        delete this.element.dataset.refreshing;
      }
      this.tick();
    }
  }

  /** Show an error (or the not-available state) for `error`. */
  protected fail(error: unknown): void {
    this.fetchedAt = new Date();
    this.asOf = null;
    if (error instanceof AuthRequiredError) {
      this.showStatus("error", h("p", {}, "Signed out."));
      return;
    }
    if (error instanceof ApiError && error.routeMissing) {
      this.showStatus(
        "unavailable",
        h("p", { className: "status-title" }, "Not available yet"),
        h("p", {}, "This deployment does not serve ", h("code", {}, this.options.endpoint), " yet."),
      );
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    const retry = h("button", { type: "button", className: "button small", onclick: () => void this.refresh() }, "Retry");
    if (error instanceof ApiError && error.retryAfter && error.status >= 500) {
      // A slow lake query (504) or a busy stream (503): the API says when to come back.
      const seconds = Math.min(Math.max(error.retryAfter, 1), 60);
      this.retryTimer = window.setTimeout(() => void this.refresh(), seconds * 1000);
      this.showStatus(
        "error",
        h("p", { className: "status-title" }, error.status === 504 ? "The query is taking longer than usual" : "Busy"),
        h("p", {}, `Retrying in ${seconds} s…`),
        retry,
      );
      return;
    }
    const title = error instanceof ApiError && error.status === 403 ? "Your role cannot see this panel" : "Could not load";
    this.showStatus("error", h("p", { className: "status-title" }, title), h("p", { className: "status-detail" }, message), retry);
  }

  /** An idle prompt (panels that wait for input). */
  protected showIdle(...content: HTMLElement[]): void {
    this.showStatus("idle", ...content);
  }

  protected showStatus(state: PanelState, ...content: HTMLElement[]): void {
    replaceChildren(this.status, ...content);
    this.status.hidden = false;
    this.body.hidden = true;
    this.hasContent = false;
    this.setState(state);
  }

  private setState(state: PanelState): void {
    this.state = state;
    this.element.dataset.state = state;
    this.element.setAttribute("aria-busy", String(state === "loading"));
    this.element.classList.toggle("has-content", this.hasContent);
  }

  /** Refresh the freshness line (called every few seconds). */
  tick(now = new Date()): void {
    if (this.asOf) {
      const { asOf, source } = this.asOf;
      const from = source ? ` · ${source === "rollup" ? "precomputed rollup" : source}` : "";
      this.freshness.textContent = `Data as of ${time(asOf)} · ${ago(asOf, now)}${from}`;
      this.freshness.title = asOf.toISOString();
    } else if (this.fetchedAt) {
      const verb = this.state === "error" || this.state === "unavailable" ? "Checked" : "Live data, fetched";
      this.freshness.textContent = `${verb} ${time(this.fetchedAt)} · ${ago(this.fetchedAt, now)}`;
      this.freshness.title = this.fetchedAt.toISOString();
    } else {
      this.freshness.textContent = this.state === "idle" ? "" : "Loading…";
    }
    this.freshness.classList.toggle("stale", !!this.asOf && now.getTime() - this.asOf.asOf.getTime() > 3 * 3600_000);
  }

  /** Stop timers and in-flight requests (sign-out). */
  dispose(): void {
    window.clearTimeout(this.retryTimer);
    this.controller?.abort();
    this.context = null; // a disposed panel never loads again
  }
}
