/**
 * The RevivaTech tracker: consent-aware collection that loses no events.
 *
 * Before analytics consent it runs cookieless: nothing is written to storage, no fingerprint is
 * taken and messages carry no anonymousId (the server keys them by a daily-rotating salted hash).
 * With analytics consent it keeps a random anonymous id, the session and the undelivered queue in
 * localStorage and loads the fingerprint module lazily. Withdrawal erases all of it.
 */

import { applyConsent, consentContext, parseStoredConsent, readSignals, REFUSED, type Categories, type Signals } from "./consent";
import { Delivery, type Message } from "./delivery";
import {
  ClsAccumulator,
  formSummary,
  InpAccumulator,
  isExitIntent,
  newMilestones,
  RageClickDetector,
  scrollPercent,
} from "./detectors";
import { decodeLinker, encodeLinker, isLinkedHost, LINKER_PARAM } from "./linker";
import { isInternalLinkClick, isInternalSubmit } from "./navigation";
import { CLICK_IDS, iso, localKV, parseCampaign, shortText, uuid, withoutParams, type KV, type Props } from "./util";

export const VERSION = "1.0.0";
export const STORAGE_PREFIX = "reviva.";
const K_ANON = "reviva.anon";
const K_USER = "reviva.user";
const K_CONSENT = "reviva.consent";
const K_SESSION = "reviva.session";
const K_FP = "reviva.fp";
const SESSION_TIMEOUT_MS = 30 * 60 * 1000;

export interface InitOptions {
  writeKey: string;
  /** The API's base URL; defaults to the origin the script was loaded from. */
  endpoint?: string;
  /** Initial consent from a consent platform; a stored choice wins over it. */
  consent?: Partial<Categories>;
  /** Other domains of the store: links to them carry the short-lived linker parameter. */
  linkerDomains?: string[];
  /** Send when this many messages are queued (default from delivery-policy.json). */
  flushAt?: number;
  /** Send when the oldest queued urgent message has waited this long (ms). */
  maxWaitMs?: number;
  /** Send when the oldest queued message of any kind, background included, has waited this long (ms). */
  backgroundMaxWaitMs?: number;
  /** Track events that may wait `backgroundMaxWaitMs` (default: the autocapture noise in delivery-policy.json). */
  backgroundEvents?: string[];
  /** Former name of `maxWaitMs`. */
  flushInterval?: number;
  /** With analytics consent, let a same-origin navigation hand the queue to the next page. */
  carryAcrossPages?: boolean;
  /** At most this many messages in one request. */
  maxBatch?: number;
  maxQueue?: number;
  /** Automatic page views, clicks, scroll, forms, exit intent, performance; all on by default. */
  autocapture?: boolean | Partial<Record<"pageviews" | "clicks" | "scroll" | "forms" | "exitIntent" | "performance", boolean>>;
  /** Where the fingerprint module is served (set by the bundles). */
  fingerprintUrl?: string;
  /** The version of the privacy policy the banner shows, kept with each consent record. */
  policyVersion?: string;
  debug?: boolean;
}

interface Session {
  id: string;
  start: number;
  last: number;
  campaign: string;
}

type Capture = Record<"pageviews" | "clicks" | "scroll" | "forms" | "exitIntent" | "performance", boolean>;

export class Tracker {
  readonly version = VERSION;
  consentState: Categories = { ...REFUSED };
  signals: Signals = { gpc: false, dnt: false };
  anonymousId: string | null = null;
  userId: string | null = null;
  fingerprint: string | null = null;
  delivery: Delivery | null = null;
  private options: InitOptions | null = null;
  private capture: Capture = { pageviews: true, clicks: true, scroll: true, forms: true, exitIntent: true, performance: true };
  private store: KV | null = null;
  private session: Session | null = null;
  private linkedId: string | null = null;
  private fingerprintRun = 0;
  private page$ = this.freshPage();
  private lastPath = "";
  private cls = new ClsAccumulator();
  private inp = new InpAccumulator();
  private lcp: number | null = null;
  private vitalsSent = false;
  private rage = new RageClickDetector();
  private initialized = false;

  /** Start collecting. Calls made before init are kept by the snippet's stub and replayed. */
  init(options: InitOptions): void {
    if (this.initialized) return;
    if (!options || !options.writeKey) throw new Error("reviva.init: writeKey is required");
    this.initialized = true;
    this.options = options;
    if (options.autocapture === false) {
      for (const key of Object.keys(this.capture) as (keyof Capture)[]) this.capture[key] = false;
    } else if (typeof options.autocapture === "object") {
      Object.assign(this.capture, options.autocapture);
    }
    const endpoint = (options.endpoint || location.origin).replace(/\/+$/, "");
    this.delivery = new Delivery({
      url: endpoint + "/v1/batch",
      writeKey: options.writeKey,
      fetch: (url, init) => fetch(url, init),
      beacon: typeof navigator.sendBeacon === "function" ? (url, body) => navigator.sendBeacon(url, body) : undefined,
      online: () => navigator.onLine !== false,
      flushAt: options.flushAt,
      maxWaitMs: options.maxWaitMs,
      backgroundMaxWaitMs: options.backgroundMaxWaitMs,
      backgroundEvents: options.backgroundEvents,
      flushInterval: options.flushInterval,
      carryAcrossPages: options.carryAcrossPages,
      maxBatch: options.maxBatch,
      maxQueue: options.maxQueue,
    });
    this.signals = readSignals(navigator as Navigator & { globalPrivacyControl?: boolean }, window as unknown as { doNotTrack?: string });
    this.readLinker();
    // Reading storage writes nothing: a choice made on an earlier page applies at once.
    const kv = localKV();
    const stored = kv ? parseStoredConsent(kv.get(K_CONSENT)) : null;
    this.setConsent(stored || options.consent || {}, false);
    this.listen();
    this.lastPath = location.pathname + location.search;
    if (this.capture.pageviews) this.page();
  }

  // ------------------------------------------------------------------------------ public API

  /** Record a page view (also sent automatically on load and single-page-app navigation). */
  page(name?: string, properties?: Props): void {
    const props: Props = { ...this.pageProps(), ...(properties || {}) };
    this.send("page", { name, properties: props });
  }

  /** Record an action with properties. */
  track(event: string, properties?: Props): void {
    if (!event) return;
    this.send("track", { event: String(event).slice(0, 200), properties: { ...(properties || {}) } });
  }

  /**
   * Tie this browser to a known user (login, booking). Needs analytics consent; traits are sent
   * only with marketing consent.
   */
  identify(userId: string, traits?: Props): void {
    if (!this.consentState.analytics) return this.debug("identify ignored: no analytics consent");
    if (!userId) return;
    this.userId = String(userId);
    this.store?.set(K_USER, this.userId);
    this.send("identify", { traits: this.consentState.marketing ? { ...(traits || {}) } : {} });
  }

  /** Record a consent choice from any banner: `{analytics, marketing, personalization}`. */
  consent(categories: Partial<Categories>): Categories {
    this.setConsent(categories || {}, true);
    return { ...this.consentState };
  }

  /** Log out: forget the user id, start a new anonymous id and session (consent is kept). */
  reset(): void {
    this.userId = null;
    this.store?.remove(K_USER);
    this.session = null;
    this.store?.remove(K_SESSION);
    if (this.consentState.analytics) {
      this.anonymousId = uuid();
      this.store?.set(K_ANON, this.anonymousId);
    }
  }

  /** Send everything queued now. */
  flush(): Promise<void> {
    return this.delivery ? this.delivery.flush() : Promise.resolve();
  }

  // ------------------------------------------------------------------------------ consent

  private setConsent(choice: Partial<Categories>, explicit: boolean): void {
    const before = this.consentState;
    // A withdrawal erases the ids: the record of it must still name whom it is about.
    const anonymousId = this.anonymousId;
    const userId = this.userId;
    const after = applyConsent(before, choice, this.signals);
    this.consentState = after;
    if (after.analytics && !this.store) this.grantStorage();
    else if (!after.analytics && (this.store || before.analytics)) this.withdraw();
    if (this.store) this.store.set(K_CONSENT, JSON.stringify({ ...after, at: iso(Date.now()) }));
    if (explicit) {
      this.track("Consent Updated", { analytics: after.analytics, marketing: after.marketing, personalization: after.personalization });
      this.recordConsent(after, anonymousId || this.anonymousId, userId || this.userId);
    }
  }

  /** The proof of a decision: one record at `/v1/privacy/consent` (kept server-side, append-only). */
  private recordConsent(state: Categories, anonymousId: string | null, userId: string | null): void {
    const options = this.options;
    if (!options) return;
    const endpoint = (options.endpoint || location.origin).replace(/\/+$/, "");
    const record: Record<string, unknown> = {
      writeKey: options.writeKey,
      policyVersion: options.policyVersion || "unversioned",
      categories: { analytics: state.analytics, marketing: state.marketing, personalization: state.personalization },
      source: "tracker",
      timestamp: iso(Date.now()),
    };
    if (anonymousId) record.anonymousId = anonymousId;
    if (userId) record.userId = userId;
    // A beacon outlives the page (a decision is often followed at once by a navigation); text/plain
    // keeps it a simple request (no preflight), as the batches are sent.
    const url = endpoint + "/v1/privacy/consent";
    const body = JSON.stringify(record);
    if (typeof navigator.sendBeacon === "function" && navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }))) return;
    void fetch(url, { method: "POST", body, headers: { "Content-Type": "text/plain" }, keepalive: true }).catch(() =>
      this.debug("consent record not sent"),
    );
  }

  private grantStorage(): void {
    const kv = localKV();
    if (!kv) return;
    this.store = kv;
    this.anonymousId = this.linkedId || kv.get(K_ANON) || uuid();
    this.linkedId = null;
    kv.set(K_ANON, this.anonymousId);
    this.userId = kv.get(K_USER);
    this.fingerprint = kv.get(K_FP);
    // Continue the session this page is in rather than opening a second one.
    const stored = this.readSession();
    this.session = stored || this.session;
    if (this.session) kv.set(K_SESSION, JSON.stringify(this.session));
    this.delivery?.setStore(kv);
    if (!this.fingerprint) void this.takeFingerprint();
  }

  private withdraw(): void {
    this.fingerprintRun += 1; // a fingerprint still being computed is thrown away
    this.delivery?.setStore(null);
    const kv = this.store || localKV();
    if (kv) for (const key of kv.keys()) if (key.startsWith(STORAGE_PREFIX)) kv.remove(key);
    this.store = null;
    this.anonymousId = null;
    this.userId = null;
    this.fingerprint = null;
    this.session = this.session ? { ...this.session, id: uuid() } : null;
  }

  private async takeFingerprint(): Promise<void> {
    const url = this.options?.fingerprintUrl;
    if (!url) return;
    const run = ++this.fingerprintRun;
    try {
      const module = await import(/* @vite-ignore */ url);
      const hash: string | null = await module.fingerprint(STORAGE_PREFIX + "tm.");
      if (run !== this.fingerprintRun || !this.consentState.analytics || !hash) return;
      this.fingerprint = hash;
      this.store?.set(K_FP, hash);
    } catch (error) {
      this.debug("fingerprint unavailable", error);
    }
  }

  // ------------------------------------------------------------------------------ messages

  private send(type: string, fields: Record<string, unknown>): void {
    if (!this.delivery) return;
    const now = Date.now();
    if (type !== "identify") this.touchSession(now);
    this.enqueue(type, fields, now);
  }

  private enqueue(type: string, fields: Record<string, unknown>, now: number): void {
    const message: Message = { type, messageId: uuid(), timestamp: iso(now), ...fields, context: this.context() };
    for (const key of Object.keys(message)) if (message[key] === undefined) delete message[key];
    if (this.consentState.analytics && this.anonymousId) {
      message.anonymousId = this.anonymousId;
      if (this.userId) message.userId = this.userId;
    }
    this.delivery?.enqueue(message);
  }

  private context(): Record<string, unknown> {
    const marketing = this.consentState.marketing;
    const { campaign, clickIds } = parseCampaign(location.search);
    const context: Record<string, unknown> = {
      page: this.pageProps(),
      userAgent: navigator.userAgent,
      locale: navigator.language,
      library: { name: "reviva-tracker", version: VERSION },
      consent: consentContext(this.consentState, this.signals),
    };
    try {
      context.timezone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch {
      /* no Intl */
    }
    if (Object.keys(campaign).length || (marketing && Object.keys(clickIds).length)) {
      context.campaign = marketing ? { ...campaign, ...clickIds } : campaign;
    }
    if (this.consentState.analytics) {
      context.screen = { width: screen.width, height: screen.height, density: devicePixelRatio };
      if (this.fingerprint) context.fingerprint = this.fingerprint;
    }
    return context;
  }

  private pageProps(): Props {
    // Ad click ids are marketing data: without marketing consent they never leave the page.
    const strip = this.consentState.marketing ? [LINKER_PARAM] : [LINKER_PARAM, ...CLICK_IDS];
    const url = withoutParams(location.href, strip);
    let search = "";
    try {
      search = new URL(url).search;
    } catch {
      /* keep empty */
    }
    return {
      path: location.pathname,
      url,
      search,
      title: document.title,
      referrer: withoutParams(document.referrer, strip),
    };
  }

  // ------------------------------------------------------------------------------ sessions

  private readSession(): Session | null {
    try {
      const s = JSON.parse(this.store?.get(K_SESSION) || "null");
      return s && typeof s.id === "string" && typeof s.last === "number" ? s : null;
    } catch {
      return null;
    }
  }

  /** Open a session (and send "Session Started") after 30 idle minutes or on a new campaign. */
  private touchSession(now: number): void {
    const { campaign, clickIds } = parseCampaign(location.search);
    const campaignKey = JSON.stringify({ ...campaign, ...clickIds }) === "{}" ? "" : JSON.stringify({ ...campaign, ...clickIds });
    const current = this.store ? this.readSession() || this.session : this.session;
    let startNew = !current || now - current.last > SESSION_TIMEOUT_MS || (campaignKey !== "" && campaignKey !== current.campaign);
    if (!current && !this.store && this.isInternalReferrer()) {
      // Cookieless: nothing remembers the previous page, but an internal referrer means the visit
      // already started there; the server's sessionization joins the pages.
      startNew = false;
    }
    const session: Session = startNew || !current ? { id: uuid(), start: now, last: now, campaign: campaignKey } : { ...current, last: now };
    this.session = session;
    this.store?.set(K_SESSION, JSON.stringify(session));
    if (startNew) {
      this.enqueue(
        "track",
        {
          event: "Session Started",
          properties: {
            session_id: this.store ? session.id : undefined,
            landing_page: location.pathname,
            referrer: withoutParams(document.referrer, [LINKER_PARAM, ...(this.consentState.marketing ? [] : CLICK_IDS)]) || undefined,
            ...Object.fromEntries(Object.entries(campaign).map(([k, v]) => [k === "name" ? "utm_campaign" : "utm_" + k, v])),
          },
        },
        now,
      );
    }
  }

  private isInternalReferrer(): boolean {
    try {
      return !!document.referrer && new URL(document.referrer).host === location.host;
    } catch {
      return false;
    }
  }

  // ------------------------------------------------------------------------------ linker

  private readLinker(): void {
    const params = new URLSearchParams(location.search);
    const value = params.get(LINKER_PARAM);
    if (value === null) return;
    this.linkedId = decodeLinker(value, Date.now());
    // Out of the address bar at once, so it is neither bookmarked nor shared.
    try {
      history.replaceState(history.state, "", withoutParams(location.href, [LINKER_PARAM]));
    } catch {
      /* sandboxed */
    }
  }

  private decorate(anchor: HTMLAnchorElement): void {
    const domains = this.options?.linkerDomains;
    if (!domains || !domains.length || !this.consentState.analytics || !this.anonymousId) return;
    let url: URL;
    try {
      url = new URL(anchor.href);
    } catch {
      return;
    }
    if (!isLinkedHost(url.hostname, location.hostname, domains)) return;
    url.searchParams.set(LINKER_PARAM, encodeLinker(this.anonymousId, Date.now()));
    anchor.href = url.toString();
  }

  // ------------------------------------------------------------------------------ autocapture

  private freshPage() {
    return { start: Date.now(), milestones: new Set<number>(), focused: new Set<string>(), exit: false, maxScroll: 0 };
  }

  private listen(): void {
    const doc = document;
    const cap = this.capture;
    doc.addEventListener("click", (e) => this.onClick(e as MouseEvent), true);
    doc.addEventListener("mousedown", (e) => {
      const a = (e.target as Element | null)?.closest?.("a[href]");
      if (a) this.decorate(a as HTMLAnchorElement);
    }, true);
    if (cap.scroll) addEventListener("scroll", () => this.onScroll(), { passive: true });
    if (cap.forms) {
      doc.addEventListener("focusin", (e) => this.onFocus(e.target as HTMLElement), true);
      doc.addEventListener("submit", (e) => this.onSubmit(e.target as HTMLFormElement), true);
    }
    if (cap.exitIntent) {
      doc.addEventListener("mouseout", (e) => {
        const m = e as MouseEvent;
        if (!this.isTouch() && isExitIntent(m.clientY, m.relatedTarget)) this.exitIntent("pointer");
      });
    }
    if (cap.performance) this.observeVitals();
    if (cap.pageviews) this.watchNavigation();
    // Bubbling to window, after the page's own handlers: a link or form they prevented loads nothing.
    addEventListener("click", (e) => {
      const a = (e.target as Element | null)?.closest?.("a[href], area[href]") as HTMLAnchorElement | null;
      const modified = e.ctrlKey || e.metaKey || e.shiftKey || e.altKey;
      const link = a && { href: a.href, target: a.getAttribute("target"), download: a.hasAttribute("download"), button: e.button, modified };
      if (link && !e.defaultPrevented && isInternalLinkClick(link, location.href)) this.delivery?.navigating();
    });
    addEventListener("submit", (e) => {
      const form = e.target as HTMLFormElement;
      const by = (e as SubmitEvent).submitter;
      // Attributes, not form.action: a field named "action" would shadow the property.
      const attr = (name: string) => (by && by.getAttribute("form" + name)) ?? form.getAttribute(name);
      const action = attr("action");
      const url = action ? new URL(action, doc.baseURI).href : null;
      if (!e.defaultPrevented && isInternalSubmit(url, attr("method"), attr("target"), location.href)) this.delivery?.navigating();
    });
    const leave = (final: boolean) => {
      if (cap.exitIntent && this.isTouch() && Date.now() - this.page$.start > 1000) this.exitIntent("visibility");
      if (cap.performance) this.sendVitals();
      this.delivery?.leave(final);
    };
    addEventListener("pagehide", () => leave(true));
    doc.addEventListener("visibilitychange", () => {
      if (doc.visibilityState === "hidden") leave(false);
    });
    addEventListener("pageshow", (e) => {
      if ((e as PageTransitionEvent).persisted) this.delivery?.resume();
    });
    addEventListener("online", () => this.delivery?.online());
    if (cap.performance) {
      const perf = () => setTimeout(() => this.pagePerformance(), 0);
      if (doc.readyState === "complete") perf();
      else addEventListener("load", perf, { once: true });
    }
  }

  private isTouch(): boolean {
    try {
      return matchMedia("(hover: none) and (pointer: coarse)").matches;
    } catch {
      return false;
    }
  }

  private onClick(e: MouseEvent): void {
    const target = e.target as Element | null;
    if (!target || !target.closest) return;
    const count = this.rage.click(e.clientX, e.clientY, Date.now());
    if (count) this.track("Rage Click", { ...this.describe(target), clicks: count, x: Math.round(e.clientX), y: Math.round(e.clientY) });
    if (!this.capture.clicks) return;
    const tracked = target.closest("[data-track]");
    if (tracked) {
      const props: Props = { ...this.describe(tracked), track_id: tracked.getAttribute("data-track") || undefined };
      // data-track-* attributes become properties (data-track-service="screen" → service: "screen").
      for (const attr of Array.from(tracked.attributes)) {
        if (attr.name.startsWith("data-track-")) props[attr.name.slice(11).replace(/-/g, "_")] = attr.value.slice(0, 100);
      }
      this.track("Element Clicked", props);
      return;
    }
    const cta = target.closest("button, [role=button], a.btn, .btn, [data-cta], input[type=submit]");
    if (cta) this.track("CTA Clicked", this.describe(cta));
  }

  /** What identifies an element in a report: tag, id, classes, link target, visible text — never a value. */
  private describe(el: Element): Props {
    const tag = el.tagName.toLowerCase();
    const isField = tag === "input" || tag === "textarea" || tag === "select";
    const href = el.getAttribute("href");
    return {
      element: tag,
      element_id: el.id || undefined,
      classes: typeof el.className === "string" && el.className ? el.className.slice(0, 100) : undefined,
      text: isField ? undefined : shortText(el.textContent),
      href: href ? withoutParams(href, [LINKER_PARAM, ...CLICK_IDS]).slice(0, 300) : undefined,
    };
  }

  private onScroll(): void {
    const root = document.documentElement;
    const percent = scrollPercent(scrollY, innerHeight, Math.max(root.scrollHeight, document.body ? document.body.scrollHeight : 0));
    this.page$.maxScroll = Math.max(this.page$.maxScroll, percent);
    for (const milestone of newMilestones(percent, this.page$.milestones)) {
      this.track("Scroll Depth Reached", { percent: milestone, time_on_page_ms: Date.now() - this.page$.start });
    }
  }

  private onFocus(el: HTMLElement): void {
    if (!el || !el.matches || !el.matches("input, textarea, select")) return;
    const field = el as HTMLInputElement;
    const name = field.name || field.id;
    const form = field.form;
    const key = (form?.id || form?.getAttribute("name") || "") + "/" + name;
    if (!name || this.page$.focused.has(key)) return;
    this.page$.focused.add(key);
    this.track("Form Field Focused", {
      form_id: form?.id || undefined,
      form_name: form?.getAttribute("name") || undefined,
      field_name: name.slice(0, 64),
      field_type: (field.type || field.tagName).toLowerCase(),
    });
  }

  private onSubmit(form: HTMLFormElement): void {
    if (!form || !form.elements) return;
    this.track("Form Submitted", {
      form_id: form.id || undefined,
      form_name: form.getAttribute("name") || undefined,
      ...formSummary(form.elements as unknown as ArrayLike<HTMLInputElement>),
    });
  }

  private exitIntent(trigger: string): void {
    if (this.page$.exit) return;
    this.page$.exit = true;
    this.track("Exit Intent", { trigger, time_on_page_ms: Date.now() - this.page$.start, scroll_depth: this.page$.maxScroll });
  }

  private watchNavigation(): void {
    const onChange = () => {
      const path = location.pathname + location.search;
      if (path === this.lastPath) return;
      this.lastPath = path;
      this.delivery?.stayed(); // a route change, not a page load
      if (this.capture.performance) this.sendVitals();
      this.page$ = this.freshPage();
      this.page();
    };
    for (const method of ["pushState", "replaceState"] as const) {
      const original = history[method];
      history[method] = function (this: History, ...args: Parameters<History["pushState"]>) {
        const result = original.apply(this, args);
        setTimeout(onChange, 0);
        return result;
      };
    }
    addEventListener("popstate", onChange);
  }

  private observeVitals(): void {
    const observe = (type: string, handle: (entries: PerformanceEntry[]) => void, extra: Record<string, unknown> = {}) => {
      try {
        const observer = new PerformanceObserver((list) => handle(list.getEntries()));
        observer.observe({ type, buffered: true, ...extra } as PerformanceObserverInit);
      } catch {
        /* entry type not supported by this browser */
      }
    };
    observe("largest-contentful-paint", (entries) => {
      const last = entries[entries.length - 1];
      if (last) this.lcp = Math.round(last.startTime);
    });
    observe("layout-shift", (entries) => {
      for (const e of entries as (PerformanceEntry & { value: number; hadRecentInput: boolean })[]) this.cls.add(e.value, e.startTime, e.hadRecentInput);
    });
    observe(
      "event",
      (entries) => {
        for (const e of entries as (PerformanceEntry & { interactionId?: number })[]) this.inp.add(e.interactionId || 0, e.duration);
      },
      { durationThreshold: 16 },
    );
  }

  private sendVitals(): void {
    if (this.vitalsSent) return;
    this.vitalsSent = true;
    this.track("Web Vitals", { lcp_ms: this.lcp ?? undefined, cls: Math.round(this.cls.value * 1000) / 1000, inp_ms: this.inp.value ?? undefined });
  }

  private pagePerformance(): void {
    const nav = performance.getEntriesByType?.("navigation")[0] as PerformanceNavigationTiming | undefined;
    if (!nav) return;
    const r = (v: number) => Math.max(0, Math.round(v));
    this.track("Page Performance", {
      ttfb_ms: r(nav.responseStart - nav.startTime),
      dom_content_loaded_ms: r(nav.domContentLoadedEventEnd - nav.startTime),
      load_ms: r((nav.loadEventEnd || performance.now()) - nav.startTime),
      transfer_bytes: nav.transferSize,
      navigation_type: nav.type,
    });
  }

  private debug(...args: unknown[]): void {
    if (this.options?.debug) console.debug("[reviva]", ...args);
  }
}
