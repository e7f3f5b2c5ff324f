// Child process for the cross-process tests: runs one action against the built store.
import { sqliteStore } from "../dist/index.js";

const [action, filename, arg] = process.argv.slice(2);
const store = sqliteStore({ filename });
const at = new Date(1767225600000);
const device = (jkt, id) => ({
  id,
  userId: "user-1",
  jkt,
  publicJwk: { kty: "EC", crv: "P-256", x: "x".repeat(43), y: "y".repeat(43) },
  alg: "ES256",
  status: "active",
  displayName: "Child",
  createdAt: at,
  lastSeenAt: at,
  userAgent: null,
  metadata: { pid: process.pid },
});

// Start together: wait for the parent's go signal on stdin.
await new Promise((resolve) => process.stdin.once("data", resolve));
if (action === "insert") {
  const outcomes = [];
  for (let i = 0; i < 5; i++)
    outcomes.push((await store.insertDevice(device(arg, `d-${process.pid}-${i}`))).outcome);
  console.log(JSON.stringify(outcomes));
} else if (action === "block") {
  const blocked = await store.updateDevice("user-1", arg, { status: "blocked" });
  console.log(JSON.stringify([blocked?.status ?? null]));
} else if (action === "consume") {
  console.log(JSON.stringify([await store.consume(arg, Date.now() + 60_000)]));
} else if (action === "write-forever") {
  console.log("[]");
  for (let i = 0; ; i++) {
    await store.insertDevice({
      ...device(`loop-${i}`, `loop-${i}`),
      metadata: { blob: "x".repeat(4000), i },
    });
  }
}
await store.close();
