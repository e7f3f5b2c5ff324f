// The demo on Express: each route reads the request, calls the flow in demo.ts and writes the
// reply. Sessions, pending sign-ins and messages live in SQLite next to the devices.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DeviceBinding } from "@devicebound/server";
import { isDeviceBindingError } from "@devicebound/server";
import { type BoundGuardResult, nodeDeviceBinding } from "@devicebound/server/express";
import { sqliteStore } from "@devicebound/store-sqlite";
import express, { type NextFunction, type Request, type Response } from "express";
import { AppError, createDemo, type Reply, SECURITY_HEADERS } from "./demo.js";
import type { SessionRecord, SsoSession } from "./demo-state.js";
import { sqliteState } from "./sqlite-state.js";

export interface AppConfig {
  dataDir: string;
  /** Origins the browser uses to reach the app (htu is checked against them). */
  publicOrigins: string[];
  secret: string;
  /** Hardware-bound sessions (DBSC), for HTTPS origins: the bound cookie's lifetime. */
  dbsc?: { cookieLifetimeSeconds: number };
}

export const PAGES = fileURLToPath(new URL("../public/", import.meta.url));
const SCRIPTS = fileURLToPath(new URL("./public/", import.meta.url));

type Authed = Request & { demoSession: SessionRecord; devicebound: BoundGuardResult };
type SsoRequest = Request & { sso: SsoSession; devicebound: BoundGuardResult };

export function createApp(config: AppConfig) {
  const store = sqliteStore({ filename: join(config.dataDir, "devices.db") });
  const demo = createDemo({
    binding: {
      secret: config.secret,
      store,
      publicOrigin: config.publicOrigins,
      ...(config.dbsc ? { dbsc: config.dbsc } : {}),
    },
    state: sqliteState(store),
    secret: config.secret,
    secureCookies: config.publicOrigins.every((o) => o.startsWith("https:")),
  });
  const stopSweeping = demo.startSweeping();
  const glue = nodeDeviceBinding(demo.binding);

  const app = express();
  app.disable("x-powered-by");
  app.use((_req, res, next) => {
    res.set(SECURITY_HEADERS);
    next();
  });
  app.use(express.json({ limit: "8kb" }));

  const send = (res: Response, reply: Reply) => {
    if (reply.setCookie) res.setHeader("Set-Cookie", reply.setCookie);
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    res.json(reply.body);
  };

  const page = (file: string) => (_req: Request, res: Response) => res.sendFile(join(PAGES, file));
  app.get("/", page("index.html"));
  app.get("/devices", page("devices.html"));
  app.get("/inbox", page("inbox.html"));
  app.get("/admin", page("admin.html"));
  app.get("/admin/audit", page("audit.html"));
  // The sign-in forms post here only when the page script has not run (it handles submit
  // itself). The body is never read: the password neither reaches a URL nor gets used.
  app.post("/signin", (_req, res) => res.redirect(303, "/?notice=not-ready"));
  app.use("/static", express.static(PAGES, { index: false }));
  app.use("/static", express.static(SCRIPTS, { index: false }));

  app.get("/api/challenge", glue.challengeHandler());
  // Hardware-bound sessions (DBSC): Chromium registers its key and refreshes the bound cookie
  // here by itself. No app session needed: the DBSC key signs each call.
  if (demo.binding.dbsc.enabled) {
    app.post(demo.binding.dbsc.registrationPath, glue.dbscRegistration());
    app.post(demo.binding.dbsc.refreshPath, glue.dbscRefresh());
  }

  // Simulated single sign-on: the stand-in identity provider's form posts here, and the app
  // answers as after a real OAuth or SAML redirect: a session with no device, and no proof.
  app.get("/sso/start", page("sso.html"));
  app.post(
    "/sso/callback",
    express.urlencoded({ extended: false, limit: "2kb" }),
    async (req: Request, res: Response) => {
      try {
        const reply = await demo.ssoCallback(req.body, glue.context(req).ipAddress ?? null);
        if (reply.setCookie) res.setHeader("Set-Cookie", reply.setCookie);
        res.redirect(303, "/?sso=1");
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        res.redirect(303, "/sso/start#provider-error");
      }
    },
  );
  // The first request with a proof binds the SSO session to this browser's key; nothing else
  // accepts a session that has no device.
  const ssoGuards = new Map<DeviceBinding, ReturnType<typeof glue.requireDevice<SsoRequest>>>();
  const ssoGuard = (binding: DeviceBinding) => {
    let guard = ssoGuards.get(binding);
    if (!guard) {
      guard = nodeDeviceBinding(binding).requireDevice((req: SsoRequest) => req.sso, {
        bindSession: (req, jkt) => demo.bindSso(req.sso.id, jkt),
      });
      ssoGuards.set(binding, guard);
    }
    return guard;
  };
  app.post(
    "/api/sso/bind",
    async (req, res, next) => {
      const sso = await demo.ssoSession(req.headers.cookie);
      (req as SsoRequest).sso = sso;
      await ssoGuard(await demo.bindingFor(sso.userId))(req as SsoRequest, res, next);
    },
    async (req, res) => {
      const { sso, devicebound } = req as SsoRequest;
      send(res, await demo.finishSso(sso, devicebound));
    },
  );

  app.post("/api/login", async (req, res) => {
    // The login's challenge is single-use, so the next request needs a new one.
    const proof = await glue.verify(req, { singleUseChallenge: true });
    await glue.addNonce(req, res);
    send(res, await demo.login(proof, req.body));
  });
  // "Welcome back": a proof, and the user id this browser remembers; no session needed.
  app.post("/api/recognize", async (req, res) => {
    send(res, await demo.recognize(await glue.verify(req), req.body));
  });
  app.post("/api/login/code", async (req, res) => {
    send(res, await demo.submitCode(await glue.verify(req), req.body));
  });
  app.post("/api/login/resend", async (req, res) => {
    send(res, await demo.resendCode(await glue.verify(req), req.body));
  });
  app.post("/api/login/cancel", async (req, res) => {
    send(res, await demo.cancelSignIn(await glue.verify(req), req.body));
  });

  // Everything below needs a live session AND a proof from the key of the session's device.
  app.use(
    "/api",
    async (req, _res, next) => {
      (req as Authed).demoSession = await demo.authenticate(req.headers.cookie);
      next();
    },
    glue.requireDevice((req) => (req as Authed).demoSession),
    async (req, _res, next) => {
      const { demoSession, devicebound } = req as Authed;
      await demo.checkDevice(demoSession, devicebound.device);
      next();
    },
  );
  const who = (req: Request) => {
    const { demoSession, devicebound } = req as Authed;
    return [demoSession, devicebound.device] as const;
  };
  const tier = (req: Request) => (req as Authed).devicebound.tier;
  const id = (req: Request) => String(req.params.id);

  app.get("/api/me", async (req, res) => send(res, await demo.me(...who(req), tier(req))));
  app.get("/api/devices", async (req, res) => send(res, await demo.devices(...who(req))));
  app.patch("/api/devices/:id", async (req, res) =>
    send(res, await demo.rename(...who(req), id(req), req.body)),
  );
  app.post("/api/devices/:id/block", async (req, res) =>
    send(res, await demo.block(...who(req), id(req))),
  );
  app.post("/api/devices/:id/unblock", async (req, res) =>
    send(res, await demo.unblock(...who(req), id(req))),
  );
  app.delete("/api/devices/:id", async (req, res) =>
    send(res, await demo.remove(...who(req), id(req))),
  );
  app.get("/api/inbox", async (req, res) => send(res, await demo.inbox(who(req)[0])));
  app.post("/api/transfer", async (req, res) =>
    send(res, await demo.transfer(...who(req), req.body, glue.context(req))),
  );
  app.get("/api/admin/devices", async (req, res) =>
    send(res, await demo.adminDevices(who(req)[0], req.query as Record<string, unknown>)),
  );
  app.post("/api/admin/devices/:user/:id/:action", async (req, res) => {
    const action = req.params.action === "unblock" ? "unblock" : "block";
    send(res, await demo.adminAct(who(req)[0], String(req.params.user), id(req), action));
  });
  app.delete("/api/admin/devices/:user/:id", async (req, res) =>
    send(res, await demo.adminAct(who(req)[0], String(req.params.user), id(req), "delete")),
  );
  app.get("/api/admin/audit", async (req, res) => send(res, await demo.auditLog(who(req)[0])));
  app.put("/api/settings", async (req, res) =>
    send(res, await demo.saveSettings(who(req)[0], req.body)),
  );
  app.post("/api/logout", async (req, res) => send(res, await demo.logout(who(req)[0])));

  app.use("/api", (_req, _res, next) => next(new AppError(404, "not_found", "No such API route.")));

  // One place turns every failure into a clear JSON answer; nothing reaches the client as a crash.
  app.use(async (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (isDeviceBindingError(error)) return glue.sendError(req, res, error);
    if (error instanceof AppError) return void res.status(error.status).json(error);
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

  return {
    app,
    close: async () => {
      stopSweeping();
      await store.close();
    },
  };
}
