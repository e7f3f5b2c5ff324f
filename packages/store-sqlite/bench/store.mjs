// pnpm bench: register / isKnown / replay consume on SQLite with 10k devices stored.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { benchmarkStore, reportStoreBenchmark } from "@devicebound/server/testing";
import { sqliteStore } from "../dist/index.js";

const dir = mkdtempSync(join(tmpdir(), "devicebound-bench-"));
const store = sqliteStore({ filename: join(dir, "bench.db") });
const rows = await benchmarkStore({ store });
await store.close();
rmSync(dir, { recursive: true, force: true });
const machine = { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, node: process.version };
const result = reportStoreBenchmark(
  "store-sqlite",
  "SQLite (file, WAL), 10k devices stored",
  rows,
  machine,
);
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(
  new URL("./results/store.json", import.meta.url),
  `${JSON.stringify(result, null, 2)}\n`,
);
