/** The ES module build: `import { reviva } from ".../reviva.mjs"` (same API as window.reviva). */
import { Tracker, type InitOptions } from "./tracker";

export { Tracker, VERSION } from "./tracker";
export type { InitOptions } from "./tracker";

const fingerprintUrl = new URL("./reviva-fingerprint.mjs", import.meta.url).toString();

/** A tracker whose fingerprint module is resolved next to this file. */
export function createTracker(): Tracker {
  const tracker = new Tracker();
  const init = tracker.init.bind(tracker);
  tracker.init = (options: InitOptions) => init({ fingerprintUrl, ...options });
  return tracker;
}

export const reviva = createTracker();
export default reviva;
