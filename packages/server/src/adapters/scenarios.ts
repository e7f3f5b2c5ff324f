// Test support: the scenarios every framework adapter must pass against its real framework.
// Each adapter's test builds the same small app natively in its framework; these run against it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeviceBinding } from "../device-binding.js";
import { createDeviceBinding as webBinding } from "../index.js";
import { createDeviceBinding as nodeBinding } from "../index.node.js";
import { memoryStore } from "../memory-store.js";
import { createTestDevice, type TestDevice } from "../testing/test-device.js";
import type { DeviceSession } from "./guard.js";

/** The origin every scenario app is configured with: proofs name it, whatever the transport. */
export const ORIGIN = "https://app.example.com";
const TTL_SECONDS = 300;

/** The app's session store: a cookie `sid` names a session; binding is compare-and-set. */
export class ScenarioSessions {
  readonly byId = new Map<string, DeviceSession>();
  start(session: DeviceSession): string {
    const sid = crypto.randomUUID();
    this.byId.set(sid, session);
    return sid;
  }
  get(sid: string | undefined | null): DeviceSession | undefined {
    return sid ? this.byId.get(sid) : undefined;
  }
  /** `UPDATE sessions SET jkt = ? WHERE id = ? AND jkt IS NULL`, then the stored jkt. */
  bind(sid: string | undefined | null, jkt: string): string | null {
    const session = this.get(sid);
    if (!session) return null;
    session.jkt ??= jkt;
    return session.jkt;
  }
}

/** The `sid` cookie's value from a Cookie header (frameworks without a cookie parser). */
export function sidFrom(cookie: string | string[] | null | undefined): string | undefined {
  const header = Array.isArray(cookie) ? cookie.join("; ") : (cookie ?? "");
  return /(?:^|;\s*)sid=([^;]+)/.exec(header)?.[1];
}

export const sessionCookie = (sid: string) => `sid=${sid}; Path=/; HttpOnly; SameSite=Lax`;

/**
 * The app each adapter test builds, natively, with these routes:
 * - `GET /api/challenge`: the adapter's challenge handler;
 * - `POST /api/login` `{ user }`: verifies the proof (single-use challenge), registers the device,
 *   starts a bound session (`Set-Cookie: sid`), answers `{ deviceId, newDeviceDetected }`;
 *   a DeviceBindingError goes to the adapter's error handling;
 * - `POST /sso/callback` `{ user }`: starts a session without a device, as an SSO redirect does;
 * - `GET /api/me`: the guard; answers `{ deviceId, sessionStatus }`;
 * - `GET /api/sso/me`: the guard with `bindSession`; answers `{ deviceId, sessionStatus,
 *   newDeviceDetected }`.
 */
export interface ScenarioServer {
  send(
    path: string,
    init: { method: string; headers: Record<string, string>; body?: string },
  ): Promise<Response>;
  close(): Promise<void>;
}

export type ScenarioFactory = (
  binding: DeviceBinding,
  sessions: ScenarioSessions,
) => Promise<ScenarioServer>;

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** The error code of an error body: `{ error }` from our responses, `{ code }` from Fastify's. */
const codeOf = (answer: Answer) => answer.body.code ?? answer.body.error;

export function runFrameworkScenarios(
  name: string,
  factory: ScenarioFactory,
  options: { crypto: "node" | "web" } = { crypto: "node" },
): void {
  describe(`${name}: the framework scenarios`, () => {
    let clock = Date.now();
    let binding: DeviceBinding;
    let server: ScenarioServer;
    const sessions = new ScenarioSessions();
    beforeAll(async () => {
      const create = options.crypto === "node" ? nodeBinding : webBinding;
      binding = create({
        secret: "framework-scenarios-secret-0123456789-abcdef",
        store: memoryStore(),
        publicOrigin: ORIGIN,
        challengeTtlSeconds: TTL_SECONDS,
        now: () => clock,
      });
      server = await factory(binding, sessions);
    });
    afterAll(() => server?.close());

    /** A browser: its key, its cookie, and the latest DPoP-Nonce it was given. */
    function browser(key: TestDevice) {
      let cookie: string | undefined;
      let nonce: string | undefined;
      async function send(
        method: string,
        path: string,
        init: { proof?: boolean; body?: unknown; cookie?: string | undefined } = {},
      ): Promise<Answer> {
        const headers: Record<string, string> = { "user-agent": `scenario ${name}` };
        const jar = init.cookie ?? cookie;
        if (jar) headers.cookie = `sid=${jar}`;
        if (init.body !== undefined) headers["content-type"] = "application/json";
        if (init.proof !== false) {
          nonce ??= await challenge();
          headers.DPoP = await key.proof({
            method,
            url: ORIGIN + path,
            nonce,
            iat: Math.floor(clock / 1000),
          });
        }
        const response = await server.send(path, {
          method,
          headers,
          ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        });
        const fresh = response.headers.get("dpop-nonce");
        if (fresh) nonce = fresh;
        const set = sidFrom(response.headers.get("set-cookie"));
        if (set) cookie = set;
        const text = await response.text();
        return {
          status: response.status,
          headers: response.headers,
          body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
        };
      }
      async function challenge(): Promise<string> {
        const response = await server.send("/api/challenge", {
          method: "GET",
          headers: { "user-agent": `scenario ${name}` },
        });
        expect(response.status).toBe(200);
        expect(response.headers.get("cache-control")).toBe("no-store");
        const body = (await response.json()) as { challenge: string; expiresAt: number };
        expect(response.headers.get("dpop-nonce")).toBe(body.challenge);
        return body.challenge;
      }
      return {
        key,
        send,
        challenge,
        get cookie() {
          return cookie;
        },
        /** Sends like fetchWithDevice: once, and again with the fresh nonce after use_dpop_nonce. */
        async sendWithRetry(method: string, path: string, body?: unknown) {
          const first = await send(method, path, { body });
          const retry =
            first.status === 401 &&
            first.headers.get("www-authenticate")?.includes('error="use_dpop_nonce"');
          return { first, final: retry ? await send(method, path, { body }) : first };
        },
        forgetNonce() {
          nonce = undefined;
        },
      };
    }

    let laptop: ReturnType<typeof browser>;
    let deviceId: string;

    it("signs in: verifies the proof, registers the device once, starts a bound session", async () => {
      laptop = browser(await createTestDevice());
      const first = await laptop.send("POST", "/api/login", { body: { user: "alice" } });
      expect(first.status).toBe(200);
      expect(first.body.newDeviceDetected).toBe(true);
      deviceId = first.body.deviceId as string;
      expect(laptop.cookie).toBeTruthy();
      // The login challenge is single-use: the same nonce again is refused with a fresh one.
      const again = await laptop.sendWithRetry("POST", "/api/login", { user: "alice" });
      expect(again.first.status).toBe(401);
      expect(codeOf(again.first)).toBe("ERR_CHALLENGE_USED");
      expect(again.final.status).toBe(200);
      expect(again.final.body).toEqual({ deviceId, newDeviceDetected: false });
      expect((await binding.list("alice")).map((d) => d.jkt)).toEqual([laptop.key.jkt]);
    });

    it("lets the bound device through the protected route", async () => {
      const me = await laptop.send("GET", "/api/me");
      expect(me.status).toBe(200);
      expect(me.body).toEqual({ deviceId, sessionStatus: "bound" });
    });

    it("answers a missing proof with 401, WWW-Authenticate without an error, and a fresh nonce", async () => {
      const me = await laptop.send("GET", "/api/me", { proof: false });
      expect(me.status).toBe(401);
      expect(codeOf(me)).toBe("ERR_PROOF_MISSING");
      expect(me.headers.get("www-authenticate")).toBe('DPoP algs="ES256"');
      expect(me.headers.get("dpop-nonce")).toBeTruthy();
      const signedOut = await browser(laptop.key).send("GET", "/api/me");
      expect(signedOut.status).toBe(401);
    });

    it("asks for a new challenge when the one held has expired, and the retry passes", async () => {
      clock += (TTL_SECONDS + 1) * 1000;
      const guarded = await laptop.sendWithRetry("GET", "/api/me");
      expect(guarded.first.status).toBe(401);
      expect(codeOf(guarded.first)).toBe("ERR_CHALLENGE_EXPIRED");
      expect(guarded.first.headers.get("www-authenticate")).toContain('error="use_dpop_nonce"');
      expect(guarded.final.status).toBe(200);
      // The same through the adapter's error handling, at sign-in.
      clock += (TTL_SECONDS + 1) * 1000;
      const login = await laptop.sendWithRetry("POST", "/api/login", { user: "alice" });
      expect(login.first.status).toBe(401);
      expect(codeOf(login.first)).toBe("ERR_CHALLENGE_EXPIRED");
      expect(login.first.headers.get("dpop-nonce")).toBeTruthy();
      expect(login.final.status).toBe(200);
    });

    it("refuses a blocked device at once, on the API and at sign-in, until it is unblocked", async () => {
      await binding.block("alice", deviceId);
      const me = await laptop.send("GET", "/api/me");
      expect(me.status).toBe(403);
      expect(codeOf(me)).toBe("ERR_DEVICE_BLOCKED");
      const login = await laptop.sendWithRetry("POST", "/api/login", { user: "alice" });
      expect(login.final.status).toBe(403);
      expect(codeOf(login.final)).toBe("ERR_DEVICE_BLOCKED");
      await binding.unblock("alice", deviceId);
      expect((await laptop.send("GET", "/api/me")).status).toBe(200);
    });

    it("refuses a stolen session cookie with another key or without a proof", async () => {
      const thief = browser(await createTestDevice());
      const withKey = await thief.send("GET", "/api/me", { cookie: laptop.cookie });
      expect(withKey.status).toBe(401);
      expect(codeOf(withKey)).toBe("ERR_DEVICE_MISMATCH");
      const bare = await thief.send("GET", "/api/me", { cookie: laptop.cookie, proof: false });
      expect(bare.status).toBe(401);
      expect(codeOf(bare)).toBe("ERR_PROOF_MISSING");
    });

    it("binds an SSO session on its first proof (bindSession), then holds it to that key", async () => {
      const desktop = browser(await createTestDevice());
      const callback = await desktop.send("POST", "/sso/callback", {
        body: { user: "bob" },
        proof: false,
      });
      expect(callback.status).toBe(200);
      // Routes without bindSession refuse a session that has no device.
      const plain = await desktop.send("GET", "/api/me");
      expect(plain.status).toBe(401);
      expect(codeOf(plain)).toBe("ERR_DEVICE_MISMATCH");
      const bound = await desktop.send("GET", "/api/sso/me");
      expect(bound.status).toBe(200);
      expect(bound.body).toMatchObject({ sessionStatus: "bound-now", newDeviceDetected: true });
      const again = await desktop.send("GET", "/api/sso/me");
      expect(again.body).toMatchObject({ sessionStatus: "bound", newDeviceDetected: false });
      expect((await desktop.send("GET", "/api/me")).status).toBe(200);
      const thief = browser(await createTestDevice());
      const stolen = await thief.send("GET", "/api/sso/me", { cookie: desktop.cookie });
      expect(stolen.status).toBe(401);
      expect(codeOf(stolen)).toBe("ERR_DEVICE_MISMATCH");
      expect((await binding.list("bob")).map((d) => d.jkt)).toEqual([desktop.key.jkt]);
    });
  });
}
