// One benchmark for every storage adapter: the registry's register and isKnown and the replay
// store's consume, timed one call at a time over a store already holding `devices` devices; and
// the administrators' listAll pages, first and deep, over 100k devices.
import type { Device, DeviceStore, ReplayStore } from "../device-store.js";
import { createRegistry, type ListAllOptions } from "../registry.js";
import type { VerifiedProof } from "../verified-proof.js";

export interface StoreBenchmarkOptions {
  store: DeviceStore & ReplayStore;
  /** Devices stored before timing starts. Default 10 000. */
  devices?: number;
  /** Calls timed per operation. Default 2 000. */
  operations?: number;
}

export interface StoreBenchmarkRow {
  name: string;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

function fakeProof(i: number, run: string): VerifiedProof {
  const id = `${run}-${i}`;
  return {
    jkt: `jkt-${id}`,
    jwk: { kty: "EC", crv: "P-256", x: `x-${id}`.padEnd(43, "A"), y: `y-${id}`.padEnd(43, "B") },
    alg: "ES256",
    claims: { jti: id, htm: "GET", htu: "https://bench.example/", iat: 0 },
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0",
    ipAddress: null,
  };
}

async function time(
  name: string,
  count: number,
  op: (i: number) => Promise<unknown>,
): Promise<StoreBenchmarkRow> {
  const latencies = new Float64Array(count);
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await op(i);
    latencies[i] = performance.now() - t;
  }
  return summarize(name, latencies, performance.now() - start);
}

function summarize(name: string, latencies: Float64Array, total: number): StoreBenchmarkRow {
  const count = latencies.length;
  latencies.sort();
  const at = (q: number) =>
    Number((latencies[Math.min(count - 1, Math.floor(q * count))] as number).toFixed(3));
  return { name, opsPerSec: Math.round(count / (total / 1000)), p50Ms: at(0.5), p99Ms: at(0.99) };
}

export async function benchmarkStore(options: StoreBenchmarkOptions): Promise<StoreBenchmarkRow[]> {
  const devices = options.devices ?? 10_000;
  const operations = options.operations ?? 2_000;
  const run = Math.random().toString(36).slice(2, 8);
  // 100 users with 100 devices each: realistic lists, and isKnown looks one up among many.
  const user = (i: number) => `bench-user-${run}-${i % 100}`;
  const registry = createRegistry({ store: options.store, lastSeenResolutionMs: 60_000 });
  const eager = createRegistry({ store: options.store, lastSeenResolutionMs: 0 });
  for (let i = 0; i < devices; i++) await registry.register(user(i), fakeProof(i, run));

  const rows: StoreBenchmarkRow[] = [];
  rows.push(
    await time("register (new device)", operations, (i) =>
      registry.register(user(i), fakeProof(devices + i, run)),
    ),
  );
  rows.push(
    await time("isKnown (known device)", operations, (i) =>
      registry.isKnown(user(i * 7), fakeProof(i * 7, run)),
    ),
  );
  rows.push(
    await time("isKnown + lastSeenAt write", operations, (i) =>
      eager.isKnown(user(i * 7), fakeProof(i * 7, run)),
    ),
  );
  rows.push(
    await time("replay consume (new jti)", operations, (i) =>
      options.store.consume(`jti:${run}:${i}`, Date.now() + 60_000),
    ),
  );
  return rows;
}

export interface ListAllBenchmarkOptions {
  store: DeviceStore;
  /** Devices stored before timing starts, over devices / 10 users. Default 100 000. */
  devices?: number;
  /** Calls timed per page. Default 500. */
  operations?: number;
}

/**
 * Times `listAll` pages of 50 at the start, the middle and the end of the order, unfiltered and
 * by status (1 device in 10 blocked): with keyset pagination the deep pages cost what the first
 * does. The cursors at depth come from one walk through every page, each page of it timed too.
 */
export async function benchmarkListAll(
  options: ListAllBenchmarkOptions,
): Promise<StoreBenchmarkRow[]> {
  const count = options.devices ?? 100_000;
  const operations = options.operations ?? 500;
  const run = Math.random().toString(36).slice(2, 8);
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < count; i++) {
    const at = new Date(t0 + i * 1000);
    const device: Device = {
      id: `${run}${String(i).padStart(7, "0")}`,
      userId: `admin-bench-${run}-${i % (count / 10)}`,
      jkt: `jkt-${run}-${i}`,
      publicJwk: { kty: "EC", crv: "P-256", x: "x".padEnd(43, "A"), y: "y".padEnd(43, "B") },
      alg: "ES256",
      status: i % 10 === 9 ? "blocked" : "active",
      displayName: i % 2 ? "Chrome on Linux" : "Safari on macOS",
      createdAt: at,
      lastSeenAt: at,
      userAgent: null,
      metadata: {},
    };
    await options.store.insertDevice(device);
  }
  const registry = createRegistry({ store: options.store });
  const rows: StoreBenchmarkRow[] = [];

  async function pages(name: string, filters: ListAllOptions, matching: number): Promise<void> {
    // Every page in order, each call timed: a page late in the walk costs what an early one does.
    const total = Math.ceil(matching / 50);
    const cursors: (string | undefined)[] = [];
    let cursor: string | undefined;
    rows.push(
      await time(`${name}: every page in turn (${total} pages)`, total, async () => {
        cursors.push(cursor);
        cursor = (await registry.listAll({ ...filters, limit: 50, cursor })).nextCursor;
      }),
    );
    if (cursor !== undefined || cursors.length !== total) throw new Error("the walk went wrong");
    // Interleaved, one call of each in turn, so load on the machine falls on all three alike.
    const positions = [
      ["first page", 0],
      ["middle page", Math.floor(total / 2)],
      ["last page", total - 1],
    ] as const;
    const latencies = positions.map(() => new Float64Array(operations));
    const spent = positions.map(() => 0);
    for (let i = 0; i < operations; i++) {
      for (const [p, [, at]] of positions.entries()) {
        const t = performance.now();
        await registry.listAll({ ...filters, limit: 50, cursor: cursors[at] });
        const ms = performance.now() - t;
        (latencies[p] as Float64Array)[i] = ms;
        spent[p] = (spent[p] as number) + ms;
      }
    }
    for (const [p, [label, at]] of positions.entries()) {
      rows.push(
        summarize(
          `${name}: ${label} (after ${at * 50})`,
          latencies[p] as Float64Array,
          spent[p] as number,
        ),
      );
    }
  }
  await pages("listAll", {}, count);
  await pages("listAll status=blocked", { status: "blocked" }, count / 10);
  return rows;
}

export interface StoreBenchmarkReport {
  /** Machine-readable name, e.g. "store-sqlite". */
  benchmark: string;
  title: string;
  store: DeviceStore & ReplayStore & { close?(): Promise<void> };
  /** Where to write the JSON results. */
  resultsFile: URL;
  /** What to time. Default: benchmarkStore. */
  measure?: (store: DeviceStore & ReplayStore) => Promise<StoreBenchmarkRow[]>;
}

/** Runs the benchmark, closes the store, prints a Markdown table and writes the JSON results. */
export async function runStoreBenchmark(
  report: StoreBenchmarkReport,
): Promise<StoreBenchmarkRow[]> {
  const measure = report.measure ?? ((store) => benchmarkStore({ store }));
  const rows = await measure(report.store);
  await report.store.close?.();
  const { cpus } = await import("node:os");
  const { mkdirSync, writeFileSync } = await import("node:fs");
  const machine = {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    node: process.version,
  };
  console.log(`\n${report.title}`);
  console.log("| operation | ops/s | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: |");
  for (const r of rows) console.log(`| ${r.name} | ${r.opsPerSec} | ${r.p50Ms} | ${r.p99Ms} |`);
  mkdirSync(new URL(".", report.resultsFile), { recursive: true });
  const json = { benchmark: report.benchmark, title: report.title, machine, rows };
  writeFileSync(report.resultsFile, `${JSON.stringify(json, null, 2)}\n`);
  return rows;
}
