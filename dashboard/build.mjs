// Builds the dashboard into dist/: hashed, minified ES modules (ECharts in its own lazily loaded
// chunk so the shell paints before the charts library arrives), the stylesheet, index.html that
// names them, and the default runtime config (a deployment replaces dist/config.json).
import { build } from "esbuild";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const src = join(root, "src");
const dist = join(root, "dist");

await rm(dist, { recursive: true, force: true });
await mkdir(join(dist, "assets"), { recursive: true });

const started = performance.now();
const result = await build({
  entryPoints: [join(src, "main.ts")],
  outdir: join(dist, "assets"),
  bundle: true,
  splitting: true,
  format: "esm",
  target: ["es2022"],
  minify: true,
  sourcemap: "linked",
  entryNames: "[name]-[hash]",
  chunkNames: "chunk-[hash]",
  assetNames: "[name]-[hash]",
  metafile: true,
  legalComments: "linked",
  logLevel: "warning",
});

const outputs = Object.entries(result.metafile.outputs);
const entry = outputs.find(([, meta]) => meta.entryPoint?.endsWith("main.ts"));
if (!entry) throw new Error("esbuild produced no entry bundle");
const [entryPath, entryMeta] = entry;
const script = "assets/" + basename(entryPath);
const stylesheet = entryMeta.cssBundle ? "assets/" + basename(entryMeta.cssBundle) : null;

const template = await readFile(join(src, "index.html"), "utf8");
const html = template
  .replace("<!--STYLES-->", stylesheet ? `<link rel="stylesheet" href="${stylesheet}">` : "")
  .replace("<!--SCRIPT-->", `<script type="module" src="${script}"></script>`);
await writeFile(join(dist, "index.html"), html);
await copyFile(join(src, "config.json"), join(dist, "config.json"));
await copyFile(join(src, "favicon.svg"), join(dist, "favicon.svg"));

const sizes = outputs
  .filter(([path]) => !path.endsWith(".map") && !path.endsWith(".txt"))
  .map(([path, meta]) => `${basename(path)} ${(meta.bytes / 1024).toFixed(1)} KB`);
console.log(`dashboard built in ${Math.round(performance.now() - started)} ms: ${sizes.join(", ")}`);
