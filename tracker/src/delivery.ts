/**
 * Delivery: batches messages to `<endpoint>/v1/batch` and loses none.
 *
 * - One request at a time; a batch is sent when `flushAt` messages wait or `flushInterval` passed.
 * - Bodies are text/plain JSON with the write key inside, so no CORS preflight is needed and
 *   `navigator.sendBeacon` can carry the same body on pagehide / hidden visibility.
 * - A message leaves the queue only when the server answered (2xx, or a 4xx that retrying cannot
 *   fix) or the browser took it for a beacon: nothing is sent twice after a success.
 * - Network errors, 429 and 5xx are retried with exponential backoff and jitter (Retry-After
 *   honoured); offline, nothing is tried until the browser is online again.
 * - The queue is mirrored into first-party storage only when a store is given (analytics consent),
 *   capped by message count and bytes so it can never fill the browser's storage.
 */

import type { KV } from "./util";
import { iso } from "./util";

export interface Message {
  type: string;
  messageId: string;
  timestamp: string;
  [key: string]: unknown;
}

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
  flushAt?: number;
  flushInterval?: number;
  maxQueue?: number;
  maxQueueBytes?: number;
  maxBatchBytes?: number;
  maxAgeMs?: number;
}

export const QUEUE_KEY = "reviva.queue";
const BEACON_LIMIT = 60_000; // browsers cap a page's in-flight beacon/keepalive bytes at 64 KiB
const MAX_BATCH = 100;

export class Delivery {
  pending: Message[] = [];
  inflight: Message[] = [];
  dropped = 0;
  sent = 0;
  attempts = 0;
  private store: KV | null = null;
  private timer: unknown = null;
  private sending: Promise<boolean> | null = null;
  private readonly o: Required<Omit<DeliveryOptions, "beacon">> & Pick<DeliveryOptions, "beacon">;

  constructor(options: DeliveryOptions) {
    this.o = {
      now: () => Date.now(),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      online: () => true,
      random: Math.random,
      flushAt: 20,
      flushInterval: 3000,
      maxQueue: 500,
      maxQueueBytes: 256_000,
      maxBatchBytes: 400_000,
      maxAgeMs: 7 * 24 * 3600 * 1000,
      ...options,
    };
  }

  /** Mirror the queue into `store` (consent granted) or stop and erase it (null: consent withdrawn). */
  setStore(store: KV | null): void {
    if (store === this.store) return;
    if (this.store && !store) this.store.remove(QUEUE_KEY);
    this.store = store;
    if (store) {
      // Messages an earlier page could not deliver (same origin, consent given there too).
      const restored = this.read(store);
      const known = new Set([...this.pending, ...this.inflight].map((m) => m.messageId));
      const fresh = restored.filter((m) => !known.has(m.messageId));
      if (fresh.length) {
        this.pending = [...fresh, ...this.pending];
        this.schedule(0);
      }
      this.persist();
    }
  }

  enqueue(message: Message): void {
    this.pending.push(message);
    this.cap();
    this.persist();
    if (this.pending.length >= this.o.flushAt) void this.flush();
    else this.schedule(this.o.flushInterval);
  }

  /** Send everything now, one batch after another; resolves when the queue is empty or a send failed. */
  async flush(): Promise<void> {
    while (this.pending.length || this.sending) {
      if (this.sending) {
        await this.sending;
        continue;
      }
      if (!this.o.online()) return;
      const ok = await (this.sending = this.sendOne().finally(() => (this.sending = null)));
      if (!ok) return;
    }
  }

  /** Hand every queued message to sendBeacon (page hidden or going away). */
  flushBeacon(): void {
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
    void this.flush();
  }

  private async sendOne(): Promise<boolean> {
    this.unschedule();
    const batch = this.take(this.o.maxBatchBytes);
    if (!batch.length) return true;
    this.inflight = batch;
    const body = this.body(batch);
    let status = 0;
    let retryAfter: string | null = null;
    try {
      const response = await this.o.fetch(this.o.url, {
        method: "POST",
        body,
        headers: { "Content-Type": "text/plain" },
        credentials: "omit",
        // Lets the request outlive the page when it is small enough to be allowed to.
        keepalive: body.length < BEACON_LIMIT,
      });
      status = response.status;
      retryAfter = response.headers?.get("Retry-After") ?? null;
    } catch {
      status = 0; // network error or offline
    }
    this.inflight = [];
    if (status === 0 || status === 408 || status === 429 || status >= 500) {
      this.pending = [...batch, ...this.pending];
      this.cap();
      this.persist();
      this.attempts += 1;
      const base = Math.min(60_000, 1000 * 2 ** Math.min(this.attempts - 1, 6));
      const hinted = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : 0;
      this.schedule(Math.max(hinted, base * (0.5 + this.o.random())));
      return false;
    }
    // 2xx, or a 4xx a retry cannot fix (400 lists the rejected messages; the others were kept).
    this.attempts = 0;
    this.sent += batch.length;
    this.persist();
    return true;
  }

  private take(maxBytes: number): Message[] {
    const out: Message[] = [];
    let bytes = 120;
    while (this.pending.length && out.length < MAX_BATCH) {
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

  /** Keep the queue within its count and byte caps, oldest first out. */
  private cap(): void {
    const cutoff = this.o.now() - this.o.maxAgeMs;
    const before = this.pending.length;
    this.pending = this.pending.filter((m) => Date.parse(m.timestamp) >= cutoff);
    while (this.pending.length > this.o.maxQueue) this.pending.shift();
    if (this.store) {
      while (this.pending.length && JSON.stringify(this.pending).length > this.o.maxQueueBytes) this.pending.shift();
    }
    this.dropped += before - this.pending.length;
  }

  private persist(): void {
    if (!this.store) return;
    const all = [...this.inflight, ...this.pending];
    if (!all.length) this.store.remove(QUEUE_KEY);
    else if (!this.store.set(QUEUE_KEY, JSON.stringify(all))) this.store.remove(QUEUE_KEY);
  }

  private read(store: KV): Message[] {
    try {
      const value = JSON.parse(store.get(QUEUE_KEY) || "[]");
      return Array.isArray(value) ? value.filter((m) => m && typeof m.messageId === "string") : [];
    } catch {
      return [];
    }
  }

  private schedule(ms: number): void {
    if (this.timer !== null) {
      if (ms > 0) return; // an earlier flush is already due
      this.unschedule();
    }
    this.timer = this.o.setTimer(() => {
      this.timer = null;
      void this.flush();
    }, ms);
  }

  private unschedule(): void {
    if (this.timer !== null) this.o.clearTimer(this.timer);
    this.timer = null;
  }
}
