// One server of the fleet: the demo's flows on Hono. Devices live in PostgreSQL; proof ids,
// sessions, pending sign-ins, settings and the outbox in Redis, so any process can answer any
// request. Pages and the page script are the Express example's, served as they are.
import { randomInt, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { createDeviceBinding, type DeviceEvent, isDeviceBindingError } from "@devicebound/server";
import { fetchDeviceBinding } from "@devicebound/server/fetch";
import { postgresStore } from "@devicebound/store-postgres";
import { redisStore } from "@devicebound/store-redis";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { Redis } from "ioredis";

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (see examples/hono-fleet/README.md)`);
  return value;
};
const port = Number(process.env.PORT ?? 3001);
const publicOrigin = env("PUBLIC_ORIGIN");
const secret = env("DEVICEBOUND_SECRET");
/** Prefix of the app's Redis keys (sessions, pending sign-ins, outbox, settings, replay). */
const prefix = process.env.REDIS_PREFIX ?? "fleet:";
const redis = new Redis(env("REDIS_URL"), { maxRetriesPerRequest: 1 });
const store = postgresStore({
  connectionString: env("DATABASE_URL"),
  schema: process.env.DATABASE_SCHEMA ?? "public",
});
const replayStore = redisStore({ client: redis, keyPrefix: `${prefix}replay:` });
const name = process.env.SERVER_NAME ?? `pid-${process.pid}`;

const USERS = ["alice", "bob", "carol", "dave", "erin", "frank"];
const checkPassword = (u: unknown, p: unknown) =>
  typeof u === "string" &&
  typeof p === "string" &&
  USERS.includes(u.trim().toLowerCase()) &&
  p === `${u.trim().toLowerCase()}-demo-pass`
    ? u.trim().toLowerCase()
    : null;

async function onEvent(event: DeviceEvent) {
  if (event.type === "newDevice") {
    const message = {
      at: new Date().toISOString(),
      subject: `New sign-in from ${event.device.displayName}`,
      body: `Signed in from a new device (${event.device.displayName}).`,
    };
    await redis.lpush(`${prefix}outbox:${event.device.userId}`, JSON.stringify(message));
  }
}
const options = { secret, store, replayStore, publicOrigin, onEvent };
const binding = createDeviceBinding(options);
const singleDevice = createDeviceBinding({
  ...options,
  maxDevicesPerUser: 1,
  onDeviceLimit: "remove-least-recently-seen",
});
// Behind the fleet's proxy, which sets X-Forwarded-For.
const glue = fetchDeviceBinding(binding, { trustProxy: true });

interface Session {
  userId: string;
  jkt: string;
}
const SESSION_TTL = 7 * 24 * 3600;
type Env = { Variables: { session: Session; deviceId: string } };
const app = new Hono<Env>();

class AppError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 413,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

app.use(async (c, next) => {
  await next();
  c.header("X-Served-By", name);
});

const EXAMPLE = new URL("../node_modules/example-express/", import.meta.url);
const file = (path: string, type: string) => async () =>
  new Response(await readFile(new URL(path, EXAMPLE)), { headers: { "Content-Type": type } });
app.get("/", file("public/index.html", "text/html; charset=utf-8"));
app.get("/devices", file("public/devices.html", "text/html; charset=utf-8"));
app.get("/inbox", file("public/inbox.html", "text/html; charset=utf-8"));
app.get("/static/style.css", file("public/style.css", "text/css"));
app.get("/static/app.js", file("dist/public/app.js", "text/javascript"));

app.get("/api/challenge", (c) => glue.challengeResponse(c.req.raw));

async function body(c: { req: { raw: Request } }): Promise<Record<string, unknown>> {
  const text = await c.req.raw.text();
  if (text.length > 8192) throw new AppError(413, "payload_too_large", "The body is too large.");
  try {
    const value = JSON.parse(text || "{}");
    return typeof value === "object" && value ? value : {};
  } catch {
    throw new AppError(400, "invalid_json", "The body is not valid JSON.");
  }
}

async function startSession(c: Parameters<typeof setSignedCookie>[0], session: Session) {
  const id = randomUUID();
  await redis.set(`${prefix}session:${id}`, JSON.stringify(session), "EX", SESSION_TTL);
  await setSignedCookie(c, "sid", id, secret, {
    path: "/",
    httpOnly: true,
    sameSite: "Lax",
    maxAge: SESSION_TTL,
  });
}

app.post("/api/login", async (c) => {
  const proof = await glue.verify(c.req.raw, { singleUseChallenge: true });
  const { username, password } = await body(c);
  const userId = checkPassword(username, password);
  if (!userId) throw new AppError(401, "invalid_credentials", "Unknown user or wrong password.");
  const known = await binding.isKnown(userId, proof);
  if (known.status === "blocked")
    throw new AppError(403, "ERR_DEVICE_BLOCKED", "This device is blocked for this account.");
  const next = await binding.createChallenge(glue.context(c.req.raw));
  c.header("DPoP-Nonce", next.challenge);
  if (known.status === "active") {
    await startSession(c, { userId, jkt: proof.jkt });
    return c.json({ status: "signed-in", newDevice: false });
  }
  const pendingId = randomUUID();
  const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
  await redis.set(
    `${prefix}pending:${pendingId}`,
    JSON.stringify({ userId, jkt: proof.jkt, code }),
    "EX",
    300,
  );
  return c.json({ status: "code-required", pendingId, demoCode: code });
});

app.post("/api/login/code", async (c) => {
  const proof = await glue.verify(c.req.raw);
  const { pendingId, code } = await body(c);
  const raw =
    typeof pendingId === "string" ? await redis.getdel(`${prefix}pending:${pendingId}`) : null;
  const entry = raw ? (JSON.parse(raw) as { userId: string; jkt: string; code: string }) : null;
  if (!entry || entry.jkt !== proof.jkt || entry.code !== String(code ?? "").trim()) {
    throw new AppError(
      400,
      "wrong_code",
      "That code is not right, or the sign-in expired. Start again.",
    );
  }
  const policy =
    (await redis.hget(`${prefix}single-device`, entry.userId)) === "1" ? singleDevice : binding;
  const { newDeviceDetected } = await policy.register(entry.userId, proof);
  await startSession(c, { userId: entry.userId, jkt: proof.jkt });
  return c.json({ status: "signed-in", newDevice: newDeviceDetected });
});

app.use("/api/*", async (c, next) => {
  const id = await getSignedCookie(c, secret, "sid");
  const raw = id ? await redis.get(`${prefix}session:${id}`) : null;
  const result = await glue.requireDevice(c.req.raw, () =>
    raw ? (JSON.parse(raw) as Session) : null,
  );
  if (!result.ok) return result.response;
  c.set("session", result.session);
  c.set("deviceId", result.device.id);
  await next();
});

app.get("/api/me", async (c) => {
  const { userId } = c.get("session");
  const device = await binding.get(userId, c.get("deviceId"));
  return c.json({
    user: { id: userId, name: userId[0]?.toUpperCase() + userId.slice(1) },
    device,
    settings: { singleDevice: (await redis.hget(`${prefix}single-device`, userId)) === "1" },
  });
});
app.get("/api/devices", async (c) => {
  const devices = await binding.list(c.get("session").userId);
  return c.json({ devices: devices.map((d) => ({ ...d, current: d.id === c.get("deviceId") })) });
});
app.patch("/api/devices/:id", async (c) =>
  c.json({
    device: await binding.update(c.get("session").userId, c.req.param("id"), {
      displayName: (await body(c)).displayName as string,
    }),
  }),
);
app.post("/api/devices/:id/block", async (c) =>
  c.json({ device: await binding.block(c.get("session").userId, c.req.param("id")) }),
);
app.post("/api/devices/:id/unblock", async (c) =>
  c.json({ device: await binding.unblock(c.get("session").userId, c.req.param("id")) }),
);
app.delete("/api/devices/:id", async (c) => {
  const current = c.req.param("id") === c.get("deviceId");
  await binding.delete(c.get("session").userId, c.req.param("id"));
  if (current) deleteCookie(c, "sid", { path: "/" });
  return c.json({ deleted: true, signedOut: current });
});
app.get("/api/inbox", async (c) => {
  const raw = await redis.lrange(`${prefix}outbox:${c.get("session").userId}`, 0, 99);
  return c.json({ messages: raw.map((m) => JSON.parse(m)) });
});
app.put("/api/settings", async (c) => {
  const { singleDevice: on } = await body(c);
  if (typeof on !== "boolean")
    throw new AppError(400, "invalid_input", "singleDevice must be true or false.");
  await redis.hset(`${prefix}single-device`, c.get("session").userId, on ? "1" : "0");
  return c.json({ settings: { singleDevice: on } });
});
app.post("/api/logout", (c) => {
  deleteCookie(c, "sid", { path: "/" });
  return c.json({ signedOut: true });
});

app.onError((error, c) => {
  if (isDeviceBindingError(error)) return glue.errorResponse(c.req.raw, error);
  if (error instanceof AppError)
    return c.json({ error: error.code, message: error.message }, error.status);
  console.error(error);
  return c.json({ error: "internal", message: "Something went wrong." }, 500);
});

const server = createServer(getRequestListener(app.fetch));
server.listen(port, "127.0.0.1", () => console.log(`${name} listening on 127.0.0.1:${port}`));
process.on("SIGTERM", () => {
  server.close();
  void Promise.all([store.close(), replayStore.close()])
    .then(() => redis.quit())
    .then(() => process.exit(0));
});
