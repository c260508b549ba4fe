// The delivery policy on a fake clock: when a request goes, what it carries, and how a queue
// crosses pages through storage without being sent twice or lost.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  DELIVERY_POLICY,
  Delivery,
  QUEUE_PREFIX,
  isInternalLinkClick,
  isInternalSubmit,
  loadsSameOriginPage,
  memoryKV,
} from "../.test-build/internals.mjs";

const POLICY = JSON.parse(readFileSync(new URL("../delivery-policy.json", import.meta.url), "utf8"));
const DAY = 24 * 3600 * 1000;
const BACKGROUND = ["Page Performance", "Web Vitals", "Scroll Depth Reached", "Element Clicked", "Form Field Focused", "Rage Click", "Exit Intent"];
const URGENT_EVENTS = ["CTA Clicked", "Form Submitted", "Session Started", "Consent Updated"];

/** A browser for one or more pages: one clock, one localStorage, one server log. */
function world(start = Date.UTC(2025, 0, 6, 12)) {
  let clock = start;
  const timers = new Map();
  let nextTimer = 1;
  const requests = [];
  const beacons = [];
  let seq = 0;
  const w = {
    kv: memoryKV(),
    requests,
    beacons,
    statuses: [],
    now: () => clock,
    msg: (at = clock) => ({ type: "track", event: "E", messageId: `m${++seq}`, timestamp: new Date(at).toISOString() }),
    page(options = {}, { store = true } = {}) {
      const d = new Delivery({
        url: "https://api.example/v1/batch",
        writeKey: "wk",
        now: () => clock,
        setTimer: (fn, ms) => {
          const id = nextTimer++;
          timers.set(id, { fn, at: clock + ms });
          return id;
        },
        clearTimer: (id) => timers.delete(id),
        random: () => 0.5,
        fetch: async (url, init) => {
          const status = w.statuses.length ? w.statuses.shift() : 200;
          if (status === "hang") return new Promise(() => {}); // a request still in flight when the page goes
          requests.push(JSON.parse(init.body));
          return { status, headers: { get: () => null } };
        },
        beacon: (url, blob) => {
          beacons.push(blob);
          return true;
        },
        ...options,
      });
      if (store) d.setStore(w.kv);
      return d;
    },
    /** Let time pass, firing due timers in order and letting their sends finish. */
    async advance(ms) {
      const end = clock + ms;
      for (;;) {
        await settle();
        const next = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!next) break;
        timers.delete(next[0]);
        clock = Math.max(clock, next[1].at);
        next[1].fn();
      }
      clock = end;
      await settle();
    },
    /** Every messageId the server received, by request and by beacon. */
    async deliveredIds() {
      const ids = requests.flatMap((r) => r.batch.map((m) => m.messageId));
      for (const blob of beacons) ids.push(...JSON.parse(await blob.text()).batch.map((m) => m.messageId));
      return ids;
    },
    records: () => w.kv.keys().filter((k) => k.startsWith(QUEUE_PREFIX)).map((k) => JSON.parse(w.kv.get(k))),
  };
  return w;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function assertExactlyOnce(ids, expected) {
  assert.equal(new Set(ids).size, ids.length, `a message was sent twice: ${ids}`);
  assert.deepEqual([...ids].sort(), [...expected].sort());
}

// ------------------------------------------------------------------------------ the JSON file

test("the defaults are delivery-policy.json's, with the keys the cost model reads", () => {
  assert.deepEqual(DELIVERY_POLICY, POLICY);
  assert.equal(POLICY.flushAt, 20);
  assert.equal(POLICY.maxWaitMs, 30000);
  assert.equal(POLICY.carryAcrossPages, true);
  assert.equal(POLICY.maxBatch, 100);
  assert.equal(POLICY.maxAgeMs, 7 * DAY);
  assert.equal(POLICY.backgroundMaxWaitMs, 120000);
  assert.deepEqual(POLICY.backgroundEvents, BACKGROUND);
});

test("every background event is one the tracker's autocapture sends; the business events are not background", () => {
  const source = readFileSync(new URL("../src/tracker.ts", import.meta.url), "utf8");
  for (const name of POLICY.backgroundEvents) assert.ok(source.includes(`this.track("${name}"`), `the tracker sends "${name}"`);
  for (const name of URGENT_EVENTS) assert.ok(!POLICY.backgroundEvents.includes(name), `"${name}" stays urgent`);
});

// ------------------------------------------------------------------------------ when a request goes

test("a request goes when flushAt messages are queued, carrying all of them", async () => {
  const w = world();
  const d = w.page();
  for (let i = 0; i < POLICY.flushAt - 1; i++) d.enqueue(w.msg());
  await w.advance(0);
  assert.equal(w.requests.length, 0, "one message short of flushAt: nothing yet");
  d.enqueue(w.msg());
  await w.advance(0);
  assert.equal(w.requests.length, 1);
  assert.equal(w.requests[0].batch.length, POLICY.flushAt);
  assert.deepEqual(w.kv.keys(), [], "the delivered queue leaves storage");
});

test("the timer runs from the oldest message: newer messages do not push it back", async () => {
  const w = world();
  const d = w.page();
  d.enqueue(w.msg());
  await w.advance(10_000);
  d.enqueue(w.msg());
  await w.advance(10_000);
  d.enqueue(w.msg());
  await w.advance(POLICY.maxWaitMs - 20_000 - 1);
  assert.equal(w.requests.length, 0, "the oldest has waited 1 ms less than maxWaitMs");
  await w.advance(1);
  assert.equal(w.requests.length, 1, "sent when the oldest is maxWaitMs old");
  assert.equal(w.requests[0].batch.length, 3);
  // The next message starts a new wait of its own.
  d.enqueue(w.msg());
  await w.advance(POLICY.maxWaitMs - 1);
  assert.equal(w.requests.length, 1);
  await w.advance(1);
  assert.equal(w.requests.length, 2);
});

test("flushInterval still works as the former name of maxWaitMs; maxWaitMs wins when both are given", async () => {
  const w = world();
  const old = w.page({ flushInterval: 5000 }, { store: false });
  old.enqueue(w.msg());
  await w.advance(4999);
  assert.equal(w.requests.length, 0);
  await w.advance(1);
  assert.equal(w.requests.length, 1);
  const both = w.page({ flushInterval: 5000, maxWaitMs: 8000 }, { store: false });
  both.enqueue(w.msg());
  await w.advance(5000);
  assert.equal(w.requests.length, 1);
  await w.advance(3000);
  assert.equal(w.requests.length, 2);
});

test("undefined options keep the defaults (init passes every option through)", async () => {
  const w = world();
  const d = w.page({ flushAt: undefined, maxWaitMs: undefined, flushInterval: undefined, maxBatch: undefined });
  d.enqueue(w.msg());
  await w.advance(1000);
  assert.equal(w.requests.length, 0, "an undefined flushInterval is not a 0 ms timer");
});

test("a request carries at most maxBatch messages, oldest first", async () => {
  const w = world();
  const d = w.page({ flushAt: 1000, maxQueue: 1000 });
  const sent = Array.from({ length: 250 }, () => w.msg());
  sent.forEach((m) => d.enqueue(m));
  await d.flush();
  assert.deepEqual(w.requests.map((r) => r.batch.length), [100, 100, 50]);
  assertExactlyOnce(await w.deliveredIds(), sent.map((m) => m.messageId));
  assert.equal(w.requests[0].batch[0].messageId, sent[0].messageId);
});

test("after a failure the retry waits for its backoff even when flushAt more messages arrive", async () => {
  const w = world();
  const d = w.page({ flushAt: 3 });
  w.statuses.push(503);
  for (let i = 0; i < 3; i++) d.enqueue(w.msg());
  await w.advance(0);
  assert.equal(w.requests.length, 1);
  for (let i = 0; i < 5; i++) d.enqueue(w.msg());
  await w.advance(999);
  assert.equal(w.requests.length, 1, "no request storm while the server is failing");
  await w.advance(1);
  assert.equal(w.requests.length, 2);
  assert.equal(w.requests[1].batch.length, 8);
});

// ------------------------------------------------------------------------------ background messages wait longer

/** An autocapture message that is not business-critical (named in backgroundEvents). */
const background = (w, at, event = "Web Vitals") => ({ ...w.msg(at), event });

test("a queue of background messages alone waits backgroundMaxWaitMs from its oldest, not maxWaitMs", async () => {
  const w = world();
  const d = w.page();
  const queued = [background(w), background(w, undefined, "Scroll Depth Reached")];
  queued.forEach((m) => d.enqueue(m));
  await w.advance(50_000);
  const later = background(w, undefined, "Page Performance");
  d.enqueue(later); // newer background messages do not push the timer back
  await w.advance(POLICY.backgroundMaxWaitMs - 50_000 - 1);
  assert.equal(w.requests.length, 0, "past maxWaitMs, 1 ms short of backgroundMaxWaitMs: nothing yet");
  await w.advance(1);
  assert.equal(w.requests.length, 1, "sent when the oldest is backgroundMaxWaitMs old");
  assert.deepEqual(w.requests[0].batch.map((m) => m.messageId), [...queued, later].map((m) => m.messageId));
});

test("an urgent message pulls the whole queue forward: it goes within maxWaitMs of the urgent one", async () => {
  const w = world();
  const d = w.page();
  const early = background(w);
  d.enqueue(early);
  await w.advance(40_000);
  const urgent = w.msg(); // a business event ("E")
  d.enqueue(urgent);
  await w.advance(POLICY.maxWaitMs - 1);
  assert.equal(w.requests.length, 0);
  await w.advance(1);
  assert.equal(w.requests.length, 1, "maxWaitMs after the urgent message, background messages included");
  assert.deepEqual(w.requests[0].batch.map((m) => m.messageId), [early.messageId, urgent.messageId]);

  // When the oldest background message's deadline comes first, it wins (min of the two).
  const old = background(w);
  d.enqueue(old);
  await w.advance(POLICY.backgroundMaxWaitMs - 10_000);
  d.enqueue(w.msg());
  await w.advance(10_000 - 1);
  assert.equal(w.requests.length, 1);
  await w.advance(1);
  assert.equal(w.requests.length, 2, "backgroundMaxWaitMs after the oldest, before the urgent one's maxWaitMs");
});

test("page, identify, alias, group and the business track events are urgent; the autocapture noise is background", async () => {
  const kinds = [
    ...BACKGROUND.map((event) => ({ type: "track", event, urgent: false })),
    ...URGENT_EVENTS.map((event) => ({ type: "track", event, urgent: true })),
    ...["page", "identify", "alias", "group"].map((type) => ({ type, urgent: true })),
  ];
  for (const { type, event, urgent } of kinds) {
    const w = world();
    const d = w.page();
    const { event: _e, ...base } = w.msg();
    d.enqueue(event ? { ...base, type, event } : { ...base, type });
    await w.advance(POLICY.maxWaitMs);
    assert.equal(w.requests.length, urgent ? 1 : 0, `${type} ${event ?? ""} at maxWaitMs`);
    await w.advance(POLICY.backgroundMaxWaitMs - POLICY.maxWaitMs);
    assert.equal(w.requests.length, 1, `${type} ${event ?? ""} by backgroundMaxWaitMs`);
  }
});

test("backgroundMaxWaitMs 0 or equal to maxWaitMs, or no backgroundEvents, makes every message urgent", async () => {
  for (const options of [{ backgroundMaxWaitMs: 0 }, { backgroundMaxWaitMs: POLICY.maxWaitMs }, { backgroundEvents: [] }]) {
    const w = world();
    const d = w.page(options);
    d.enqueue(background(w));
    await w.advance(POLICY.maxWaitMs - 1);
    assert.equal(w.requests.length, 0, JSON.stringify(options));
    await w.advance(1);
    assert.equal(w.requests.length, 1, `${JSON.stringify(options)}: sent at maxWaitMs`);
  }
  const w = world();
  const d = w.page({ maxWaitMs: 1000, backgroundMaxWaitMs: 5000, backgroundEvents: ["Custom Noise"] });
  d.enqueue(background(w, undefined, "Custom Noise"));
  d.enqueue(background(w)); // "Web Vitals" is urgent under this list
  await w.advance(1000);
  assert.equal(w.requests.length, 1, "init options override both keys");
});

test("background messages count towards flushAt and leave with the page as before", async () => {
  const w = world();
  const d = w.page();
  for (let i = 0; i < POLICY.flushAt; i++) d.enqueue(background(w));
  await w.advance(0);
  assert.equal(w.requests.length, 1, "flushAt background messages go at once");
  const closed = w.page();
  closed.enqueue(background(w));
  closed.leave(true);
  assert.equal(w.beacons.length, 1, "leaving the page beacons a background-only queue");
});

test("a carried background-only queue keeps its age: the next page sends it at backgroundMaxWaitMs or with its urgent messages", async () => {
  const w = world();
  const first = w.page();
  const carried = background(w);
  first.enqueue(carried);
  await w.advance(POLICY.maxWaitMs + 1000);
  first.navigating();
  first.leave(true);
  const second = w.page();
  await w.advance(0);
  assert.equal(w.requests.length, 0, "older than maxWaitMs, but only background");
  await w.advance(POLICY.backgroundMaxWaitMs - POLICY.maxWaitMs - 1000);
  assert.equal(w.requests.length, 1);
  assert.deepEqual(w.requests[0].batch.map((m) => m.messageId), [carried.messageId]);

  const third = w.page();
  const noise = background(w, undefined, "Scroll Depth Reached");
  third.enqueue(noise);
  third.navigating();
  third.leave(true);
  await w.advance(500);
  const fourth = w.page();
  const view = { ...w.msg(), type: "page" };
  fourth.enqueue(view);
  await w.advance(POLICY.maxWaitMs - 1);
  assert.equal(w.requests.length, 1);
  await w.advance(1);
  assert.equal(w.requests.length, 2, "the next page's page view took the carried noise along");
  assert.deepEqual(w.requests[1].batch.map((m) => m.messageId), [noise.messageId, view.messageId]);
  void second;
});

// ------------------------------------------------------------------------------ leaving the page

test("a same-origin navigation with storage hands the queue to the next page: no beacon", async () => {
  const w = world();
  const first = w.page();
  const onFirst = [w.msg(), w.msg(), w.msg()];
  onFirst.forEach((m) => first.enqueue(m));
  first.navigating();
  await w.advance(200);
  first.leave(true); // pagehide
  first.leave(false); // then visibilitychange → hidden, as browsers order them on a navigation
  assert.equal(w.beacons.length + w.requests.length, 0);
  const [record] = w.records();
  assert.equal(record.carry, true);
  assert.deepEqual(record.batch.map((m) => m.messageId), onFirst.map((m) => m.messageId));
  await first.flush();
  assert.equal(w.requests.length, 0, "the page that handed its queue over sends nothing more");

  await w.advance(300);
  const second = w.page();
  assert.deepEqual(w.records().map((r) => r.carry), [undefined], "the next page took the record over as its own");
  assert.equal(second.pending.length, 3);
  const onSecond = Array.from({ length: POLICY.flushAt - 3 }, () => w.msg());
  onSecond.forEach((m) => second.enqueue(m));
  await w.advance(0);
  assert.equal(w.requests.length, 1, "one full request for two pages");
  assertExactlyOnce(await w.deliveredIds(), [...onFirst, ...onSecond].map((m) => m.messageId));
});

test("hidden before the pagehide (navigation under way) beacons nothing; the pagehide hands the queue over", async () => {
  const w = world();
  const d = w.page();
  d.enqueue(w.msg());
  d.navigating();
  d.leave(false);
  assert.equal(w.beacons.length, 0);
  assert.equal(w.records()[0].carry, undefined, "not handed over yet: the navigation may still be cancelled");
  d.leave(true);
  assert.equal(w.records()[0].carry, true);
  assert.equal(w.beacons.length + w.requests.length, 0);
});

test("the carried messages' age keeps counting: the next page sends at once when the oldest is due", async () => {
  const w = world();
  const first = w.page();
  const early = w.msg();
  first.enqueue(early);
  await w.advance(POLICY.maxWaitMs - 1000);
  first.navigating();
  first.leave(true);
  await w.advance(999);
  const second = w.page();
  await w.advance(0);
  assert.equal(w.requests.length, 0, "1 ms left");
  await w.advance(1);
  assert.equal(w.requests.length, 1);
  assert.deepEqual(w.requests[0].batch.map((m) => m.messageId), [early.messageId]);

  const late = w.page();
  late.enqueue(w.msg());
  late.navigating();
  late.leave(true);
  await w.advance(POLICY.maxWaitMs + 5000); // a slow next page
  w.page();
  await w.advance(0);
  assert.equal(w.requests.length, 2, "already older than maxWaitMs: sent on load");
});

test("without storage (no consent) a same-origin navigation still beacons", async () => {
  const w = world();
  const d = w.page({}, { store: false });
  d.enqueue(w.msg());
  d.navigating();
  assert.equal(d.carries(), false);
  d.leave(true);
  assert.equal(w.beacons.length, 1);
  assert.deepEqual(w.kv.keys(), []);
});

test("tab closed, tab hidden, external link, back/forward: no navigation flag, so the queue is beaconed", async () => {
  const w = world();
  const hidden = w.page();
  hidden.enqueue(w.msg());
  hidden.leave(false);
  assert.equal(w.beacons.length, 1, "a hidden tab may never come back");
  assert.deepEqual(w.records(), []);
  const closed = w.page();
  closed.enqueue(w.msg());
  closed.leave(true);
  assert.equal(w.beacons.length, 2);
  assert.deepEqual(w.records(), [], "nothing is left for a next page: sent once, by beacon");
});

test("a stale navigation flag (the navigation never happened) is forgotten", async () => {
  const w = world();
  const d = w.page();
  d.enqueue(w.msg());
  d.navigating(); // e.g. a link whose navigation a script cancelled
  await w.advance(POLICY.navigationTtlMs);
  assert.equal(d.carries(), true, "still fresh at the limit");
  await w.advance(1);
  assert.equal(d.carries(), false);
  d.leave(true);
  assert.equal(w.beacons.length, 1);
});

test("a single-page-app route change is not a page leave: the flag is cleared", () => {
  const w = world();
  const d = w.page();
  d.enqueue(w.msg());
  d.navigating();
  d.stayed();
  d.leave(true);
  assert.equal(w.beacons.length, 1);
});

test("carryAcrossPages false beacons on every leave", () => {
  const w = world();
  const d = w.page({ carryAcrossPages: false });
  d.enqueue(w.msg());
  d.navigating();
  d.leave(true);
  assert.equal(w.beacons.length, 1);
});

test("storage refusing the handed-over record falls back to the beacon", () => {
  const w = world();
  const d = w.page();
  d.enqueue(w.msg());
  w.kv.set = () => false; // quota exceeded
  d.navigating();
  d.leave(true);
  assert.equal(w.beacons.length, 1);
});

test("if the next page never loads, the next visit sends the record; past maxAgeMs it is dropped", async () => {
  const w = world();
  const d = w.page();
  const kept = [w.msg(), w.msg()];
  kept.forEach((m) => d.enqueue(m));
  d.navigating();
  d.leave(true); // …to a page without the tracker, then the browser was closed
  await w.advance(3 * DAY);
  const visit = w.page();
  await w.advance(0);
  assertExactlyOnce(await w.deliveredIds(), kept.map((m) => m.messageId));
  assert.deepEqual(w.kv.keys(), []);

  const old = w.page();
  old.enqueue(w.msg());
  old.navigating();
  old.leave(true);
  await w.advance(POLICY.maxAgeMs + 1);
  const much_later = w.page();
  await w.advance(0);
  assert.equal(w.requests.length, 1, "older than maxAgeMs: dropped, not sent");
  assert.equal(much_later.dropped, 1);
  assert.deepEqual(w.kv.keys(), []);
  void visit;
});

test("a keepalive request in flight when the page goes is not handed over again", async () => {
  const w = world();
  const d = w.page({ flushAt: 2 });
  w.statuses.push("hang");
  const inFlight = [w.msg(), w.msg()];
  inFlight.forEach((m) => d.enqueue(m));
  await w.advance(0);
  const queued = w.msg();
  d.enqueue(queued);
  d.navigating();
  d.leave(true);
  const [record] = w.records();
  assert.deepEqual(record.batch.map((m) => m.messageId), [queued.messageId], "the browser delivers the keepalive request");
});

test("back/forward cache: the page that handed its queue over does not send it again", async () => {
  const w = world();
  const first = w.page();
  const sent = [w.msg(), w.msg()];
  sent.forEach((m) => first.enqueue(m));
  first.navigating();
  first.leave(true);
  const second = w.page();
  await second.flush();
  second.leave(true); // back button: no flag, beacon (nothing left)
  first.resume(); // restored from the back/forward cache
  await first.flush();
  await w.advance(POLICY.maxWaitMs);
  assertExactlyOnce(await w.deliveredIds(), sent.map((m) => m.messageId));
});

test("back/forward cache: a handed-over queue no page took goes from the restored page, once", async () => {
  const w = world();
  const first = w.page();
  const sent = [w.msg(), w.msg()];
  sent.forEach((m) => first.enqueue(m));
  first.navigating();
  first.leave(true); // to a page without the tracker
  first.resume();
  await w.advance(POLICY.maxWaitMs);
  assertExactlyOnce(await w.deliveredIds(), sent.map((m) => m.messageId));
  assert.deepEqual(w.kv.keys(), []);
});

test("tabs keep separate records: a new page takes neither a live tab's queue nor overwrites it", async () => {
  const w = world();
  const tabA = w.page({ flushAt: 100, maxWaitMs: 3_600_000 });
  const fromA = [w.msg(), w.msg()];
  fromA.forEach((m) => tabA.enqueue(m));
  const tabB = w.page({ flushAt: 100, maxWaitMs: 3_600_000 });
  assert.equal(tabB.pending.length, 0, "tab A is alive: its record is not B's to take");
  const fromB = w.msg();
  tabB.enqueue(fromB);
  assert.equal(w.records().length, 2);

  // Tab A stops writing (it died without a pagehide, or sits offline); a later page takes its record.
  await w.advance(POLICY.orphanAfterMs + 1);
  const tabC = w.page();
  assert.deepEqual(tabC.pending.map((m) => m.messageId).sort(), [...fromA, fromB].map((m) => m.messageId).sort());
  await tabC.flush();
  await tabA.flush(); // A was alive after all: it must not send what C took
  await tabB.flush();
  assertExactlyOnce(await w.deliveredIds(), [...fromA, fromB].map((m) => m.messageId));
});

test("a record handed over after the next page loaded is picked up by its next send", async () => {
  const w = world();
  const next = w.page({ flushAt: 3 });
  const late = w.page(); // e.g. its pagehide ran after the next page's script
  const handed = w.msg();
  late.enqueue(handed);
  late.navigating();
  late.leave(true);
  const own = [w.msg(), w.msg(), w.msg()];
  own.forEach((m) => next.enqueue(m));
  await w.advance(0);
  assert.equal(w.requests.length, 1);
  assertExactlyOnce(await w.deliveredIds(), [handed, ...own].map((m) => m.messageId));
});

// ------------------------------------------------------------------------------ which leaves are navigations

test("only primary, unmodified clicks on same-origin links in this tab start a navigation", () => {
  const here = "https://shop.example/demo/?view=prices#top";
  const link = (href, extra = {}) => isInternalLinkClick({ href, target: null, download: false, button: 0, modified: false, ...extra }, here);
  assert.equal(link("https://shop.example/demo/book.html"), true);
  assert.equal(link("/demo/book.html?service=x#form"), true);
  assert.equal(link("https://shop.example/demo/?view=prices"), true, "same URL without fragment reloads");
  assert.equal(link("https://shop.example/demo/book.html", { target: "_self" }), true);
  assert.equal(link("https://partner.example/"), false, "external");
  assert.equal(link("https://shop.example:8443/"), false, "another port is another origin");
  assert.equal(link("http://shop.example/demo/"), false, "another scheme is another origin");
  assert.equal(link("https://shop.example/demo/book.html", { target: "_blank" }), false);
  assert.equal(link("https://shop.example/demo/book.html", { download: true }), false);
  assert.equal(link("https://shop.example/demo/book.html", { modified: true }), false);
  assert.equal(link("https://shop.example/demo/book.html", { button: 1 }), false);
  assert.equal(link("#reviews"), false, "a fragment of this page");
  assert.equal(link("https://shop.example/demo/?view=prices#faq"), false);
  assert.equal(link("javascript:void(0)"), false);
  assert.equal(link("mailto:help@shop.example"), false);
  assert.equal(loadsSameOriginPage("not a url", "also not"), false);
});

test("form submits: same-origin action in this tab, not a dialog", () => {
  const here = "https://shop.example/demo/book.html#form";
  assert.equal(isInternalSubmit(null, null, null, here), true, "no action: this page, reloaded");
  assert.equal(isInternalSubmit("https://shop.example/search?q=x", "get", "", here), true);
  assert.equal(isInternalSubmit("https://pay.example/checkout", "post", null, here), false);
  assert.equal(isInternalSubmit("https://shop.example/search", "get", "_blank", here), false);
  assert.equal(isInternalSubmit(null, "dialog", null, here), false);
});
