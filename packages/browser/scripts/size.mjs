// Size budget, checked in `lint`: what an app ships (esbuild bundle + minify + gzip -9, idb
// included) when it imports only initFetchWithDevice and fetchWithDevice from the built ESM entry.
// Also fails when our modules, imported for nothing, keep any code even with the package's
// "sideEffects": false ignored: a top-level side effect would stop bundlers from dropping unused
// exports. Prints the figures and writes bench/results/size.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const BUDGET_BYTES = 4096;
const root = join(dirname(fileURLToPath(import.meta.url)), "..");

async function measure(contents, options = {}) {
  const result = await build({
    stdin: { contents, resolveDir: root, loader: "js" },
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    write: false,
    ...options,
  });
  const code = result.outputFiles[0].contents;
  return {
    bytes: code.length ? gzipSync(code, { level: 9 }).length : 0,
    minifiedBytes: code.length,
  };
}

const entry = JSON.stringify(join(root, "dist/index.js"));
const rows = [
  {
    name: "initFetchWithDevice + fetchWithDevice",
    ...(await measure(`export { initFetchWithDevice, fetchWithDevice } from ${entry};`)),
    budgetBytes: BUDGET_BYTES,
  },
  { name: "every export", ...(await measure(`export * from ${entry};`)) },
];
// idb runs code at import (it patches its proxies); it goes wherever our modules go.
const unused = await build({
  stdin: { contents: `import ${entry};`, resolveDir: root, loader: "js" },
  bundle: true,
  minify: true,
  format: "esm",
  external: ["idb"],
  // Judge the code itself, not the package's "sideEffects": false promise about it.
  ignoreAnnotations: true,
  write: false,
});
const kept = unused.outputFiles[0].text.replace(/import[^;]*"idb";/g, "").trim();
const [app] = rows;
const ok = app.bytes <= BUDGET_BYTES && kept === "";
if (kept) console.log(`kept at import: ${kept}`);
for (const row of rows) {
  console.log(
    `@devicebound/browser, ${row.name}: ${row.bytes} B min+gzip (${row.minifiedBytes} B min)`,
  );
}
console.log(
  `budget ${BUDGET_BYTES} B for initFetchWithDevice + fetchWithDevice, nothing kept when unused: ${ok ? "ok" : "FAILED"}`,
);
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(
  join(root, "bench/results/size.json"),
  `${JSON.stringify(
    {
      benchmark: "browser-size",
      title: "Browser bundle with idb, esbuild minify + gzip -9 (budget 4 KB for init + fetch)",
      rows,
    },
    null,
    2,
  )}\n`,
);
if (!ok) process.exit(1);
