// DBSC in real Chromium: Debian's Chromium 156 registers and refreshes a hardware-style (here
// software) key against the Express adapter over HTTPS, with fetchWithDevice signing every request.
// A second Chromium without DBSC gets the dpop tier. Build-specific switches: scripts/chromium.mjs.
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import {
  createServer as createHttpsServer,
  request as httpsRequest,
  type Server,
} from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import express from "express";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  chromiumDbscLaunchOptions,
  chromiumWithoutDbscLaunchOptions,
  DBSC_FEATURES,
} from "../../../scripts/chromium.mjs";
import { nodeDeviceBinding } from "./adapters/express.js";
import type { DeviceSession } from "./adapters/guard.js";
import type { DbscOptions } from "./dbsc.js";
import type { DeviceBinding } from "./device-binding.js";
import type { DeviceEvent } from "./events.js";
import { createDeviceBinding, memoryStore } from "./index.node.js";
import { createTestCertificate } from "./testing/certificate.js";
import { createTestDevice } from "./testing/test-device.js";

const COOKIE_LIFETIME_SECONDS = 5;
const PAGE = `<!doctype html><meta charset="utf-8"><title>dbsc</title><script type="module">
import * as device from "/devicebound.js";
device.initFetchWithDevice({
  fetchChallenge: async () => {
    const { challenge, expiresAt } = await (await fetch("/challenge")).json();
    return { challenge, expiresAt: new Date(expiresAt * 1000) };
  },
});
window.device = device;
window.me = async () => {
  const response = await device.fetchWithDevice("/api/me");
  return { status: response.status, body: await response.json() };
};
</script>`;

interface Me {
  status: number;
  body: { tier?: string; deviceId?: string; error?: string };
}

let dir: string;
let key: string;
let cert: string;
let spki: string;
let script: string;
// The ES256 app most tests use; module-level for the helpers below.
let server: Server;
let origin: string;
let binding: DeviceBinding;
let events: DeviceEvent[];

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 20_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "devicebound-dbsc-"));
  ({ key, cert, spkiSha256: spki } = createTestCertificate());
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL("../../browser/src/index.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
  });
  script = bundle.outputFiles[0]?.text ?? "";
  ({ server, origin, binding, events } = await startApp());
});

/** The test app over HTTPS: sign-in with fetchWithDevice, the DBSC routes and /api/me. */
async function startApp(dbsc: DbscOptions = {}) {
  const sessions = new Map<string, DeviceSession>();
  const appSession = (req: express.Request) => {
    const sid = /(?:^|;\s*)app-session=([A-Za-z0-9_-]+)/.exec(req.headers.cookie ?? "")?.[1];
    return sid ? sessions.get(sid) : undefined;
  };
  const events: DeviceEvent[] = [];
  const app = express();
  const server = createHttpsServer({ key, cert }, app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `https://localhost:${(server.address() as AddressInfo).port}`;
  const binding = createDeviceBinding({
    secret: randomBytes(32),
    store: memoryStore(),
    publicOrigin: origin,
    dbsc: { cookieLifetimeSeconds: COOKIE_LIFETIME_SECONDS, ...dbsc },
    onEvent: (event) => void events.push(event),
  });
  const glue = nodeDeviceBinding(binding);
  app.get("/", (_req, res) => void res.type("html").send(PAGE));
  app.get("/devicebound.js", (_req, res) => void res.type("js").send(script));
  app.get("/challenge", glue.challengeHandler());
  app.post(
    "/login",
    glue.handle(async (req: express.Request, res: express.Response) => {
      const proof = await glue.verify(req, { singleUseChallenge: true });
      const { device } = await binding.register("alice", proof);
      const dbscSessionId = await glue.startDbsc(req, res, { userId: "alice", device });
      const sid = randomBytes(16).toString("base64url");
      sessions.set(sid, { userId: "alice", jkt: proof.jkt, dbscSessionId });
      // A persistent cookie, so a copied profile carries the session, as a real app's "stay
      // signed in" session would.
      res.setHeader(
        "Set-Cookie",
        `app-session=${sid}; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax`,
      );
      res.json({ deviceId: device.id, dbscSessionId });
    }),
  );
  app.post(binding.dbsc.registrationPath, glue.dbscRegistration());
  app.post(binding.dbsc.refreshPath, glue.dbscRefresh());
  app.get("/api/me", glue.requireDevice(appSession), (req, res) => {
    const { tier, device } = (
      req as unknown as { devicebound: { tier: string; device: { id: string } } }
    ).devicebound;
    res.json({ tier, deviceId: device.id });
  });
  app.use(glue.errorHandler());
  return { server, origin, binding, events };
}

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function open(
  browser: Browser,
  at: string = origin,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${at}/`);
  await page.waitForFunction(() => "me" in window);
  return { context, page };
}

async function signIn(page: Page): Promise<{ deviceId: string; dbscSessionId: string }> {
  return page.evaluate(async () => {
    const device = (window as unknown as { device: { fetchWithDevice: typeof fetch } }).device;
    const response = await device.fetchWithDevice("/login", { method: "POST" });
    if (!response.ok) throw new Error(`sign-in answered ${response.status}`);
    return response.json();
  });
}

const me = (page: Page): Promise<Me> =>
  page.evaluate(() => (window as unknown as { me: () => Promise<Me> }).me());

/** A request from outside the browser, with copied cookies (and optionally a proof). */
function fromOutside(cookie: string, dpop?: string): Promise<Me> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      `${origin}/api/me`,
      { ca: cert, headers: { cookie, ...(dpop ? { dpop } : {}) } },
      (response) => {
        let body = "";
        response.on("data", (chunk) => (body += chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(body) }),
        );
      },
    );
    request.on("error", reject);
    request.end();
  });
}

describe("DBSC in Chromium (Debian build, software keys)", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch(chromiumDbscLaunchOptions(spki));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("registers at sign-in, serves the dbsc tier, refreshes a short cookie, refuses copied cookies and ends the session when the device is blocked", async () => {
    const { context, page } = await open(browser);
    const cdp = await context.newCDPSession(page);
    const cdpEvents: Record<string, unknown>[] = [];
    cdp.on("Network.deviceBoundSessionEventOccurred", (event) => void cdpEvents.push(event));
    await cdp.send("Network.enable");
    await cdp.send("Network.enableDeviceBoundSessions", { enable: true });

    const { deviceId, dbscSessionId } = await signIn(page);
    const started = await until(
      `Chromium ${browser.version()} to register a DBSC session (features ${DBSC_FEATURES.join(", ")}): ` +
        "if this build no longer honours them, update scripts/chromium.mjs",
      () => events.find((e) => e.type === "dbscSessionStarted" && e.session.id === dbscSessionId),
    );
    expect(started).toMatchObject({ session: { deviceId, status: "active", alg: "ES256" } });
    // DevTools sees the same session created in the browser.
    await until("DevTools to report the session's creation", () =>
      cdpEvents.find(
        (e) => e.sessionId === dbscSessionId && e.succeeded === true && "creationEventDetails" in e,
      ),
    );
    expect(await me(page)).toEqual({ status: 200, body: { tier: "dbsc", deviceId } });

    // Past the cookie's lifetime the browser refreshes (signing our challenge) before it sends.
    const refreshesBefore = events.filter((e) => e.type === "dbscSessionRefreshed").length;
    await new Promise((resolve) => setTimeout(resolve, (COOKIE_LIFETIME_SECONDS + 1) * 1000));
    expect(await me(page)).toEqual({ status: 200, body: { tier: "dbsc", deviceId } });
    expect(events.filter((e) => e.type === "dbscSessionRefreshed").length).toBeGreaterThan(
      refreshesBefore,
    );
    await until("DevTools to report a refresh", () =>
      cdpEvents.find(
        (e) =>
          e.sessionId === dbscSessionId &&
          (e.refreshEventDetails as { refreshResult?: string } | undefined)?.refreshResult ===
            "Refreshed",
      ),
    );

    // Every cookie of the browser, copied elsewhere: no proof, or a proof by another key.
    const copied = (await context.cookies())
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join("; ");
    expect(copied).toContain(binding.dbsc.cookieName);
    expect(await fromOutside(copied)).toMatchObject({
      status: 401,
      body: { error: "ERR_PROOF_MISSING" },
    });
    const thief = await createTestDevice();
    const nonce = (await binding.createChallenge()).challenge;
    const proof = await thief.proof({ method: "GET", url: `${origin}/api/me`, nonce });
    expect(await fromOutside(copied, proof)).toMatchObject({
      status: 401,
      body: { error: "ERR_DEVICE_MISMATCH" },
    });

    // Blocking refuses the device at once; its next refresh ends the DBSC session in the browser.
    await binding.block("alice", deviceId);
    expect(await me(page)).toMatchObject({ status: 403, body: { error: "ERR_DEVICE_BLOCKED" } });
    const ended = await until("the DBSC session to end", () => {
      const event = events.find(
        (e) => e.type === "dbscSessionEnded" && e.session.id === dbscSessionId,
      );
      return event;
    });
    expect(ended).toMatchObject({ reason: "device-blocked" });
    // The termination answer removed the bound cookie from the browser.
    await until("Chromium to drop the bound cookie", async () =>
      (await context.cookies()).some((cookie) => cookie.name === binding.dbsc.cookieName)
        ? undefined
        : true,
    );
    expect((await binding.dbsc.listSessions("alice", deviceId))[0]).toMatchObject({
      status: "ended",
      endReason: "device-blocked",
    });
    await context.close();
  });
});

describe("a copied browser profile", () => {
  /** Opens the page in a Chromium started on `profile` (a user data directory). */
  async function launchProfile(profile: string) {
    const context = await chromium.launchPersistentContext(
      profile,
      chromiumDbscLaunchOptions(spki),
    );
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => "me" in window);
    return { context, page };
  }

  it("signs as the same device; without the DBSC key, which a TPM keeps, it is refused as a theft once the bound cookie expires", async () => {
    const profile = join(dir, "profile");
    const original = await launchProfile(profile);
    const { deviceId, dbscSessionId } = await signIn(original.page);
    await until("the original profile to register", () =>
      events.find((e) => e.type === "dbscSessionStarted" && e.session.id === dbscSessionId),
    );
    expect(await me(original.page)).toEqual({ status: 200, body: { tier: "dbsc", deviceId } });
    await original.context.close();

    // Infostealers copy the whole profile. With the software keys of the test switches, the
    // DBSC key is the "Device Bound Sessions" file inside it, and a full copy keeps refreshing:
    // software keys are not hardware-bound.
    const full = join(dir, "copy-full");
    cpSync(profile, full, { recursive: true });
    // A TPM-held key stays behind on the original machine: the copy without that file.
    const stolen = join(dir, "copy-without-dbsc-key");
    cpSync(profile, stolen, {
      recursive: true,
      filter: (source) => !/Device Bound Sessions/.test(source),
    });
    await new Promise((resolve) => setTimeout(resolve, (COOKIE_LIFETIME_SECONDS + 1) * 1000));

    const copy = await launchProfile(full);
    expect(await me(copy.page)).toEqual({ status: 200, body: { tier: "dbsc", deviceId } });
    await copy.context.close();

    const thief = await launchProfile(stolen);
    const before = events.length;
    // Same device key (the proof verifies as this device), same app session, no live bound cookie.
    expect(await me(thief.page)).toMatchObject({
      status: 403,
      body: { error: "ERR_DBSC_COOKIE_MISSING" },
    });
    expect(
      events
        .slice(before)
        .some((e) => e.type === "dbscCookieMissing" && e.session.id === dbscSessionId),
    ).toBe(true);
    await thief.context.close();
  });
});

describe("DBSC in Chromium with an RSA key", () => {
  it("registers an RS256 key when only RS256 is offered, and refreshes with it", async () => {
    const rsa = await startApp({ algorithms: ["RS256"] });
    const browser = await chromium.launch(chromiumDbscLaunchOptions(spki));
    try {
      const { context, page } = await open(browser, rsa.origin);
      const { deviceId, dbscSessionId } = await signIn(page);
      const started = await until("Chromium to register an RS256 session", () =>
        rsa.events.find((e) => e.type === "dbscSessionStarted" && e.session.id === dbscSessionId),
      );
      expect(started).toMatchObject({ session: { alg: "RS256", publicJwk: { kty: "RSA" } } });
      expect(await me(page)).toEqual({ status: 200, body: { tier: "dbsc", deviceId } });
      await new Promise((resolve) => setTimeout(resolve, (COOKIE_LIFETIME_SECONDS + 1) * 1000));
      expect(await me(page)).toEqual({ status: 200, body: { tier: "dbsc", deviceId } });
      expect(rsa.events.some((e) => e.type === "dbscSessionRefreshed")).toBe(true);
      await context.close();
    } finally {
      await browser.close();
      await new Promise((resolve) => rsa.server.close(resolve));
    }
  });
});

describe("Chromium without DBSC", () => {
  it("signs in and is served on the dpop tier through fetchWithDevice, with no registration", async () => {
    const browser = await chromium.launch(chromiumWithoutDbscLaunchOptions(spki));
    try {
      const { context, page } = await open(browser);
      const { deviceId, dbscSessionId } = await signIn(page);
      expect(await me(page)).toEqual({ status: 200, body: { tier: "dpop", deviceId } });
      expect(await me(page)).toEqual({ status: 200, body: { tier: "dpop", deviceId } });
      expect(
        events.some((e) => e.type === "dbscSessionStarted" && e.session.id === dbscSessionId),
      ).toBe(false);
      expect(await binding.dbsc.listSessions("alice", deviceId)).toMatchObject([
        { id: dbscSessionId, status: "pending" },
      ]);
      await context.close();
    } finally {
      await browser.close();
    }
  });
});
