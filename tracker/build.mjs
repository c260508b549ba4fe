// Builds the tracker: the <script> bundle (IIFE), the ES module, the lazily loaded fingerprint
// module and the unit tests' internals; prints each bundle's gzipped size and fails when the
// core exceeds its budget.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

export const CORE_BUDGET_BYTES = 12 * 1024;
const common = { bundle: true, minify: true, target: ["es2020"], legalComments: "none", logLevel: "warning" };

await Promise.all([
  build({ ...common, entryPoints: ["src/browser.ts"], outfile: "dist/reviva.js", format: "iife" }),
  build({ ...common, entryPoints: ["src/esm.ts"], outfile: "dist/reviva.mjs", format: "esm" }),
  build({ ...common, entryPoints: ["src/fingerprint.ts"], outfile: "dist/reviva-fingerprint.mjs", format: "esm" }),
  build({
    ...common,
    minify: false,
    entryPoints: ["src/internals.ts"],
    outfile: ".test-build/internals.mjs",
    format: "esm",
    platform: "node",
  }),
]);

export function gzippedSize(path) {
  return gzipSync(readFileSync(path), { level: 9 }).length;
}

let failed = false;
for (const file of ["reviva.js", "reviva.mjs", "reviva-fingerprint.mjs"]) {
  const size = gzippedSize(`dist/${file}`);
  const core = file !== "reviva-fingerprint.mjs";
  const note = core ? ` (budget ${CORE_BUDGET_BYTES} B)` : " (loaded only after analytics consent)";
  console.log(`tracker: dist/${file} ${(size / 1024).toFixed(1)} KB gzipped${note}`);
  if (core && size > CORE_BUDGET_BYTES) failed = true;
}
if (failed) {
  console.error("tracker: the core bundle exceeds its gzipped size budget");
  process.exit(1);
}
