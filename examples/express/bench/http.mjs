// pnpm bench (examples/express): the end-to-end cost of a verified request on the demo's stack
// (Express + SQLite store + the requireDevice guard) against the same route without the guard.
// The server runs in its own process; a bounded keep-alive loopback client in this one sends
// pre-signed proofs for a fixed time per route.
import { fork } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { createDeviceBinding, memoryStore } from "@devicebound/server";
import { nodeDeviceBinding } from "@devicebound/server/express";
import { createTestDevice } from "@devicebound/server/testing";
import { sqliteStore } from "@devicebound/store-sqlite";
import express from "express";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const CONCURRENCY = 8;
const SECRET = "http-bench-secret-0123456789-0123456789";

if (process.argv[2] === "serve") {
  // The server process: the demo's stack, on its own core.
  const dir = mkdtempSync(join(tmpdir(), "devicebound-http-bench-"));
  const store = sqliteStore({ filename: join(dir, "devices.db") });
  const app = express();
  const server = createServer(app);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const binding = createDeviceBinding({ secret: SECRET, store, publicOrigin: origin });
  const glue = nodeDeviceBinding(binding);
  const session = { userId: "alice", jkt: process.argv[3] };
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
  process.send?.(origin);
  process.on("message", async () => {
    server.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
} else {
  const device = await createTestDevice();
  const child = fork(new URL(import.meta.url), ["serve", device.jkt]);
  const origin = await new Promise((resolve) => child.once("message", resolve));
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

  async function run(path, proofs) {
    const latencies = [];
    const deadline = performance.now() + SECONDS * 1000;
    let next = 0;
    let failures = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline && (!proofs || next < proofs.length)) {
          const headers = proofs ? { DPoP: proofs[next++] } : {};
          const t = performance.now();
          if ((await get(path, headers)) !== 200) failures++;
          latencies.push(performance.now() - t);
        }
      }),
    );
    const elapsed = (performance.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    const at = (q) =>
      Number(
        latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(3),
      );
    return {
      requests: latencies.length,
      failures,
      rps: Math.round(latencies.length / elapsed),
      p50Ms: at(0.5),
      p99Ms: at(0.99),
    };
  }

  // Enough fresh proofs (each is accepted once) for the verified run, signed before timing starts.
  const proofs = [];
  for (let i = 0; i < 30_000; i++)
    proofs.push(await device.proof({ method: "GET", url: `${origin}/verified`, nonce: challenge }));

  await run("/plain"); // warm-up
  const plain = await run("/plain");
  const verified = await run("/verified", proofs);
  if (verified.failures || plain.failures)
    throw new Error(`failed requests: ${verified.failures + plain.failures}`);

  const rows = [
    { name: "GET, no proof verification", ...plain },
    { name: "GET + DPoP proof, requireDevice guard", ...verified },
  ];
  const machine = {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    node: process.version,
  };
  const result = {
    benchmark: "demo-http",
    title: `Demo stack (Express + SQLite) over loopback HTTP, ${CONCURRENCY} concurrent keep-alive clients, ${SECONDS} s each`,
    machine,
    rows,
  };
  console.log(`\n${result.title}`);
  console.log("| route | requests/s | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: |");
  for (const r of rows) console.log(`| ${r.name} | ${r.rps} | ${r.p50Ms} | ${r.p99Ms} |`);
  mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
  writeFileSync(
    new URL("./results/http.json", import.meta.url),
    `${JSON.stringify(result, null, 2)}\n`,
  );

  agent.destroy();
  child.send("stop");
}
