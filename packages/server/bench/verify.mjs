// Verified proofs per second: our verifyProof (memory store, replay check on) on its node:crypto
// backend and on the Web Crypto backend (what Deno, Bun and workers use), against jose.jwtVerify
// with EmbeddedJWK and a bare node:crypto ECDSA verify of the same proofs. Then what the verifier
// keeps in memory under a flood of unauthenticated garbage proofs, and over a long steady run.
// Run with `pnpm bench` after `pnpm build`. Writes bench/results/verify.json and memory.json.
import { createPublicKey, verify } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { EmbeddedJWK, jwtVerify } from "jose";
import { createDeviceBinding as createWebCryptoBinding } from "../dist/index.js";
import { createDeviceBinding, memoryStore } from "../dist/index.node.js";
import { createTestDevice } from "../dist/testing.js";

const PROOFS = Number(process.env.BENCH_PROOFS ?? 4_000);
const ROUNDS = 8;
const URL = "https://app.example.com/api/items";

const options = () => ({
  secret: "bench-secret-0123456789-0123456789-0123",
  store: memoryStore(),
  publicOrigin: "https://app.example.com",
});
const binding = createDeviceBinding(options());
const webBinding = createWebCryptoBinding(options());
const devices = await Promise.all(Array.from({ length: 16 }, () => createTestDevice()));
const { challenge } = await binding.createChallenge();

async function makeProofs() {
  const proofs = [];
  for (let i = 0; i < PROOFS; i++) {
    proofs.push(
      await devices[i % devices.length].proof({ method: "GET", url: URL, nonce: challenge }),
    );
  }
  return proofs;
}

const keyObjects = new Map(
  devices.map((d) => [d.jwk.x, createPublicKey({ key: d.jwk, format: "jwk" })]),
);
function bare(proofs) {
  // The floor: split and decode by hand, pre-imported keys, one verify each.
  for (const proof of proofs) {
    const dot = proof.lastIndexOf(".");
    const header = JSON.parse(
      Buffer.from(proof.slice(0, proof.indexOf(".")), "base64url").toString(),
    );
    const ok = verify(
      "sha256",
      Buffer.from(proof.slice(0, dot)),
      { key: keyObjects.get(header.jwk.x), dsaEncoding: "ieee-p1363" },
      Buffer.from(proof.slice(dot + 1), "base64url"),
    );
    if (!ok) throw new Error("bare verify failed");
  }
}
async function ours(proofs) {
  for (const proof of proofs) await binding.verifyProof(proof, { method: "GET", url: URL });
}
async function oursWeb(proofs) {
  for (const proof of proofs) await webBinding.verifyProof(proof, { method: "GET", url: URL });
}
async function jose(proofs) {
  for (const proof of proofs)
    await jwtVerify(proof, EmbeddedJWK, { typ: "dpop+jwt", algorithms: ["ES256"] });
}

const contenders = {
  "devicebound verifyProof": ours,
  "devicebound verifyProof (Web Crypto backend)": oursWeb,
  "jose.jwtVerify + EmbeddedJWK": jose,
  "bare node:crypto verify": bare,
};
const samples = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
await ours(await makeProofs()); // warm-up: JIT and key cache
await oursWeb(await makeProofs());
const names = Object.keys(contenders);
for (let round = 0; round < ROUNDS; round++) {
  // Fresh proofs for each contender (ours refuses replays), all signed before any is timed; then
  // the contenders run back to back, in an order rotated every round, so this host's drift hits
  // all alike (with a fixed order, ours and the bare verify were always seconds apart).
  const batches = [];
  for (const _ of names) batches.push(await makeProofs());
  for (let k = 0; k < names.length; k++) {
    const name = names[(k + round) % names.length];
    const start = performance.now();
    await contenders[name](batches[k]);
    samples[name].push(PROOFS / ((performance.now() - start) / 1000));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const opsPerSec = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
const oursOps = opsPerSec["devicebound verifyProof"];
const rows = Object.entries(opsPerSec).map(([name, ops]) => ({
  name,
  opsPerSec: Math.round(ops),
  usPerProof: Number((1e6 / ops).toFixed(1)),
  oursRelative: Number((oursOps / ops).toFixed(2)),
}));

const machine = { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, node: process.version };
const result = {
  benchmark: "server-verify",
  title: "Proof verification throughput (ES256, one core)",
  machine,
  proofs: PROOFS,
  rounds: ROUNDS,
  rows,
  targets: {
    "ours >= 3x jose": oursOps >= 3 * opsPerSec["jose.jwtVerify + EmbeddedJWK"],
    "ours >= 75% of bare verify": oursOps >= 0.75 * opsPerSec["bare node:crypto verify"],
  },
};
mkdirSync(new globalThis.URL("./results/", import.meta.url), { recursive: true });
writeFileSync(
  new globalThis.URL("./results/verify.json", import.meta.url),
  `${JSON.stringify(result, null, 2)}\n`,
);

console.log(`\n${result.title} — ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`);
console.log("| verifier | proofs/s | µs/proof | ours ÷ this |\n| --- | ---: | ---: | ---: |");
for (const r of rows)
  console.log(`| ${r.name} | ${r.opsPerSec} | ${r.usPerProof} | ${r.oursRelative} |`);
for (const [target, met] of Object.entries(result.targets))
  console.log(`${met ? "✓" : "✗"} ${target}`);

// --- memory ---------------------------------------------------------------------------------
// Heap growth, after a full GC, from (a) 50,000 unauthenticated proofs, each with a distinct,
// maximal header and a wrong signature, and (b) 50,000 valid proofs from 16 keys (the replay
// records of the memory store are the only thing that must grow, and they expire).
const { setFlagsFromString } = await import("node:v8");
const { runInNewContext } = await import("node:vm");
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc");
const heapMb = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
const FLOOD = Number(process.env.BENCH_FLOOD ?? 50_000);
const flooded = createDeviceBinding(options());
const valid = await devices[0].proof({ method: "GET", url: URL, nonce: challenge });
const [h, p] = valid.split(".");
const wrongSignature = (
  await devices[1].proof({ method: "GET", url: URL, nonce: challenge })
).split(".")[2];
const header = JSON.parse(Buffer.from(h, "base64url").toString());
const before = heapMb();
for (let i = 0; i < FLOOD; i++) {
  const big = Buffer.from(JSON.stringify({ ...header, kid: `${i}`.padEnd(700, "k") })).toString(
    "base64url",
  );
  await flooded
    .verifyProof(`${big}.${p}.${wrongSignature}`, { method: "GET", url: URL })
    .catch(() => {});
}
const afterFlood = heapMb();
const steady = createDeviceBinding({ ...options(), store: memoryStore() });
const steadyBefore = heapMb();
let steadyHalf = 0;
for (let i = 0; i < FLOOD; i++) {
  await steady.verifyProof(
    await devices[i % 16].proof({ method: "GET", url: URL, nonce: challenge }),
    {
      method: "GET",
      url: URL,
    },
  );
  if (i === FLOOD / 2 - 1) steadyHalf = heapMb();
}
const steadyAfter = heapMb();
const memory = {
  benchmark: "server-memory",
  title: "Verifier heap growth (MB after GC)",
  machine,
  rows: [
    {
      name: `${FLOOD} garbage proofs (distinct ~1 KB headers, bad signatures)`,
      heapGrowthMb: Number((afterFlood - before).toFixed(2)),
    },
    {
      name: `${FLOOD / 2} valid proofs (replay records kept)`,
      heapGrowthMb: Number((steadyHalf - steadyBefore).toFixed(2)),
    },
    {
      name: `${FLOOD} valid proofs (replay records kept)`,
      heapGrowthMb: Number((steadyAfter - steadyBefore).toFixed(2)),
    },
  ],
};
writeFileSync(
  new globalThis.URL("./results/memory.json", import.meta.url),
  `${JSON.stringify(memory, null, 2)}\n`,
);
console.log(`\n${memory.title}`);
for (const r of memory.rows) console.log(`| ${r.name} | ${r.heapGrowthMb} MB |`);
