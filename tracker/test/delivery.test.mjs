import { test } from "node:test";
import assert from "node:assert/strict";
import { Delivery, QUEUE_KEY, memoryKV } from "../.test-build/internals.mjs";

let seq = 0;
const msg = (t = Date.now()) => ({ type: "track", event: "E", messageId: `m${++seq}`, timestamp: new Date(t).toISOString() });

function harness(overrides = {}) {
  const requests = [];
  const beacons = [];
  const timers = [];
  let statuses = overrides.statuses || [];
  let online = true;
  const d = new Delivery({
    url: "https://api.example/v1/batch",
    writeKey: "wk",
    fetch: async (url, init) => {
      requests.push({ url, init, body: JSON.parse(init.body) });
      const status = statuses.length ? statuses.shift() : 200;
      if (status === "network") throw new TypeError("Failed to fetch");
      return { status, headers: { get: () => null } };
    },
    beacon: (url, blob) => {
      beacons.push(blob);
      return overrides.beaconOk ?? true;
    },
    setTimer: (fn, ms) => (timers.push({ fn, ms }), timers.length),
    clearTimer: () => {},
    online: () => online,
    random: () => 0.5,
    flushAt: 5,
    ...overrides.options,
  });
  return { d, requests, beacons, timers, setOnline: (v) => (online = v) };
}

test("a batch carries the write key, sentAt at send time, and goes as text/plain", async () => {
  const { d, requests } = harness();
  d.enqueue(msg());
  await d.flush();
  assert.equal(requests.length, 1);
  const { init, body } = requests[0];
  assert.equal(init.headers["Content-Type"], "text/plain");
  assert.equal(body.writeKey, "wk");
  assert.ok(Math.abs(Date.parse(body.sentAt) - Date.now()) < 2000);
  assert.equal(body.batch.length, 1);
});

test("flushAt messages trigger a send; fewer wait for the timer", async () => {
  const { d, requests, timers } = harness();
  for (let i = 0; i < 4; i++) d.enqueue(msg());
  assert.equal(requests.length, 0);
  assert.ok(timers.length >= 1, "a flush is scheduled");
  d.enqueue(msg());
  await d.flush();
  assert.equal(requests.length, 1);
  assert.equal(requests[0].body.batch.length, 5);
});

test("failures are retried with backoff and every message is delivered exactly once", async () => {
  const { d, requests, timers } = harness({ statuses: [503, "network", 200] });
  const sent = [msg(), msg(), msg()];
  sent.forEach((m) => d.enqueue(m));
  await d.flush();
  assert.equal(requests.length, 1);
  assert.equal(d.pending.length, 3, "kept after a 503");
  const firstDelay = timers.at(-1).ms;
  await d.flush();
  const secondDelay = timers.at(-1).ms;
  assert.ok(secondDelay > firstDelay, `backoff grows (${firstDelay} → ${secondDelay})`);
  await d.flush();
  assert.equal(d.pending.length, 0);
  await d.flush();
  assert.equal(requests.length, 3, "nothing is sent after the success");
  const delivered = requests.at(-1).body.batch.map((m) => m.messageId);
  assert.deepEqual(delivered, sent.map((m) => m.messageId));
  // Every attempt carried the same messageIds: the server de-duplicates a retried success.
  for (const r of requests) assert.deepEqual(r.body.batch.map((m) => m.messageId), delivered);
});

test("a 400 is not retried (the server kept the valid messages)", async () => {
  const { d, requests } = harness({ statuses: [400] });
  d.enqueue(msg());
  await d.flush();
  await d.flush();
  assert.equal(requests.length, 1);
  assert.equal(d.pending.length, 0);
});

test("offline nothing is tried; back online the queue goes once", async () => {
  const { d, requests, setOnline } = harness();
  setOnline(false);
  d.enqueue(msg());
  d.enqueue(msg());
  await d.flush();
  assert.equal(requests.length, 0);
  setOnline(true);
  d.online();
  await d.flush();
  assert.equal(requests.length, 1);
  assert.equal(requests[0].body.batch.length, 2);
  d.online();
  await d.flush();
  assert.equal(requests.length, 1);
});

test("beacons take the queue in chunks under 64 KB; a refused beacon keeps its messages", async () => {
  const { d, beacons } = harness({ options: { flushAt: 10_000 } });
  for (let i = 0; i < 300; i++) d.enqueue({ ...msg(), properties: { pad: "x".repeat(500) } });
  d.flushBeacon();
  assert.ok(beacons.length >= 3);
  for (const blob of beacons) {
    assert.equal(blob.type, "text/plain");
    assert.ok(blob.size < 64 * 1024);
  }
  assert.equal(d.pending.length, 0);
  const refusing = harness({ beaconOk: false });
  refusing.d.enqueue(msg());
  refusing.d.flushBeacon();
  assert.equal(refusing.d.pending.length, 1);
});

test("without a store nothing is written; with one the queue is mirrored, capped, and erased on withdrawal", async () => {
  const kv = memoryKV();
  const { d } = harness({ statuses: ["network"], options: { maxQueue: 10, flushAt: 1000 } });
  for (let i = 0; i < 3; i++) d.enqueue(msg());
  assert.deepEqual(kv.keys(), []);
  d.setStore(kv);
  assert.deepEqual(kv.keys(), [d.key], "one record, this page's");
  assert.equal(JSON.parse(kv.get(d.key)).batch.length, 3);
  for (let i = 0; i < 20; i++) d.enqueue(msg());
  assert.equal(JSON.parse(kv.get(d.key)).batch.length, 10, "count cap");
  assert.equal(d.dropped, 13);
  d.setStore(null);
  assert.deepEqual(kv.keys(), []);
});

test("the byte cap keeps the stored queue small", () => {
  const kv = memoryKV();
  const { d } = harness({ options: { maxQueueBytes: 5000, flushAt: 1000 } });
  d.setStore(kv);
  for (let i = 0; i < 50; i++) d.enqueue({ ...msg(), properties: { pad: "y".repeat(400) } });
  assert.ok(kv.get(d.key).length <= 5000 + 100, "the record is the capped queue plus a few bytes of envelope");
  assert.ok(d.pending.length < 50 && d.pending.length > 0);
});

test("a queue stored by an earlier tracker version (one shared key) is restored without duplicates", async () => {
  const kv = memoryKV();
  const earlier = [msg(), msg()];
  kv.set(QUEUE_KEY, JSON.stringify(earlier));
  const { d, requests } = harness();
  d.enqueue(earlier[0]);
  d.setStore(kv);
  await d.flush();
  const ids = requests.flatMap((r) => r.body.batch.map((m) => m.messageId));
  assert.deepEqual(ids.sort(), earlier.map((m) => m.messageId).sort());
  assert.deepEqual(kv.keys(), [], "delivered messages leave storage");
});

test("messages older than the age limit are dropped", () => {
  const { d } = harness({ options: { flushAt: 1000 } });
  d.enqueue(msg(Date.now() - 8 * 24 * 3600 * 1000));
  d.enqueue(msg());
  assert.equal(d.pending.length, 1);
});

test("the timer is due at min(oldest urgent + maxWaitMs, oldest of any kind + backgroundMaxWaitMs)", () => {
  const t0 = Date.UTC(2025, 0, 6, 12);
  let now = t0;
  const { d, timers } = harness({ options: { now: () => now, maxWaitMs: 30_000, backgroundMaxWaitMs: 120_000, flushAt: 100 } });
  const at = (t, event) => ({ ...msg(t), event });
  d.enqueue(at(t0, "Scroll Depth Reached"));
  assert.equal(timers.at(-1).ms, 120_000, "only background: the oldest's backgroundMaxWaitMs");
  const armed = timers.length;
  now = t0 + 10_000;
  d.enqueue(at(now, "Element Clicked"));
  assert.equal(timers.length, armed, "a newer background message does not push it back (same due time)");
  now = t0 + 20_000;
  d.enqueue(at(now, "CTA Clicked"));
  assert.equal(timers.at(-1).ms, 30_000, "an urgent message: maxWaitMs after it");

  const early = harness({ options: { now: () => t0 + 100_000, maxWaitMs: 30_000, backgroundMaxWaitMs: 120_000 } });
  early.d.enqueue(at(t0, "Web Vitals"));
  early.d.enqueue({ ...msg(t0 + 100_000), type: "page" });
  assert.equal(early.timers.at(-1).ms, 20_000, "the background deadline (120 s) comes before the page view's (130 s)");
});
