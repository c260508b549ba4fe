import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import * as t from "../.test-build/internals.mjs";

test("GPC and DNT keep marketing and personalization refused; analytics stays the visitor's choice", () => {
  const all = { analytics: true, marketing: true, personalization: true };
  assert.deepEqual(t.applyConsent(t.REFUSED, all, { gpc: false, dnt: false }), all);
  assert.deepEqual(t.applyConsent(t.REFUSED, all, { gpc: true, dnt: false }), { analytics: true, marketing: false, personalization: false });
  assert.deepEqual(t.applyConsent(t.REFUSED, all, { gpc: false, dnt: true }), { analytics: true, marketing: false, personalization: false });
  assert.deepEqual(t.applyConsent(all, { marketing: false }, { gpc: false, dnt: false }), { ...all, marketing: false }, "partial choices merge");
  assert.deepEqual(t.consentContext(t.REFUSED, { gpc: true, dnt: false }), { ...t.REFUSED, gpc: true });
});

test("signals are read from navigator", () => {
  assert.deepEqual(t.readSignals({ globalPrivacyControl: true }), { gpc: true, dnt: false });
  assert.deepEqual(t.readSignals({ doNotTrack: "1" }), { gpc: false, dnt: true });
  assert.deepEqual(t.readSignals({}), { gpc: false, dnt: false });
});

test("stored consent is read defensively", () => {
  assert.equal(t.parseStoredConsent(null), null);
  assert.equal(t.parseStoredConsent("{oops"), null);
  assert.deepEqual(t.parseStoredConsent('{"analytics":true}'), { analytics: true, marketing: false, personalization: false });
});

test("rage clicks need three quick clicks in one place", () => {
  const r = new t.RageClickDetector();
  assert.equal(r.click(10, 10, 0), null);
  assert.equal(r.click(12, 11, 200), null);
  assert.equal(r.click(11, 9, 400), 3);
  assert.equal(r.click(11, 9, 500), null, "the burst was reported and reset");
  const slow = new t.RageClickDetector();
  slow.click(0, 0, 0);
  slow.click(0, 0, 900);
  assert.equal(slow.click(0, 0, 1800), null, "too slow");
  const apart = new t.RageClickDetector();
  apart.click(0, 0, 0);
  apart.click(100, 0, 100);
  assert.equal(apart.click(200, 0, 200), null, "too far apart");
});

test("scroll milestones are reported once each", () => {
  const seen = new Set();
  assert.equal(t.scrollPercent(0, 500, 2000), 25);
  assert.deepEqual(t.newMilestones(t.scrollPercent(0, 500, 2000), seen), [25]);
  assert.deepEqual(t.newMilestones(80, seen), [50, 75]);
  assert.deepEqual(t.newMilestones(80, seen), []);
  assert.deepEqual(t.newMilestones(99, seen), [100]);
  assert.equal(t.scrollPercent(0, 500, 0), 100);
});

test("a form summary has names, types and a count, never a value", () => {
  const fields = [
    { tagName: "INPUT", type: "text", name: "name", value: "Ada Lovelace" },
    { tagName: "INPUT", type: "email", name: "email", value: "ada@example.com" },
    { tagName: "SELECT", type: "select-one", name: "device", value: "iphone" },
    { tagName: "INPUT", type: "hidden", name: "csrf", value: "secret" },
    { tagName: "BUTTON", type: "submit", name: "go", value: "Book" },
    { tagName: "TEXTAREA", type: "textarea", id: "notes", value: "cracked screen" },
  ];
  const summary = t.formSummary(fields);
  assert.deepEqual(summary, {
    field_names: ["name", "email", "device", "notes"],
    field_types: ["text", "email", "select-one", "textarea"],
    field_count: 4,
  });
  const text = JSON.stringify(summary);
  for (const f of fields) assert.ok(!text.includes(f.value), `${f.value} leaked`);
});

test("exit intent is the pointer leaving through the top", () => {
  assert.equal(t.isExitIntent(-1, null), true);
  assert.equal(t.isExitIntent(0, null), true);
  assert.equal(t.isExitIntent(300, null), false);
  assert.equal(t.isExitIntent(-1, {}), false);
});

test("CLS takes the worst session window; INP the longest interaction", () => {
  const cls = new t.ClsAccumulator();
  cls.add(0.1, 0, false);
  cls.add(0.1, 500, false);
  cls.add(0.5, 500, true);
  cls.add(0.05, 3000, false);
  assert.ok(Math.abs(cls.value - 0.2) < 1e-9);
  const inp = new t.InpAccumulator();
  assert.equal(inp.value, null);
  inp.add(1, 40);
  inp.add(1, 80);
  inp.add(2, 120);
  inp.add(0, 900);
  assert.equal(inp.value, 120);
});

test("the linker parameter is short-lived and well-formed", () => {
  const now = Date.now();
  const value = t.encodeLinker("3f1c2a5e-1111-4222-8333-444455556666", now);
  assert.equal(t.decodeLinker(value, now + 1000), "3f1c2a5e-1111-4222-8333-444455556666");
  assert.equal(t.decodeLinker(value, now + t.LINKER_TTL_MS + 2000), null, "expired");
  assert.equal(t.decodeLinker("<script>.abc", now), null);
  assert.equal(t.decodeLinker(null, now), null);
  assert.ok(t.isLinkedHost("book.revivatech.com", "revivatech.co.uk", ["revivatech.com"]));
  assert.ok(!t.isLinkedHost("revivatech.co.uk", "revivatech.co.uk", ["revivatech.co.uk"]));
  assert.ok(!t.isLinkedHost("evil.example", "revivatech.co.uk", ["revivatech.com"]));
});

test("campaigns: UTM tags and click ids apart; parameters can be stripped", () => {
  const c = t.parseCampaign("?utm_source=google&utm_medium=cpc&utm_campaign=q4&gclid=abc&x=1");
  assert.deepEqual(c.campaign, { source: "google", medium: "cpc", name: "q4" });
  assert.deepEqual(c.clickIds, { gclid: "abc" });
  assert.equal(t.withoutParams("https://s.example/p?a=1&gclid=z&_rvl=q", ["gclid", "_rvl"]), "https://s.example/p?a=1");
  assert.equal(t.withoutParams("https://s.example/p?a=1", ["gclid"]), "https://s.example/p?a=1");
});

test("uuid is v4-shaped and unique", () => {
  const ids = new Set(Array.from({ length: 100 }, () => t.uuid()));
  assert.equal(ids.size, 100);
  for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test("the core bundles stay within 12 KB gzipped; the fingerprint module is separate", () => {
  for (const file of ["dist/reviva.js", "dist/reviva.mjs"]) {
    assert.ok(existsSync(file), `${file} is built`);
    const size = gzipSync(readFileSync(file), { level: 9 }).length;
    assert.ok(size <= 12 * 1024, `${file} is ${size} B gzipped`);
    assert.ok(!readFileSync(file, "utf8").includes("thumbmark"), `${file} must not bundle ThumbmarkJS`);
  }
  assert.ok(readFileSync("dist/reviva-fingerprint.mjs", "utf8").length > 10_000);
});
