// The demo app: sign-in through fetchWithDevice, a one-time code for new devices, "new sign-in"
// messages, device management, and sessions that only work together with their device key.
import { randomInt, randomUUID } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createDeviceBinding, type DeviceEvent, isDeviceBindingError } from "@devicebound/server";
import { type GuardResult, nodeDeviceBinding } from "@devicebound/server/express";
import { sqliteStore } from "@devicebound/store-sqlite";
import express, { type NextFunction, type Request, type Response } from "express";
import { createOutbox } from "./outbox.js";
import { createSessions } from "./sessions.js";
import { checkPassword, USERS } from "./users.js";

export interface AppConfig {
  dataDir: string;
  /** Origins the browser uses to reach the app (htu is checked against them). */
  publicOrigins: string[];
  secret: string;
}

interface PendingSignIn {
  userId: string;
  jkt: string;
  code: string;
  expiresAt: number;
  attempts: number;
}

const CODE_TTL_MS = 5 * 60_000;
const PAGES = fileURLToPath(new URL("../public/", import.meta.url));
const SCRIPTS = fileURLToPath(new URL("./public/", import.meta.url));

class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function createApp(config: AppConfig) {
  const store = sqliteStore({ filename: join(config.dataDir, "devices.db") });
  const outbox = createOutbox(join(config.dataDir, "outbox.jsonl"));
  const sessions = createSessions(
    config.secret,
    config.publicOrigins.every((o) => o.startsWith("https:")),
  );
  const settingsFile = join(config.dataDir, "settings.json");
  const settings: Record<string, { singleDevice: boolean }> = existsSync(settingsFile)
    ? JSON.parse(readFileSync(settingsFile, "utf8"))
    : {};
  const pending = new Map<string, PendingSignIn>();

  function onEvent(event: DeviceEvent) {
    if (event.type === "newDevice") {
      outbox.send({
        userId: event.device.userId,
        subject: `New sign-in from ${event.device.displayName}`,
        body: `Your account was signed in from a new device (${event.device.displayName}). If this was not you, block it on the Your devices page.`,
      });
    }
    if (event.type === "deleted") sessions.endDevice(event.device.userId, event.device.jkt);
  }
  const options = { secret: config.secret, store, publicOrigin: config.publicOrigins, onEvent };
  const binding = createDeviceBinding(options);
  // The single-device policy: registering a new device removes the least recently seen one.
  const singleDevice = createDeviceBinding({
    ...options,
    maxDevicesPerUser: 1,
    onDeviceLimit: "remove-least-recently-seen",
  });
  const glue = nodeDeviceBinding(binding);

  const app = express();
  app.disable("x-powered-by");
  app.use((_req, res, next) => {
    res.setHeader("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'");
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Referrer-Policy", "same-origin");
    next();
  });
  app.use(express.json({ limit: "8kb" }));

  const page = (file: string) => (_req: Request, res: Response) => res.sendFile(join(PAGES, file));
  app.get("/", page("index.html"));
  app.get("/devices", page("devices.html"));
  app.get("/inbox", page("inbox.html"));
  app.use("/static", express.static(PAGES, { index: false }));
  app.use("/static", express.static(SCRIPTS, { index: false }));

  app.get("/api/challenge", glue.challengeHandler());

  /** Step 1: password, and a proof from the device key (its challenge single-use). */
  app.post("/api/login", async (req, res) => {
    const proof = await glue.verify(req, { singleUseChallenge: true });
    const user = checkPassword(req.body?.username, req.body?.password);
    if (!user) throw new AppError(401, "invalid_credentials", "Unknown user or wrong password.");
    await glue.addNonce(req, res); // the login used up the challenge: hand over the next one
    const known = await binding.isKnown(user.id, proof);
    if (known.status === "blocked") {
      throw new AppError(403, "ERR_DEVICE_BLOCKED", "This device is blocked for this account.");
    }
    if (known.status === "active") {
      // Remember-this-device: a known device skips the second step.
      sessions.start(res, user.id, proof.jkt);
      res.json({ status: "signed-in", newDevice: false });
      return;
    }
    const pendingId = randomUUID();
    const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
    pending.set(pendingId, {
      userId: user.id,
      jkt: proof.jkt,
      code,
      expiresAt: Date.now() + CODE_TTL_MS,
      attempts: 0,
    });
    // A real app sends the code by mail or SMS; the demo shows it on screen.
    res.json({ status: "code-required", pendingId, demoCode: code });
  });

  /** Step 2, new devices only: the one-time code, from the same device key. */
  app.post("/api/login/code", async (req, res) => {
    const proof = await glue.verify(req);
    const { pendingId, code } = req.body ?? {};
    const entry = typeof pendingId === "string" ? pending.get(pendingId) : undefined;
    if (!entry || entry.expiresAt < Date.now() || entry.jkt !== proof.jkt) {
      if (entry && entry.expiresAt < Date.now()) pending.delete(pendingId);
      throw new AppError(
        400,
        "sign_in_expired",
        "This sign-in expired or belongs to another device. Start again.",
      );
    }
    if (typeof code !== "string" || code.trim() !== entry.code) {
      if (++entry.attempts >= 5) pending.delete(pendingId);
      throw new AppError(400, "wrong_code", "That code is not right.");
    }
    pending.delete(pendingId);
    const policy = settings[entry.userId]?.singleDevice ? singleDevice : binding;
    const { newDeviceDetected } = await policy.register(entry.userId, proof);
    sessions.start(res, entry.userId, proof.jkt);
    res.json({ status: "signed-in", newDevice: newDeviceDetected });
  });

  // Everything below needs a session AND a proof from the session's device key.
  app.use(
    "/api",
    glue.requireDevice((req) => sessions.get(req)),
  );
  const me = (req: Request) => (req as Request & { devicebound: GuardResult }).devicebound;
  const deviceId = (req: Request) => String(req.params.id);

  app.get("/api/me", (req, res) => {
    const { session, device } = me(req);
    const user = USERS.find((u) => u.id === session.userId);
    res.json({
      user: { id: user?.id, name: user?.name },
      device,
      settings: settings[session.userId] ?? { singleDevice: false },
    });
  });

  app.get("/api/devices", async (req, res) => {
    const { session, device } = me(req);
    const devices = await binding.list(session.userId);
    res.json({ devices: devices.map((d) => ({ ...d, current: d.id === device.id })) });
  });

  app.patch("/api/devices/:id", async (req, res) => {
    res.json({
      device: await binding.update(me(req).session.userId, deviceId(req), {
        displayName: req.body?.displayName,
      }),
    });
  });
  app.post("/api/devices/:id/block", async (req, res) => {
    res.json({ device: await binding.block(me(req).session.userId, deviceId(req)) });
  });
  app.post("/api/devices/:id/unblock", async (req, res) => {
    res.json({ device: await binding.unblock(me(req).session.userId, deviceId(req)) });
  });
  app.delete("/api/devices/:id", async (req, res) => {
    const { session, device } = me(req);
    await binding.delete(session.userId, deviceId(req));
    // Deleting this very device signs it out; its next sign-in is a new device.
    if (deviceId(req) === device.id) sessions.end(req, res);
    res.json({ deleted: true, signedOut: deviceId(req) === device.id });
  });

  app.get("/api/inbox", (req, res) => {
    res.json({ messages: outbox.list(me(req).session.userId) });
  });

  app.put("/api/settings", (req, res) => {
    const singleDevice = req.body?.singleDevice;
    if (typeof singleDevice !== "boolean")
      throw new AppError(400, "invalid_input", "singleDevice must be true or false.");
    settings[me(req).session.userId] = { singleDevice };
    writeFileSync(settingsFile, JSON.stringify(settings));
    res.json({ settings: { singleDevice } });
  });

  app.post("/api/logout", (req, res) => {
    sessions.end(req, res);
    res.json({ signedOut: true });
  });

  app.use("/api", (_req, _res, next) => next(new AppError(404, "not_found", "No such API route.")));

  // One place turns every failure into a clear JSON answer; nothing reaches the client as a crash.
  app.use(async (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (isDeviceBindingError(error)) return glue.sendError(req, res, error);
    if (error instanceof AppError)
      return void res.status(error.status).json({ error: error.code, message: error.message });
    const type = (error as { type?: string }).type;
    if (type === "entity.parse.failed")
      return void res
        .status(400)
        .json({ error: "invalid_json", message: "The body is not valid JSON." });
    if (type === "entity.too.large")
      return void res
        .status(413)
        .json({ error: "payload_too_large", message: "The body is too large." });
    console.error(error);
    res.status(500).json({ error: "internal", message: "Something went wrong." });
  });

  return { app, close: () => store.close() };
}
