// pnpm bench: register / isKnown / replay consume on PostgreSQL (loopback) with 10k devices
// stored, and the administrators' listAll pages (first, middle, last) over 100k devices.
// Needs DEVICEBOUND_TEST_PG_URL (the root `pnpm bench` starts a throwaway server).
import { benchmarkListAll, runStoreBenchmark } from "@devicebound/server/testing";
import pg from "pg";
import { postgresStore } from "../dist/index.js";

const connectionString = process.env.DEVICEBOUND_TEST_PG_URL;
if (!connectionString)
  throw new Error("Set DEVICEBOUND_TEST_PG_URL, or run the root `pnpm bench`.");
const schema = `bench_${process.pid}`;
const listSchema = `bench_list_${process.pid}`;
await runStoreBenchmark({
  benchmark: "store-postgres",
  title: "PostgreSQL 15 (loopback), 10k devices stored",
  store: postgresStore({ connectionString, schema }),
  resultsFile: new URL("./results/store.json", import.meta.url),
});
await runStoreBenchmark({
  benchmark: "store-postgres-list-all",
  title: "PostgreSQL 15 (loopback): listAll pages of 50 over 100k devices",
  store: postgresStore({ connectionString, schema: listSchema }),
  resultsFile: new URL("./results/list-all.json", import.meta.url),
  measure: (store) => benchmarkListAll({ store }),
});
const admin = new pg.Pool({ connectionString, max: 1 });
for (const s of [schema, listSchema]) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
await admin.end();
