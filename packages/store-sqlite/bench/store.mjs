// pnpm bench: register / isKnown / replay consume on SQLite with 10k devices stored.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runStoreBenchmark } from "@devicebound/server/testing";
import { sqliteStore } from "../dist/index.js";

const dir = mkdtempSync(join(tmpdir(), "devicebound-bench-"));
await runStoreBenchmark({
  benchmark: "store-sqlite",
  title: "SQLite (file, WAL), 10k devices stored",
  store: sqliteStore({ filename: join(dir, "bench.db") }),
  resultsFile: new URL("./results/store.json", import.meta.url),
});
rmSync(dir, { recursive: true, force: true });
