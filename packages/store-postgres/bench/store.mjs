// pnpm bench: register / isKnown / replay consume on PostgreSQL (loopback) with 10k devices stored.
// Needs DEVICEBOUND_TEST_PG_URL (the root `pnpm bench` starts a throwaway server).
import { runStoreBenchmark } from "@devicebound/server/testing";
import pg from "pg";
import { postgresStore } from "../dist/index.js";

const connectionString = process.env.DEVICEBOUND_TEST_PG_URL;
if (!connectionString)
  throw new Error("Set DEVICEBOUND_TEST_PG_URL, or run the root `pnpm bench`.");
const schema = `bench_${process.pid}`;
await runStoreBenchmark({
  benchmark: "store-postgres",
  title: "PostgreSQL 15 (loopback), 10k devices stored",
  store: postgresStore({ connectionString, schema }),
  resultsFile: new URL("./results/store.json", import.meta.url),
});
const admin = new pg.Pool({ connectionString, max: 1 });
await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
await admin.end();
