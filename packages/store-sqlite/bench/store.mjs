// pnpm bench: register / isKnown / replay consume on SQLite with 10k devices stored, and the
// administrators' listAll pages (first, middle, last) over 100k devices.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchmarkListAll, runStoreBenchmark } from "@devicebound/server/testing";
import { sqliteStore } from "../dist/index.js";

const dir = mkdtempSync(join(tmpdir(), "devicebound-bench-"));
await runStoreBenchmark({
  benchmark: "store-sqlite",
  title: "SQLite (file, WAL), 10k devices stored",
  store: sqliteStore({ filename: join(dir, "bench.db") }),
  resultsFile: new URL("./results/store.json", import.meta.url),
});
await runStoreBenchmark({
  benchmark: "store-sqlite-list-all",
  title: "SQLite (file, WAL): listAll pages of 50 over 100k devices",
  store: sqliteStore({ filename: join(dir, "list-all.db") }),
  resultsFile: new URL("./results/list-all.json", import.meta.url),
  measure: (store) => benchmarkListAll({ store }),
});
rmSync(dir, { recursive: true, force: true });
