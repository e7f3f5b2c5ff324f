// What DBSC costs: a refresh (the signed retry: JWT check, single-use challenge, compare-and-set,
// new cookie) and a request on the dbsc tier (proof + bound cookie) beside the same request on the
// dpop tier, through the Fetch adapter with the memory store. Writes bench/results/dbsc.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { fetchDeviceBinding } from "../dist/fetch.js";
import { createDeviceBinding, memoryStore } from "../dist/index.node.js";
import { createTestDbscClient, createTestDevice } from "../dist/testing.js";

const N = Number(process.env.BENCH_DBSC_OPS ?? 2_000);
const ROUNDS = 3;
const ORIGIN = "https://app.example.com";

const binding = createDeviceBinding({
  secret: "bench-secret-0123456789-0123456789-0123",
  store: memoryStore(),
  publicOrigin: ORIGIN,
  dbsc: {},
});
const glue = fetchDeviceBinding(binding, { getIpAddress: false });
const send = (request) => {
  const path = new URL(request.url).pathname;
  return path === binding.dbsc.registrationPath
    ? glue.dbscRegistration(request)
    : glue.dbscRefresh(request);
};

const device = await createTestDevice();
const login = await binding.createChallenge();
const proof = await binding.verifyProof(
  await device.proof({ method: "POST", url: `${ORIGIN}/login`, nonce: login.challenge }),
  { method: "POST", url: `${ORIGIN}/login` },
);
const { device: record } = await binding.register("alice", proof);
const started = await glue.startDbsc(new Request(`${ORIGIN}/login`), {
  userId: "alice",
  device: record,
});
const client = await createTestDbscClient();
await client.register(send, new Headers(started.headers), ORIGIN);
const dbscSession = { userId: "alice", jkt: device.jkt, dbscSessionId: started.sessionId };
const dpopSession = { userId: "alice", jkt: device.jkt };
const { challenge } = await binding.createChallenge();

async function refreshRequests() {
  // Signed ahead: the benchmark times the server, not the client's signing.
  const requests = [];
  for (let i = 0; i < N; i++) {
    const { challenge: fresh } = await binding.createChallenge();
    requests.push(await client.refreshRequest(ORIGIN, fresh));
  }
  return requests;
}
async function apiRequests(cookie) {
  const requests = [];
  for (let i = 0; i < N; i++) {
    const headers = {
      DPoP: await device.proof({ method: "GET", url: `${ORIGIN}/api`, nonce: challenge }),
    };
    if (cookie) headers.Cookie = client.cookie;
    requests.push(new Request(`${ORIGIN}/api`, { headers }));
  }
  return requests;
}

const contenders = {
  "DBSC refresh (signed retry)": {
    prepare: refreshRequests,
    async run(requests) {
      for (const request of requests) {
        const response = await send(request);
        if (response.status !== 200) throw new Error(`refresh answered ${response.status}`);
      }
    },
  },
  "request, dbsc tier (proof + bound cookie)": {
    prepare: () => apiRequests(true),
    async run(requests) {
      for (const request of requests) {
        const result = await glue.requireDevice(request, () => dbscSession);
        if (!result.ok || result.tier !== "dbsc") throw new Error("not served on the dbsc tier");
      }
    },
  },
  "request, dpop tier (proof only)": {
    prepare: () => apiRequests(false),
    async run(requests) {
      for (const request of requests) {
        const result = await glue.requireDevice(request, () => dpopSession);
        if (!result.ok || result.tier !== "dpop") throw new Error("not served on the dpop tier");
      }
    },
  },
};

const samples = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
// Warm-up (JIT, key caches), then interleaved rounds so drift hits every contender alike.
for (const { prepare, run } of Object.values(contenders)) await run(await prepare());
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, { prepare, run }] of Object.entries(contenders)) {
    const requests = await prepare();
    const start = performance.now();
    await run(requests);
    samples[name].push(N / ((performance.now() - start) / 1000));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = Object.entries(samples).map(([name, values]) => {
  const ops = median(values);
  return { name, opsPerSec: Math.round(ops), usPerOp: Number((1e6 / ops).toFixed(1)) };
});
const machine = { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, node: process.version };
const result = {
  benchmark: "server-dbsc",
  title: "DBSC refresh and tier cost (ES256, memory store, one core)",
  machine,
  operations: N,
  rounds: ROUNDS,
  rows,
};
mkdirSync(new globalThis.URL("./results/", import.meta.url), { recursive: true });
writeFileSync(
  new globalThis.URL("./results/dbsc.json", import.meta.url),
  `${JSON.stringify(result, null, 2)}\n`,
);
console.log(`\n${result.title} — ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);
console.log("| operation | per second | µs each |\n| --- | ---: | ---: |");
for (const r of rows) console.log(`| ${r.name} | ${r.opsPerSec} | ${r.usPerOp} |`);
