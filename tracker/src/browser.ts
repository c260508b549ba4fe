/**
 * The <script> bundle: installs `window.reviva` and replays calls the snippet's stub queued.
 *
 * Configuration comes from `reviva.init(...)` or from the script tag's data attributes
 * (`data-write-key`, `data-endpoint`, `data-linker-domains`).
 */
import { Tracker, type InitOptions } from "./tracker";

type Call = [string, ...unknown[]];
const w = window as unknown as { reviva?: Tracker | (Call[] & { _q?: Call[] }) };
const script = document.currentScript as HTMLScriptElement | null;
const base = script && script.src ? script.src : location.href;
const fingerprintUrl = new URL("reviva-fingerprint.mjs", base).toString();

const existing = w.reviva;
if (!(existing instanceof Tracker)) {
  const tracker = new Tracker();
  const originalInit = tracker.init.bind(tracker);
  tracker.init = (options: InitOptions) => {
    const given = Object.fromEntries(Object.entries(options || {}).filter(([, v]) => v !== undefined)) as unknown as InitOptions;
    return originalInit({ endpoint: script && script.src ? new URL(script.src).origin : undefined, fingerprintUrl, ...given });
  };
  const queued: Call[] = Array.isArray(existing) ? (existing as Call[]) : [];
  w.reviva = tracker;
  const dataset = script ? script.dataset : ({} as DOMStringMap);
  if (dataset.writeKey && !queued.some((c) => c[0] === "init")) {
    tracker.init({
      writeKey: dataset.writeKey,
      endpoint: dataset.endpoint,
      linkerDomains: dataset.linkerDomains ? dataset.linkerDomains.split(",").map((d) => d.trim()).filter(Boolean) : undefined,
    });
  }
  // init first, then everything else in call order.
  const init = queued.find((c) => c[0] === "init");
  if (init) tracker.init(init[1] as InitOptions);
  for (const [method, ...args] of queued) {
    if (method === "init") continue;
    const fn = (tracker as unknown as Record<string, (...a: unknown[]) => unknown>)[method];
    if (typeof fn === "function") fn.apply(tracker, args);
  }
}
