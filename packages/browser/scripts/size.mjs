// Size budget of the public entry: esbuild bundle + minify + gzip, checked in `lint`.
// Prints the figure, writes bench/results/size.json, and fails above the budget.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const BUDGET_BYTES = 3584;
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const result = await build({
  entryPoints: [join(root, "dist/index.js")],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  platform: "browser",
  write: false,
});
const code = result.outputFiles[0].contents;
const bytes = gzipSync(code, { level: 9 }).length;
const ok = bytes <= BUDGET_BYTES;
console.log(
  `@devicebound/browser: ${bytes} B min+gzip (${code.length} B min), budget ${BUDGET_BYTES} B: ${ok ? "ok" : "OVER BUDGET"}`,
);
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(
  join(root, "bench/results/size.json"),
  `${JSON.stringify(
    {
      benchmark: "browser-size",
      title: "Browser bundle: public entry, esbuild minify + gzip -9 (budget 3.5 KB)",
      rows: [
        { name: "index.js min+gzip", bytes, minifiedBytes: code.length, budgetBytes: BUDGET_BYTES },
      ],
    },
    null,
    2,
  )}\n`,
);
if (!ok) process.exit(1);
