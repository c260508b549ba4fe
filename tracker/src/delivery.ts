/**
 * Delivery: batches messages to `<endpoint>/v1/batch` in few, full requests and loses none.
 *
 * The policy (defaults in `delivery-policy.json`, which the cost model reads too):
 * - A request is sent when `flushAt` messages are queued, or when the timer is due, and when the
 *   page is left. Messages are urgent (page, identify, alias, group, and every track event not in
 *   `backgroundEvents`) or background (the autocapture noise `backgroundEvents` names: performance,
 *   vitals, scroll depth, clicks on tracked elements, field focus, rage clicks, exit intent). The
 *   timer is due at min(oldest URGENT message + `maxWaitMs`, oldest message of any kind +
 *   `backgroundMaxWaitMs`), armed from the messages' timestamps so newer messages never push it
 *   back: a queue of background messages alone waits up to `backgroundMaxWaitMs` (fewer, fuller
 *   requests), and once an urgent message is queued the whole queue goes within `maxWaitMs` of it.
 *   A `backgroundMaxWaitMs` at or below `maxWaitMs` (0 included) turns the distinction off. Each
 *   request carries the queue oldest first, at most `maxBatch` messages and `maxBatchBytes`; a
 *   flush sends request after request until the queue is empty.
 * - Leaving the page beacons the queue (`navigator.sendBeacon`, chunks under 64 KB) — except when
 *   the queue is mirrored in first-party storage (analytics consent) and the page is left by a
 *   same-origin navigation the tracker saw start less than `navigationTtlMs` ago: then the queue
 *   stays in storage, marked as handed over, and the next page takes it and sends it with its own
 *   messages (at once if its timer is already due).
 * - Bodies are text/plain JSON with the write key inside, so no CORS preflight is needed and a
 *   beacon can carry the same body.
 * - A message leaves the queue only when the server answered (2xx, or a 4xx that retrying cannot
 *   fix) or the browser took it (beacon, or a keepalive request still in flight when the page
 *   goes): nothing is sent twice by the tracker. Network errors, 429 and 5xx are retried with
 *   exponential backoff and jitter (Retry-After honoured); offline, nothing is tried until the
 *   browser is online again.
 * - Storage holds one record per page (`reviva.queue.<pageId>`), so tabs never overwrite each
 *   other's queues. A page takes over a record that was handed over by a navigation, or whose
 *   page has not written it for `orphanAfterMs` (that page died without a pagehide); the page that
 *   wrote it notices its record is gone and forgets those messages instead of sending them too.
 *   Records are capped by message count, bytes and age (`maxAgeMs`).
 */

import policy from "../delivery-policy.json";
import type { KV } from "./util";
import { iso, uuid } from "./util";

export interface Message {
  type: string;
  messageId: string;
  timestamp: string;
  [key: string]: unknown;
}

/** The delivery defaults shared with the cost model (`tracker/delivery-policy.json`). */
export const DELIVERY_POLICY: Readonly<typeof policy> = policy;

export interface DeliveryOptions {
  url: string;
  writeKey: string;
  fetch: (url: string, init: RequestInit) => Promise<{ status: number; headers?: { get(name: string): string | null } }>;
  beacon?: (url: string, body: Blob | string) => boolean;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  online?: () => boolean;
  random?: () => number;
  /** Send as soon as this many messages are queued. */
  flushAt?: number;
  /** The longest the oldest queued urgent message waits before a request goes. */
  maxWaitMs?: number;
  /**
   * The longest any queued message waits, background ones included; at or below `maxWaitMs`
   * (0 included) every message is urgent.
   */
  backgroundMaxWaitMs?: number;
  /** Track event names that are background (may wait `backgroundMaxWaitMs`); [] makes all urgent. */
  backgroundEvents?: readonly string[];
  /** Former name of `maxWaitMs` (used when `maxWaitMs` is not given). */
  flushInterval?: number;
  /** Hand the queue to the next page on a same-origin navigation (needs storage). */
  carryAcrossPages?: boolean;
  /** At most this many messages in one request. */
  maxBatch?: number;
  /** A navigation flag older than this is stale (the navigation never happened). */
  navigationTtlMs?: number;
  /** A page's stored record not rewritten for this long is taken over by the next page. */
  orphanAfterMs?: number;
  maxQueue?: number;
  maxQueueBytes?: number;
  maxBatchBytes?: number;
  maxAgeMs?: number;
  /** This page's id in its storage key (random by default). */
  pageId?: string;
}

/** The single queue key of tracker versions before per-page records: still read once, then removed. */
export const QUEUE_KEY = "reviva.queue";
/** Each page's record: `reviva.queue.<pageId>` = `{at, carry?, batch}`. */
export const QUEUE_PREFIX = QUEUE_KEY + ".";
const BEACON_LIMIT = 60_000; // browsers cap a page's in-flight beacon/keepalive bytes at 64 KiB

interface StoredRecord {
  /** When the owning page last wrote it (ms). */
  at: number;
  /** Handed over by a navigation: the next page takes it at once. */
  carry?: boolean;
  batch: Message[];
}

type Settings = Required<Omit<DeliveryOptions, "beacon" | "flushInterval">> & Pick<DeliveryOptions, "beacon">;

export class Delivery {
  pending: Message[] = [];
  inflight: Message[] = [];
  dropped = 0;
  sent = 0;
  attempts = 0;
  /** The storage key of this page's record. */
  readonly key: string;
  private store: KV | null = null;
  /** The messageIds of this page's record as last written: whoever removes the record owns them. */
  private storedIds = new Set<string>();
  private timer: unknown = null;
  private timerDue = 0;
  private retryAt = 0;
  private sending: Promise<boolean> | null = null;
  private inflightKeepalive = false;
  /** The in-flight keepalive request belongs to the browser now (the page is going). */
  private handedOff = false;
  private navigationAt: number | null = null;
  /** The queue was handed to the next page: nothing more is sent from this page. */
  private departed = false;
  private readonly o: Settings;
  private readonly background: ReadonlySet<string>;

  constructor(options: DeliveryOptions) {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as DeliveryOptions;
    this.o = {
      now: () => Date.now(),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      online: () => true,
      random: Math.random,
      flushAt: policy.flushAt,
      maxWaitMs: given.flushInterval ?? policy.maxWaitMs,
      backgroundMaxWaitMs: policy.backgroundMaxWaitMs,
      backgroundEvents: policy.backgroundEvents,
      carryAcrossPages: policy.carryAcrossPages,
      maxBatch: policy.maxBatch,
      navigationTtlMs: policy.navigationTtlMs,
      orphanAfterMs: policy.orphanAfterMs,
      maxQueue: 500,
      maxQueueBytes: 256_000,
      maxBatchBytes: 400_000,
      maxAgeMs: policy.maxAgeMs,
      pageId: uuid().slice(0, 13),
      ...given,
    };
    this.o.maxBatch = Math.max(1, this.o.maxBatch);
    this.background = new Set(this.o.backgroundEvents);
    this.key = QUEUE_PREFIX + this.o.pageId;
  }

  /** Mirror the queue into `store` (consent granted) or stop and erase it (null: consent withdrawn). */
  setStore(store: KV | null): void {
    if (store === this.store) return;
    if (this.store && !store) this.store.remove(this.key);
    this.store = store;
    this.storedIds = new Set();
    if (store) {
      this.claim(false);
      this.persist();
      this.due();
    }
  }

  enqueue(message: Message): void {
    this.pending.push(message);
    this.cap();
    this.persist();
    this.due();
  }

  /** Send everything now, one batch after another; resolves when the queue is empty or a send failed. */
  async flush(): Promise<void> {
    while ((this.pending.length || this.sending) && !this.departed) {
      if (this.sending) {
        await this.sending;
        continue;
      }
      if (!this.o.online()) return;
      const ok = await (this.sending = this.sendOne().finally(() => (this.sending = null)));
      if (!ok) return;
    }
  }

  /** A same-origin navigation just started (link click, form submit): leaving soon may carry the queue. */
  navigating(): void {
    this.navigationAt = this.o.now();
  }

  /** The navigation did not happen after all (a single-page-app route change). */
  stayed(): void {
    this.navigationAt = null;
  }

  /** True when leaving now keeps the queue in storage for the next page instead of beaconing it. */
  carries(): boolean {
    const started = this.navigationAt;
    const age = started === null ? -1 : this.o.now() - started;
    return this.o.carryAcrossPages && !!this.store && age >= 0 && age <= this.o.navigationTtlMs;
  }

  /**
   * The page was hidden (`final` false) or is being left (`final` true, pagehide). A same-origin
   * navigation with storage keeps the queue for the next page; any other leave beacons it.
   */
  leave(final: boolean): void {
    this.owned();
    // A keepalive request outlives the page: its messages are the browser's now, so the record
    // must not offer them to the next page as well.
    if (this.inflight.length && this.inflightKeepalive) this.handedOff = true;
    if (this.carries()) {
      // Leaving (pagehide): mark the record handed over. Hidden with a navigation under way: the
      // pagehide comes (or came: browsers fire it first) and marks it; nothing to beacon.
      this.departed = this.departed || final;
      if (this.persist()) {
        if (final) this.unschedule();
        return;
      }
      this.departed = false; // storage refused the record: beacon instead
    }
    this.flushBeacon();
  }

  /** The page came back from the back/forward cache: take back what no other page took, and go on. */
  resume(): void {
    this.departed = false;
    this.navigationAt = null;
    this.owned();
    this.claim(true);
    this.persist();
    this.due();
  }

  /** Hand every queued message to sendBeacon (page hidden or going away). */
  flushBeacon(): void {
    this.owned();
    if (!this.o.beacon || !this.pending.length) return;
    while (this.pending.length) {
      const chunk = this.take(BEACON_LIMIT);
      const body = this.body(chunk);
      let accepted = false;
      try {
        accepted = this.o.beacon(this.o.url, new Blob([body], { type: "text/plain" }));
      } catch {
        accepted = false;
      }
      if (!accepted) {
        this.pending = [...chunk, ...this.pending];
        break;
      }
      this.sent += chunk.length;
    }
    this.persist();
  }

  /** Reachability came back: send at once. */
  online(): void {
    this.attempts = 0;
    this.retryAt = 0;
    void this.flush();
  }

  /** Send now when `flushAt` messages wait, else arm the timer for when a send is due. */
  private due(): void {
    if (this.departed) return;
    if (this.pending.length >= this.o.flushAt && this.o.now() >= this.retryAt) void this.flush();
    else this.arm();
  }

  private async sendOne(): Promise<boolean> {
    this.unschedule();
    if (this.departed) return false;
    this.owned();
    this.claim(true); // a record a navigation handed over after this page loaded
    const batch = this.take(this.o.maxBatchBytes);
    if (!batch.length) return true;
    this.inflight = batch;
    const body = this.body(batch);
    // Lets the request outlive the page when it is small enough to be allowed to.
    this.inflightKeepalive = body.length < BEACON_LIMIT;
    this.handedOff = false;
    let status = 0;
    let retryAfter: string | null = null;
    try {
      const response = await this.o.fetch(this.o.url, {
        method: "POST",
        body,
        headers: { "Content-Type": "text/plain" },
        credentials: "omit",
        keepalive: this.inflightKeepalive,
      });
      status = response.status;
      retryAfter = response.headers?.get("Retry-After") ?? null;
    } catch {
      status = 0; // network error or offline
    }
    this.inflight = [];
    this.handedOff = false;
    if (status === 0 || status === 408 || status === 429 || status >= 500) {
      this.pending = [...batch, ...this.pending];
      this.cap();
      this.persist();
      this.attempts += 1;
      const base = Math.min(60_000, 1000 * 2 ** Math.min(this.attempts - 1, 6));
      const hinted = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : 0;
      this.retryAt = this.o.now() + Math.max(hinted, base * (0.5 + this.o.random()));
      this.arm();
      return false;
    }
    // 2xx, or a 4xx a retry cannot fix (400 lists the rejected messages; the others were kept).
    this.attempts = 0;
    this.retryAt = 0;
    this.sent += batch.length;
    this.persist();
    return true;
  }

  private take(maxBytes: number): Message[] {
    const out: Message[] = [];
    let bytes = 120;
    while (this.pending.length && out.length < this.o.maxBatch) {
      const size = JSON.stringify(this.pending[0]).length + 1;
      if (out.length && bytes + size > maxBytes) break;
      bytes += size;
      out.push(this.pending.shift() as Message);
    }
    return out;
  }

  private body(batch: Message[]): string {
    // sentAt is the send time, so the server can correct the client's clock skew.
    return JSON.stringify({ batch, sentAt: iso(this.o.now()), writeKey: this.o.writeKey });
  }

  /** Keep the queue within its age, count and byte caps, oldest first out. */
  private cap(): void {
    const cutoff = this.o.now() - this.o.maxAgeMs;
    const before = this.pending.length;
    this.pending = this.pending.filter((m) => !(Date.parse(m.timestamp) < cutoff));
    while (this.pending.length > this.o.maxQueue) this.pending.shift();
    if (this.store) {
      while (this.pending.length && JSON.stringify(this.pending).length > this.o.maxQueueBytes) this.pending.shift();
    }
    this.dropped += before - this.pending.length;
  }

  /** Write this page's record (or remove it when nothing waits); false when storage refused it. */
  private persist(): boolean {
    const store = this.store;
    if (!store) return false;
    this.owned();
    const all = [...(this.handedOff ? [] : this.inflight), ...this.pending];
    this.storedIds = new Set();
    if (!all.length) {
      store.remove(this.key);
      return true;
    }
    const record: StoredRecord = { at: this.o.now(), batch: all };
    if (this.departed) record.carry = true;
    if (!store.set(this.key, JSON.stringify(record))) {
      store.remove(this.key);
      return false;
    }
    this.storedIds = new Set(all.map((m) => m.messageId));
    return true;
  }

  /**
   * This page's record vanished although it held messages: another page took it over (this one
   * looked dead) or another tab withdrew consent. Either way those messages are not this page's
   * to send any more.
   */
  private owned(): void {
    const store = this.store;
    if (!store || !this.storedIds.size || store.get(this.key) !== null) return;
    const gone = this.storedIds;
    this.storedIds = new Set();
    this.pending = this.pending.filter((m) => !gone.has(m.messageId));
  }

  /**
   * Take over the records other pages left: handed over by a navigation, or (unless
   * `handedOverOnly`) not rewritten for `orphanAfterMs`, and the pre-per-page single queue.
   */
  private claim(handedOverOnly: boolean): void {
    const store = this.store;
    if (!store) return;
    const now = this.o.now();
    const known = new Set([...this.pending, ...this.inflight].map((m) => m.messageId));
    const taken: Message[] = [];
    for (const key of store.keys()) {
      if (key === this.key || (key !== QUEUE_KEY && !key.startsWith(QUEUE_PREFIX))) continue;
      const value = parse(store.get(key));
      let batch: unknown = value;
      if (key !== QUEUE_KEY) {
        const record = value as StoredRecord | null;
        const valid = !!record && typeof record === "object" && typeof record.at === "number";
        if (valid && !record.carry && (handedOverOnly || Math.abs(now - record.at) <= this.o.orphanAfterMs)) continue;
        batch = valid ? record.batch : null;
      } else if (handedOverOnly) {
        continue;
      }
      store.remove(key); // unreadable records go too: nothing in them could be sent
      if (!Array.isArray(batch)) continue;
      for (const m of batch) {
        if (m && typeof m.messageId === "string" && !known.has(m.messageId)) {
          known.add(m.messageId);
          taken.push(m);
        }
      }
    }
    if (!taken.length) return;
    this.pending = [...taken, ...this.pending].sort((a, b) => stamp(a, now) - stamp(b, now));
    this.cap();
  }

  /**
   * Arm the timer for the next send: the retry time after a failure, else the earlier of the
   * oldest urgent message being `maxWaitMs` old and the oldest message being `backgroundMaxWaitMs` old.
   */
  private arm(): void {
    if (!this.pending.length || this.departed) return this.unschedule();
    const now = this.o.now();
    let oldest = Infinity;
    let oldestUrgent = Infinity;
    for (const m of this.pending) {
      const t = stamp(m, now);
      oldest = Math.min(oldest, t);
      if (!this.isBackground(m)) oldestUrgent = Math.min(oldestUrgent, t);
    }
    // Never below maxWaitMs: a background message is never more pressing than an urgent one.
    const backgroundWait = Math.max(this.o.maxWaitMs, this.o.backgroundMaxWaitMs);
    // Clamped so a message stamped in the future (clock change) cannot hold the queue back.
    const urgentDue = oldestUrgent === Infinity ? Infinity : Math.min(oldestUrgent, now) + this.o.maxWaitMs;
    const due = this.retryAt || Math.min(urgentDue, Math.min(oldest, now) + backgroundWait);
    if (this.timer !== null && this.timerDue === due) return;
    this.unschedule();
    this.timerDue = due;
    this.timer = this.o.setTimer(() => {
      this.timer = null;
      void this.flush();
    }, Math.max(0, due - now));
  }

  /** Autocapture noise that may wait `backgroundMaxWaitMs` (a track event named in `backgroundEvents`). */
  private isBackground(message: Message): boolean {
    return message.type === "track" && typeof message.event === "string" && this.background.has(message.event);
  }

  private unschedule(): void {
    if (this.timer !== null) this.o.clearTimer(this.timer);
    this.timer = null;
  }
}

function parse(raw: string | null): unknown {
  try {
    return JSON.parse(raw || "null");
  } catch {
    return null;
  }
}

/** When a message was recorded (ms); an unreadable timestamp counts as now. */
function stamp(message: Message, now: number): number {
  const t = Date.parse(message.timestamp);
  return Number.isFinite(t) ? t : now;
}
