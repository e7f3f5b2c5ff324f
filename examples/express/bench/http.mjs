// pnpm bench (examples/express): what a verified request costs end to end, on each stack, beside
// the same route without the guard: Express 5 with the SQLite store (the demo stack), and with
// devices in PostgreSQL and replay in Redis (one process of the fleet stack). The server runs in
// its own process; a bounded keep-alive loopback client in this one sends pre-signed proofs for
// a fixed time per route. The server also reports its own CPU time per request and how many
// store calls each guarded request made. The in-memory stack is the reference with no store I/O.
// BENCH_PROFILE=<dir> also writes a CPU profile of the server for each timed run.
import { fork } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { createDeviceBinding, memoryStore } from "@devicebound/server";
import { nodeDeviceBinding } from "@devicebound/server/express";
import { createTestDevice } from "@devicebound/server/testing";
import express from "express";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const WARMUP_SECONDS = 1;
// More than the guarded route can take, so no run ends early (it fails loudly if it would).
const PROOFS_PER_SECOND = 4000;
const CONCURRENCY = 8;
const SECRET = "http-bench-secret-0123456789-0123456789";
const STACKS = (process.env.BENCH_STACKS ?? "sqlite,fleet,memory").split(",");

/** The stores of one stack, each method counted, so the bench can report store calls per request. */
async function openStack(stack, dir) {
  const counted = (store) =>
    new Proxy(store, {
      get(target, key) {
        const value = target[key];
        if (typeof value !== "function" || key === "close") return value;
        return (...args) => {
          calls++;
          return value.apply(target, args);
        };
      },
    });
  if (stack === "memory") {
    const store = memoryStore();
    return { store: counted(store), close() {} };
  }
  if (stack === "sqlite") {
    const { sqliteStore } = await import("@devicebound/store-sqlite");
    const store = sqliteStore({ filename: join(dir, "devices.db") });
    return { store: counted(store), close: () => store.close() };
  }
  const { postgresStore } = await import("@devicebound/store-postgres");
  const { redisStore } = await import("@devicebound/store-redis");
  const pgUrl = process.env.DEVICEBOUND_TEST_PG_URL;
  const redisUrl = process.env.DEVICEBOUND_TEST_REDIS_URL;
  if (!pgUrl || !redisUrl)
    throw new Error(
      "the fleet stack needs DEVICEBOUND_TEST_PG_URL and _REDIS_URL (pnpm bench sets them)",
    );
  const schema = `bench_${process.pid}`;
  const store = postgresStore({ connectionString: pgUrl, schema });
  const replay = redisStore({ url: redisUrl, keyPrefix: `bench:${process.pid}:` });
  return {
    store: counted(store),
    replayStore: counted(replay),
    async close() {
      await store.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await Promise.all([store.close(), replay.close()]);
    },
  };
}

let calls = 0;

if (process.argv[2] === "serve") {
  const [, , , stack, jkt] = process.argv;
  const dir = mkdtempSync(join(tmpdir(), "devicebound-http-bench-"));
  const { store, replayStore, close } = await openStack(stack, dir);
  const app = express();
  const server = createServer(app);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const binding = createDeviceBinding({
    secret: SECRET,
    store,
    ...(replayStore ? { replayStore } : {}),
    publicOrigin: origin,
  });
  const glue = nodeDeviceBinding(binding);
  const session = { userId: "alice", jkt };
  const handler = (_req, res) => res.json({ ok: true });
  app.get("/plain", handler);
  app.get(
    "/verified",
    glue.requireDevice(() => session),
    handler,
  );
  app.post("/register", express.text({ type: "*/*" }), async (req, res) => {
    const proof = await binding.verifyProof(req.body, { method: "GET", url: `${origin}/verified` });
    await binding.register("alice", proof);
    res.json(await binding.createChallenge());
  });
  let mark = null;
  // BENCH_PROFILE=dir: a CPU profile of the server for each timed run, to see where the time goes.
  const profiler = process.env.BENCH_PROFILE ? await startProfiler() : null;
  process.on("message", async (message) => {
    if (message.mark) {
      await profiler?.start();
      mark = { cpu: process.cpuUsage(), calls };
      process.send({ marked: true });
    } else if (message.report) {
      const cpu = process.cpuUsage(mark.cpu);
      await profiler?.stop(
        join(process.env.BENCH_PROFILE, `${stack}-${message.report}.cpuprofile`),
      );
      process.send({ cpuUs: cpu.user + cpu.system, calls: calls - mark.calls });
    } else {
      server.close();
      await close();
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    }
  });
  process.send?.(origin);
} else {
  const machine = {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    node: process.version,
  };
  const rows = [];
  for (const stack of STACKS) rows.push(...(await benchStack(stack)));
  const result = {
    benchmark: "demo-http",
    title: `Guarded vs plain GET over loopback HTTP (Express 5), ${CONCURRENCY} keep-alive clients, both routes warmed, then ${ROUNDS} alternating rounds of ${SECONDS} s each`,
    machine,
    rows,
  };
  console.log(`\n${result.title}`);
  console.log(
    "| stack | route | requests/s | p50 ms | p99 ms | server CPU µs/req | store calls/req | guarded ÷ plain |",
  );
  console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of rows)
    console.log(
      `| ${r.stack} | ${r.name} | ${r.rps} | ${r.p50Ms} | ${r.p99Ms} | ${r.serverCpuUsPerRequest} | ${r.storeCallsPerRequest} | ${r.ofPlain ?? ""} |`,
    );
  mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
  writeFileSync(
    new URL("./results/http.json", import.meta.url),
    `${JSON.stringify(result, null, 2)}\n`,
  );
}

async function startProfiler() {
  const { Session } = await import("node:inspector/promises");
  mkdirSync(process.env.BENCH_PROFILE, { recursive: true });
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  return {
    start: () => session.post("Profiler.start"),
    async stop(file) {
      const { profile } = await session.post("Profiler.stop");
      writeFileSync(file, JSON.stringify(profile));
    },
  };
}

async function benchStack(stack) {
  const device = await createTestDevice();
  const child = fork(new URL(import.meta.url), ["serve", stack, device.jkt]);
  const origin = await new Promise((resolve) => child.once("message", resolve));
  const ask = (message) =>
    new Promise((resolve) => {
      child.once("message", resolve);
      child.send(message);
    });
  // A challenge from the server's secret, minted here (challenges are stateless), for the sign-in.
  const signInChallenge = (
    await createDeviceBinding({ secret: SECRET, store: memoryStore() }).createChallenge()
  ).challenge;
  const signIn = await device.proof({
    method: "GET",
    url: `${origin}/verified`,
    nonce: signInChallenge,
  });
  const { challenge } = await (
    await fetch(`${origin}/register`, { method: "POST", body: signIn })
  ).json();

  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  function get(path, headers) {
    return new Promise((resolve, reject) => {
      const req = request(`${origin}${path}`, { agent, headers }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      });
      req.on("error", reject);
      req.end();
    });
  }

  // One timed run of `path`; `proofs` (for the guarded route) is consumed from the front.
  async function run(path, seconds, proofs) {
    const latencies = [];
    await ask({ mark: true });
    const deadline = performance.now() + seconds * 1000;
    let failures = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          if (proofs && proofs.length === 0)
            throw new Error(`${stack}: ran out of signed proofs; raise PROOFS_PER_SECOND`);
          const headers = proofs ? { DPoP: proofs.pop() } : {};
          const t = performance.now();
          if ((await get(path, headers)) !== 200) failures++;
          latencies.push(performance.now() - t);
        }
      }),
    );
    const elapsed = (performance.now() - start) / 1000;
    const server = await ask({ report: path.slice(1) });
    if (failures) throw new Error(`${stack} ${path}: ${failures} failed requests`);
    return { latencies, elapsed, ...server };
  }

  /** The rounds of one route pooled: requests/s over their total time, percentiles over all. */
  function summary(runs) {
    const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const sum = (key) => runs.reduce((total, r) => total + r[key], 0);
    const at = (q) =>
      Number(
        latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(3),
      );
    return {
      requests: latencies.length,
      rps: Math.round(latencies.length / sum("elapsed")),
      roundsRps: runs.map((r) => Math.round(r.latencies.length / r.elapsed)),
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      serverCpuUsPerRequest: Math.round(sum("cpuUs") / latencies.length),
      storeCallsPerRequest: Number((sum("calls") / latencies.length).toFixed(2)),
    };
  }

  // Fresh proofs (each is accepted once) for every guarded run, signed before timing starts.
  const proofs = [];
  const needed = PROOFS_PER_SECOND * (WARMUP_SECONDS + ROUNDS * SECONDS);
  for (let i = 0; i < needed; i++)
    proofs.push(await device.proof({ method: "GET", url: `${origin}/verified`, nonce: challenge }));

  // Both routes warm (JIT, statement caches) before anything is timed, then alternating rounds
  // so that drift on a shared machine falls on both alike.
  await run("/plain", WARMUP_SECONDS);
  await run("/verified", WARMUP_SECONDS, proofs);
  const plainRuns = [];
  const verifiedRuns = [];
  for (let round = 0; round < ROUNDS; round++) {
    plainRuns.push(await run("/plain", SECONDS));
    verifiedRuns.push(await run("/verified", SECONDS, proofs));
  }
  const plain = summary(plainRuns);
  const verified = summary(verifiedRuns);
  agent.destroy();
  child.send("stop");
  const name = {
    sqlite: "Express + SQLite (demo stack)",
    fleet: "Express + PostgreSQL devices + Redis replay (one fleet process)",
    memory: "Express + in-memory store (no I/O: what the verifier itself costs)",
  }[stack];
  return [
    { stack: name, name: "GET, no proof verification", ...plain },
    {
      stack: name,
      name: "GET + DPoP proof, requireDevice guard",
      ...verified,
      ofPlain: `${Math.round((100 * verified.rps) / plain.rps)}% of requests/s, p99 ${(verified.p99Ms / plain.p99Ms).toFixed(2)}×`,
    },
  ];
}
