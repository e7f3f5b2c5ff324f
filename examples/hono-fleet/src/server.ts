// One server of the fleet: the demo's flows (example-express/src/demo.ts) on Hono. Devices live in
// PostgreSQL; proof ids, sessions, pending sign-ins, counters, settings and the outbox in Redis,
// so any process can answer any request. Pages and the page script are the Express example's.
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { DeviceBinding } from "@devicebound/server";
import { type DeviceboundEnv, honoDeviceBinding } from "@devicebound/server/hono";
import { postgresStore } from "@devicebound/store-postgres";
import { redisStore } from "@devicebound/store-redis";
import { getRequestListener } from "@hono/node-server";
import { AppError, createDemo, type Reply, SECURITY_HEADERS } from "example-express/src/demo.js";
import type { SessionRecord, SsoSession } from "example-express/src/demo-state.js";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { Redis } from "ioredis";
import { redisState } from "./redis-state.js";

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
const redis = new Redis(env("REDIS_URL"), { maxRetriesPerRequest: 1, lazyConnect: true });
// Connection errors reach the commands that need Redis (503 answers); keep the latest for startup.
let redisError: Error | null = null;
redis.on("error", (error: Error) => {
  redisError = error;
});
const store = postgresStore({
  connectionString: env("DATABASE_URL"),
  schema: process.env.DATABASE_SCHEMA ?? "public",
});
const replayStore = redisStore({ client: redis, keyPrefix: `${prefix}replay:` });
const name = process.env.SERVER_NAME ?? `pid-${process.pid}`;

const demo = createDemo({
  binding: { secret, store, replayStore, publicOrigin },
  state: redisState(redis, prefix),
  secret,
  secureCookies: publicOrigin.startsWith("https:"),
});
// Behind the fleet's proxy, which appends to X-Forwarded-For.
const glue = honoDeviceBinding(demo.binding, { trustProxy: true });

type Env = {
  Variables: DeviceboundEnv["Variables"] & { session: SessionRecord; sso: SsoSession };
};
const app = new Hono<Env>();

app.use(async (c, next) => {
  await next();
  c.header("X-Served-By", name);
  for (const [header, value] of Object.entries(SECURITY_HEADERS)) c.header(header, value);
});

const EXAMPLE = new URL("../node_modules/example-express/", import.meta.url);
const file = (path: string, type: string) => async () =>
  new Response(await readFile(new URL(path, EXAMPLE)), { headers: { "Content-Type": type } });
app.get("/", file("public/index.html", "text/html; charset=utf-8"));
app.get("/devices", file("public/devices.html", "text/html; charset=utf-8"));
app.get("/inbox", file("public/inbox.html", "text/html; charset=utf-8"));
app.get("/admin", file("public/admin.html", "text/html; charset=utf-8"));
app.get("/admin/audit", file("public/audit.html", "text/html; charset=utf-8"));
app.get("/static/style.css", file("public/style.css", "text/css"));
app.get("/static/app.js", file("dist/public/app.js", "text/javascript"));
// The sign-in forms post here only before the page script runs; the body is never read.
app.post("/signin", (c) => c.redirect("/?notice=not-ready", 303));

app.get("/api/challenge", glue.challengeHandler());

async function body(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.raw.text();
  if (text.length > 8192) throw new AppError(413, "payload_too_large", "The body is too large.");
  try {
    const value = JSON.parse(text || "{}");
    return typeof value === "object" && value ? value : {};
  } catch {
    throw new AppError(400, "invalid_json", "The body is not valid JSON.");
  }
}

function send(c: Context, reply: Reply) {
  for (const cookie of [reply.setCookie ?? []].flat())
    c.header("Set-Cookie", cookie, { append: true });
  for (const [name, value] of Object.entries(reply.headers ?? {})) c.header(name, value);
  return c.json(reply.body as object);
}

// Simulated single sign-on, as in the Express demo: the stand-in provider's form posts here and
// the app answers as after a real redirect, with a session that has no device and no proof.
app.get("/sso/start", file("public/sso.html", "text/html; charset=utf-8"));
app.post("/sso/callback", async (c) => {
  const form = await c.req.parseBody();
  try {
    const reply = await demo.ssoCallback(
      { username: form.username, password: form.password },
      glue.context(c).ipAddress ?? null,
    );
    for (const cookie of [reply.setCookie ?? []].flat())
      c.header("Set-Cookie", cookie, { append: true });
    return c.redirect("/?sso=1", 303);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return c.redirect("/sso/start#provider-error", 303);
  }
});
// The first request with a proof binds the SSO session to this browser's key (atomically across
// the fleet: the compare-and-set is a Redis script); nothing else accepts an unbound session.
const ssoGuards = new Map<DeviceBinding, MiddlewareHandler<Env>>();
const ssoGuard = (binding: DeviceBinding) => {
  let guard = ssoGuards.get(binding);
  if (!guard) {
    // The guard sets `devicebound`, one of Env's variables, so it serves this app's routes.
    guard = honoDeviceBinding(binding, { trustProxy: true }).requireDevice(
      (c) => (c as Context<Env>).get("sso"),
      { bindSession: (c, jkt) => demo.bindSso((c as Context<Env>).get("sso").id, jkt) },
    ) as unknown as MiddlewareHandler<Env>;
    ssoGuards.set(binding, guard);
  }
  return guard;
};
app.post(
  "/api/sso/bind",
  async (c, next) => {
    const sso = await demo.ssoSession(c.req.header("cookie"));
    c.set("sso", sso);
    return ssoGuard(await demo.bindingFor(sso.userId))(c, next);
  },
  async (c) => send(c, await demo.finishSso(c.get("sso"), c.get("devicebound"))),
);

app.post("/api/login", async (c) => {
  // The login's challenge is single-use, so the next request needs a new one.
  const proof = await glue.verify(c, { singleUseChallenge: true });
  await glue.addNonce(c);
  return send(c, await demo.login(proof, await body(c)));
});
app.post("/api/recognize", async (c) =>
  send(c, await demo.recognize(await glue.verify(c), await body(c))),
);
app.post("/api/login/code", async (c) =>
  send(c, await demo.submitCode(await glue.verify(c), await body(c))),
);
app.post("/api/login/resend", async (c) =>
  send(c, await demo.resendCode(await glue.verify(c), await body(c))),
);
app.post("/api/login/cancel", async (c) =>
  send(c, await demo.cancelSignIn(await glue.verify(c), await body(c))),
);

// Everything below needs a live session AND a proof from the key of the session's device.
app.use(
  "/api/*",
  async (c, next) => {
    c.set("session", await demo.authenticate(c.req.header("cookie")));
    await next();
  },
  glue.requireDevice((c) => (c as Context<Env>).get("session")),
  async (c, next) => {
    await demo.checkDevice(c.get("session"), c.get("devicebound").device);
    await next();
  },
);
const who = (c: Context<Env>) => [c.get("session"), c.get("devicebound").device] as const;

app.get("/api/me", async (c) => send(c, await demo.me(...who(c), c.get("devicebound").tier)));
app.get("/api/devices", async (c) => send(c, await demo.devices(...who(c))));
app.patch("/api/devices/:id", async (c) =>
  send(c, await demo.rename(...who(c), c.req.param("id"), await body(c))),
);
app.post("/api/devices/:id/block", async (c) =>
  send(c, await demo.block(...who(c), c.req.param("id"))),
);
app.post("/api/devices/:id/unblock", async (c) =>
  send(c, await demo.unblock(...who(c), c.req.param("id"))),
);
app.delete("/api/devices/:id", async (c) =>
  send(c, await demo.remove(...who(c), c.req.param("id"))),
);
app.get("/api/inbox", async (c) => send(c, await demo.inbox(c.get("session"))));
app.post("/api/transfer", async (c) =>
  send(c, await demo.transfer(...who(c), await body(c), glue.context(c))),
);
app.get("/api/admin/devices", async (c) =>
  send(c, await demo.adminDevices(c.get("session"), c.req.query())),
);
app.post("/api/admin/devices/:user/:id/:action", async (c) =>
  send(
    c,
    await demo.adminAct(
      c.get("session"),
      c.req.param("user"),
      c.req.param("id"),
      c.req.param("action") === "unblock" ? "unblock" : "block",
    ),
  ),
);
app.delete("/api/admin/devices/:user/:id", async (c) =>
  send(c, await demo.adminAct(c.get("session"), c.req.param("user"), c.req.param("id"), "delete")),
);
app.get("/api/admin/audit", async (c) => send(c, await demo.auditLog(c.get("session"))));
app.put("/api/settings", async (c) =>
  send(c, await demo.saveSettings(c.get("session"), await body(c))),
);
app.post("/api/logout", async (c) => send(c, await demo.logout(c.get("session"))));
app.all("/api/*", () => {
  throw new AppError(404, "not_found", "No such API route.");
});

// DeviceBindingErrors get their RFC 9449 answer from the adapter; the demo's own errors, and
// anything unexpected, are answered here.
app.onError(
  glue.errorHandler((error, c) => {
    if (error instanceof AppError) return c.json(error.toJSON(), error.status);
    console.error(error);
    return c.json({ error: "internal", message: "Something went wrong." }, 500);
  }),
);

// Reach both databases before taking requests, so a wrong setting stops this process at once
// (and with it the launcher) instead of failing every request later.
try {
  await redis.connect();
  await redis.ping();
} catch (error) {
  const reason = (redisError as Error | null)?.message ?? (error as Error).message;
  console.error(`${name}: cannot reach Redis at REDIS_URL: ${reason}`);
  process.exit(1);
}
try {
  await store.listDevices("startup-check");
} catch (error) {
  const cause = (error as { cause?: Error }).cause;
  console.error(
    `${name}: cannot reach PostgreSQL at DATABASE_URL: ${cause?.message ?? (error as Error).message}`,
  );
  process.exit(1);
}

const server = createServer(getRequestListener(app.fetch));
server.on("error", (error) => {
  console.error(`${name}: cannot listen on 127.0.0.1:${port}: ${error.message}`);
  process.exit(1);
});
server.listen(port, "127.0.0.1", () => {
  console.log(`${name} listening on 127.0.0.1:${port}`);
  process.send?.({ ready: name });
});
const stopSweeping = demo.startSweeping();
process.on("SIGTERM", () => {
  stopSweeping();
  server.close();
  server.closeAllConnections();
  void Promise.all([store.close(), replayStore.close()])
    .then(() => redis.quit())
    .then(() => process.exit(0));
});
// Ctrl-C reaches the whole process group; the launcher decides, and sends SIGTERM.
process.on("SIGINT", () => {});
