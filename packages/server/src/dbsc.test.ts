// DBSC against a software client written from the spec: registration, refresh, termination and
// the guard's tier, through the Fetch adapter, with both header generations and both key types.
import { describe, expect, it } from "vitest";
import { fetchDeviceBinding } from "./adapters/fetch.js";
import type { DeviceSession } from "./adapters/guard.js";
import type { DbscOptions } from "./dbsc.js";
import type { DeviceBinding } from "./device-binding.js";
import type { DeviceEvent } from "./events.js";
import { createDeviceBinding, DeviceBindingError, memoryStore } from "./index.node.js";
import { createTestDbscClient, parseRegistrationHeader } from "./testing/dbsc-client.js";
import { createTestDevice, type TestDevice } from "./testing/test-device.js";

const ORIGIN = "https://app.example.com";
const SECRET = "dbsc-test-secret-0123456789-abcdef-0123";

/** A software device signing in as alice: its proof verified and its device registered. */
async function signIn(binding: DeviceBinding) {
  const device = await createTestDevice();
  const nonce = (await binding.createChallenge()).challenge;
  const proof = await binding.verifyProof(
    await device.proof({ method: "POST", url: `${ORIGIN}/login`, nonce }),
    { method: "POST", url: `${ORIGIN}/login` },
  );
  return { device, record: (await binding.register("alice", proof)).device };
}

async function setup(dbsc: DbscOptions = {}, clock?: { now: number }) {
  const events: DeviceEvent[] = [];
  const store = memoryStore(clock ? { now: () => clock.now } : {});
  const binding = createDeviceBinding({
    secret: SECRET,
    store,
    publicOrigin: ORIGIN,
    dbsc,
    onEvent: (event) => void events.push(event),
    ...(clock ? { now: () => clock.now } : {}),
  });
  const glue = fetchDeviceBinding(binding, { getIpAddress: false });
  const send = async (request: Request) => {
    const path = new URL(request.url).pathname;
    if (path === binding.dbsc.registrationPath) return glue.dbscRegistration(request);
    if (path === binding.dbsc.refreshPath) return glue.dbscRefresh(request);
    return new Response("not found", { status: 404 });
  };
  // Sign-in: a verified proof registers the device, and a DBSC session is offered for it.
  const { device, record } = await signIn(binding);
  const started = await glue.startDbsc(new Request(`${ORIGIN}/login`), {
    userId: "alice",
    device: record,
  });
  const session: DeviceSession = {
    userId: "alice",
    jkt: device.jkt,
    dbscSessionId: started.sessionId,
  };
  async function api(cookie: string | null, withProof: TestDevice | null = device, options = {}) {
    const headers: Record<string, string> = {};
    if (withProof) {
      const nonce = (await binding.createChallenge()).challenge;
      headers.DPoP = await withProof.proof({ method: "GET", url: `${ORIGIN}/api/me`, nonce });
    }
    if (cookie) headers.Cookie = `theme=dark; ${cookie}`;
    return glue.requireDevice(new Request(`${ORIGIN}/api/me`, { headers }), () => session, options);
  }
  return { binding, glue, send, events, device, record, started, session, api, store };
}

const codeOf = async (result: { ok: boolean; response?: Response }) =>
  result.ok ? "ok" : ((await (result.response as Response).json()) as { error: string }).error;

describe("DBSC registration", () => {
  it("offers a session at sign-in in both header generations, with the syntax the spec gives", async () => {
    const { started } = await setup({ registrationPath: "/auth/dbsc/start" });
    const current = started.headers["Secure-Session-Registration"] as string;
    expect(started.headers["Sec-Session-Registration"]).toBe(current);
    expect(current).toMatch(
      /^\(ES256 RS256\);path="\/auth\/dbsc\/start";challenge="[A-Za-z0-9_-]+"$/,
    );
    expect(parseRegistrationHeader(current)?.challenge).toBeTruthy();
  });

  for (const alg of ["ES256", "RS256"] as const) {
    for (const generation of ["current", "legacy"] as const) {
      it(`registers an ${alg} key (${generation} headers): configuration, bound cookie, tier dbsc`, async () => {
        const { binding, send, started, events, api, record } = await setup();
        const client = await createTestDbscClient({ alg, generation });
        const response = await client.register(send, new Headers(started.headers), ORIGIN);
        expect(response.status).toBe(200);
        expect(client.config).toEqual({
          session_identifier: started.sessionId,
          refresh_url: "/.devicebound/dbsc/refresh",
          scope: { include_site: false },
          credentials: [
            {
              type: "cookie",
              name: "__Host-devicebound-dbsc",
              attributes: "Path=/; Secure; HttpOnly; SameSite=Lax",
            },
          ],
          allowed_refresh_initiators: [],
        });
        expect(client.setCookie).toMatch(
          /^__Host-devicebound-dbsc=[^;]+; Max-Age=600; Path=\/; Secure; HttpOnly; SameSite=Lax$/,
        );
        expect(response.headers.get("Secure-Session-Challenge")).toMatch(/^"[^"]+";id="/);
        expect(response.headers.get("Sec-Session-Challenge")).toBe(
          response.headers.get("Secure-Session-Challenge"),
        );
        const stored = await binding.dbsc.listSessions("alice", record.id);
        expect(stored).toMatchObject([{ id: started.sessionId, status: "active", alg }]);
        expect(events.map((e) => e.type)).toContain("dbscSessionStarted");
        expect(await api(client.cookie)).toMatchObject({ ok: true, tier: "dbsc" });
      });
    }
  }

  it("accepts the earlier JWT shape with the key in the `key` claim", async () => {
    const { send, started, api } = await setup();
    const client = await createTestDbscClient({ shape: "claim-key" });
    expect((await client.register(send, new Headers(started.headers), ORIGIN)).status).toBe(200);
    expect(await api(client.cookie)).toMatchObject({ ok: true, tier: "dbsc" });
  });

  it("uses a registration challenge once: a replay is refused and leaves the session as it was", async () => {
    const { send, started, binding, record } = await setup();
    const client = await createTestDbscClient();
    const challenge = parseRegistrationHeader(
      started.headers["Secure-Session-Registration"] as string,
    )?.challenge as string;
    const token = await client.sign({ jti: challenge }, { jwk: client.jwk });
    const request = () =>
      new Request(`${ORIGIN}/.devicebound/dbsc/register`, {
        method: "POST",
        headers: { "Secure-Session-Response": token },
      });
    expect((await send(request())).status).toBe(200);
    const again = await send(request());
    expect(await again.json()).toEqual({ continue: false });
    expect(again.headers.get("Secure-Session-Challenge")).toBeNull();
    expect(await binding.dbsc.listSessions("alice", record.id)).toMatchObject([
      { status: "active" },
    ]);
  });

  it("ends the session when the registration JWT is signed by another key than its jwk", async () => {
    const { binding, send, started, events, record } = await setup();
    const client = await createTestDbscClient();
    const other = await createTestDbscClient();
    const challenge = parseRegistrationHeader(
      started.headers["Secure-Session-Registration"] as string,
    )?.challenge as string;
    const response = await send(
      new Request(`${ORIGIN}/.devicebound/dbsc/register`, {
        method: "POST",
        headers: {
          "Secure-Session-Response": await other.sign({ jti: challenge }, { jwk: client.jwk }),
        },
      }),
    );
    expect(await response.json()).toEqual({
      session_identifier: started.sessionId,
      continue: false,
    });
    expect(response.headers.getSetCookie()[0]).toMatch(/Max-Age=0/);
    expect(await binding.dbsc.listSessions("alice", record.id)).toMatchObject([
      { status: "ended", endReason: "invalid-registration" },
    ]);
    expect(events).toContainEqual(
      expect.objectContaining({ type: "verificationFailed", code: "ERR_DBSC_INVALID" }),
    );
    // The real browser's registration, now too late, is refused as well.
    expect((await client.register(send, new Headers(started.headers), ORIGIN)).status).toBe(200);
    expect(client.config).toMatchObject({ continue: false });
  });

  it("refuses foreign challenges, wrong typ, alg none, crit and private key members", async () => {
    const { send, started } = await setup();
    const client = await createTestDbscClient();
    const challenge = parseRegistrationHeader(
      started.headers["Secure-Session-Registration"] as string,
    )?.challenge as string;
    const attempts = [
      await client.sign({ jti: "not-a-challenge-of-ours" }, { jwk: client.jwk }),
      await client.sign({ jti: challenge }, { jwk: client.jwk, typ: "dpop+jwt" }),
      await client.sign({ jti: challenge }, { jwk: client.jwk, alg: "none" }),
      await client.sign({ jti: challenge }, { jwk: client.jwk, crit: ["exp"] }),
      await client.sign({ jti: challenge }, { jwk: { ...client.jwk, d: "AAAA" } }),
      `${(await client.sign({ jti: challenge }, { jwk: client.jwk })).split(".").slice(0, 2).join(".")}.`,
      "not.a.jwt",
    ];
    for (const token of attempts) {
      const response = await send(
        new Request(`${ORIGIN}/.devicebound/dbsc/register`, {
          method: "POST",
          headers: { "Secure-Session-Response": token },
        }),
      );
      expect((await response.json()).continue).toBe(false);
    }
  });
});

describe("DBSC refresh", () => {
  async function registered(options: DbscOptions = {}, clock?: { now: number }) {
    const context = await setup(options, clock);
    const client = await createTestDbscClient();
    await client.register(context.send, new Headers(context.started.headers), ORIGIN);
    return { ...context, client };
  }

  it("answers 403 with a challenge in both generations, then a fresh cookie for the signed retry", async () => {
    const { send, client, events, api } = await registered();
    client.cachedChallenge = null;
    const first = await send(await client.refreshRequest(ORIGIN));
    expect(first.status).toBe(403);
    const challenge = first.headers.get("Secure-Session-Challenge") as string;
    expect(challenge).toMatch(new RegExp(`^"[A-Za-z0-9_-]+";id="${client.sessionId}"$`));
    expect(first.headers.get("Sec-Session-Challenge")).toBe(challenge);
    const retry = await send(
      await client.refreshRequest(ORIGIN, /^"([^"]+)"/.exec(challenge)?.[1] as string),
    );
    expect(retry.status).toBe(200);
    expect(retry.headers.getSetCookie()[0]).toMatch(/^__Host-devicebound-dbsc=[^;]+; Max-Age=600;/);
    await client.absorb(retry);
    expect(events.map((e) => e.type)).toContain("dbscSessionRefreshed");
    expect(await api(client.cookie)).toMatchObject({ ok: true, tier: "dbsc" });
  });

  it("takes an early refresh with the challenge cached from the last answer, in one round trip", async () => {
    const { send, client } = await registered();
    expect(client.cachedChallenge).not.toBeNull();
    for (let i = 0; i < 3; i++) {
      const response = await client.refresh(send, ORIGIN);
      expect(response.status).toBe(200);
    }
  });

  it("refreshes through the legacy header names", async () => {
    const context = await setup();
    const client = await createTestDbscClient({ generation: "legacy", alg: "RS256" });
    await client.register(context.send, new Headers(context.started.headers), ORIGIN);
    client.cachedChallenge = null;
    expect((await client.refresh(context.send, ORIGIN)).status).toBe(200);
  });

  it("uses a refresh challenge once: the same signed JWT again gets a new 403 challenge and no cookie", async () => {
    const { send, client } = await registered();
    const challenge = client.cachedChallenge as string;
    const request = await client.refreshRequest(ORIGIN, challenge);
    expect((await send(request.clone())).status).toBe(200);
    const replay = await send(request);
    expect(replay.status).toBe(403);
    expect(replay.headers.getSetCookie()).toEqual([]);
  });

  it("refuses a refresh signed by another key, and keeps the session for its real browser", async () => {
    const { send, client, binding, record } = await registered();
    const thief = await createTestDbscClient();
    thief.sessionId = client.sessionId;
    thief.config = client.config;
    const response = await send(
      await thief.refreshRequest(ORIGIN, client.cachedChallenge as string),
    );
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe("ERR_DBSC_INVALID");
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(await binding.dbsc.listSessions("alice", record.id)).toMatchObject([
      { status: "active" },
    ]);
    expect((await client.refresh(send, ORIGIN)).status).toBe(200);
  });

  it("refuses a refresh JWT naming another key, or another alg", async () => {
    const { send, client } = await registered();
    const other = await createTestDbscClient();
    const withKey = await client.sign({ jti: client.cachedChallenge }, { jwk: other.jwk });
    const request = await client.refreshRequest(ORIGIN);
    request.headers.set("Secure-Session-Response", withKey);
    expect((await send(request)).status).toBe(401);
  });

  it("lets refreshes racing one another all succeed, each counted once", async () => {
    const { send, client, binding, record } = await registered();
    const challenges = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const response = await send(await client.refreshRequest(ORIGIN));
        return /^"([^"]+)"/.exec(
          response.headers.get("Secure-Session-Challenge") as string,
        )?.[1] as string;
      }),
    );
    const before = (await binding.dbsc.listSessions("alice", record.id))[0]?.version as number;
    const answers = await Promise.all(
      challenges.map(async (challenge) => send(await client.refreshRequest(ORIGIN, challenge))),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect((await binding.dbsc.listSessions("alice", record.id))[0]?.version).toBe(before + 10);
  });

  it("answers an unknown session with the termination answer and a request without an id with 400", async () => {
    const { send } = await setup();
    const unknown = await send(
      new Request(`${ORIGIN}/.devicebound/dbsc/refresh`, {
        method: "POST",
        headers: { "Sec-Secure-Session-Id": '"no-such-session"' },
      }),
    );
    expect(await unknown.json()).toEqual({
      session_identifier: "no-such-session",
      continue: false,
    });
    const none = await send(new Request(`${ORIGIN}/.devicebound/dbsc/refresh`, { method: "POST" }));
    expect(none.status).toBe(400);
  });

  for (const [action, reason] of [
    ["block", "device-blocked"],
    ["delete", "device-deleted"],
  ] as const) {
    it(`ends the device's sessions at the next refresh when the device is ${reason.slice(7)}, and refuses its requests at once`, async () => {
      const { send, client, binding, record, api, events } = await registered();
      await binding[action]("alice", record.id);
      expect(await codeOf(await api(client.cookie))).toBe(
        action === "block" ? "ERR_DEVICE_BLOCKED" : "ERR_DEVICE_MISMATCH",
      );
      const response = await client.refresh(send, ORIGIN);
      expect(await response.clone().json()).toMatchObject({ continue: false });
      expect(client.cookie).toBeNull();
      expect(events).toContainEqual(expect.objectContaining({ type: "dbscSessionEnded", reason }));
      if (action === "block") {
        // Unblocking does not revive it: the browser must sign in again.
        await binding.unblock("alice", record.id);
        expect(await binding.dbsc.listSessions("alice", record.id)).toMatchObject([
          { status: "ended", endReason: reason },
        ]);
      }
    });
  }

  it("ends a session at sign-out: its next refresh gets the termination answer", async () => {
    const { send, client, binding, started } = await registered();
    expect(await binding.dbsc.endSession(started.sessionId)).toBe(true);
    expect(await binding.dbsc.endSession(started.sessionId)).toBe(false);
    expect(await (await client.refresh(send, ORIGIN)).json()).toMatchObject({ continue: false });
    expect(binding.dbsc.clearCookie()).toMatch(/^__Host-devicebound-dbsc=; Max-Age=0;/);
  });
});

describe("DBSC tier in the guard", () => {
  it("serves a browser without DBSC on the dpop tier, with no error and no extra step", async () => {
    const { api } = await setup();
    expect(await api(null)).toMatchObject({ ok: true, tier: "dpop" });
  });

  it("never authorizes with the bound cookie alone", async () => {
    const { send, started, api } = await setup();
    const client = await createTestDbscClient();
    await client.register(send, new Headers(started.headers), ORIGIN);
    expect(await codeOf(await api(client.cookie, null))).toBe("ERR_PROOF_MISSING");
  });

  it("treats a registered session arriving without its cookie as theft: event, and refused by default", async () => {
    const { send, started, api, events } = await setup();
    const client = await createTestDbscClient();
    await client.register(send, new Headers(started.headers), ORIGIN);
    expect(await codeOf(await api(null))).toBe("ERR_DBSC_COOKIE_MISSING");
    expect(events).toContainEqual(
      expect.objectContaining({
        type: "dbscCookieMissing",
        session: expect.objectContaining({ id: started.sessionId }),
      }),
    );
  });

  it("serves it on the dpop tier instead when onMissingCookie is dpop (the event still fires)", async () => {
    const { send, started, api, events } = await setup({ onMissingCookie: "dpop" });
    const client = await createTestDbscClient();
    await client.register(send, new Headers(started.headers), ORIGIN);
    expect(await api(null)).toMatchObject({ ok: true, tier: "dpop" });
    expect(events.map((e) => e.type)).toContain("dbscCookieMissing");
  });

  it("treats an expired bound cookie as missing", async () => {
    const clock = { now: Date.now() };
    const { send, started, api } = await setup({ cookieLifetimeSeconds: 60 }, clock);
    const client = await createTestDbscClient();
    await client.register(send, new Headers(started.headers), ORIGIN);
    clock.now += 61_000;
    expect(await codeOf(await api(client.cookie))).toBe("ERR_DBSC_COOKIE_MISSING");
  });

  it("refuses a forged cookie and two bound cookies", async () => {
    const { send, started, api } = await setup();
    const client = await createTestDbscClient();
    await client.register(send, new Headers(started.headers), ORIGIN);
    const cookie = client.cookie as string;
    const [name, value] = cookie.split("=") as [string, string];
    const [id, exp, mac] = value.split(".");
    expect(await codeOf(await api(`${name}=${id}.${Number(exp) + 1000}.${mac}`))).toBe(
      "ERR_DBSC_COOKIE_INVALID",
    );
    expect(await codeOf(await api(`${cookie}; ${cookie}`))).toBe("ERR_DBSC_COOKIE_INVALID");
  });

  it("takes another session's cookie of this device as no cookie, as after a sign-in again", async () => {
    const { send, started, api, session, glue, record } = await setup();
    const client = await createTestDbscClient();
    await client.register(send, new Headers(started.headers), ORIGIN);
    const next = await glue.startDbsc(new Request(`${ORIGIN}/login`), {
      userId: "alice",
      device: record,
    });
    session.dbscSessionId = next.sessionId;
    // The new session is pending: the old cookie neither grants dbsc nor locks the user out.
    expect(await api(client.cookie)).toMatchObject({ ok: true, tier: "dpop" });
    // Once the new session has its own key, the old cookie is as good as none.
    const second = await createTestDbscClient();
    await second.register(send, new Headers(next.headers), ORIGIN);
    expect(await codeOf(await api(client.cookie))).toBe("ERR_DBSC_COOKIE_MISSING");
    expect(await api(second.cookie)).toMatchObject({ ok: true, tier: "dbsc" });
  });

  it("answers a store outage on its endpoints with a typed 503, never a rejection", async () => {
    const store = memoryStore();
    const binding = createDeviceBinding({
      secret: SECRET,
      store,
      publicOrigin: ORIGIN,
      dbsc: {},
      dbscStore: {
        ...store,
        getDbscSession: () =>
          Promise.reject(new DeviceBindingError("ERR_STORE_UNAVAILABLE", "down")),
      },
    });
    const response = await binding.dbsc.handleRefresh(
      new Request(`${ORIGIN}/.devicebound/dbsc/refresh`, {
        method: "POST",
        headers: { "Sec-Secure-Session-Id": "abc" },
      }),
    );
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: string }).error).toBe("ERR_STORE_UNAVAILABLE");
    const twice = await binding.dbsc.handleRefresh(
      new Request(`${ORIGIN}/.devicebound/dbsc/refresh`, {
        method: "POST",
        headers: [
          ["Sec-Secure-Session-Id", "abc"],
          ["Sec-Secure-Session-Id", "def"],
        ],
      }),
    );
    expect(twice.status).toBe(400);
  });

  it("refuses another device's cookie: a cookie is valid only with its own device's proof", async () => {
    const first = await setup();
    const client = await createTestDbscClient();
    await client.register(first.send, new Headers(first.started.headers), ORIGIN);
    // Same user, a second device signing in: the first device's cookie with its own proof.
    const { device: laptop } = await signIn(first.binding);
    first.session.jkt = laptop.jkt;
    first.session.dbscSessionId = null;
    expect(await codeOf(await first.api(client.cookie, laptop))).toBe("ERR_DBSC_COOKIE_INVALID");
  });

  it("requireTier dbsc admits only requests with the bound cookie", async () => {
    const { send, started, api } = await setup();
    expect(await codeOf(await api(null, undefined, { requireTier: "dbsc" }))).toBe(
      "ERR_DBSC_REQUIRED",
    );
    const client = await createTestDbscClient();
    await client.register(send, new Headers(started.headers), ORIGIN);
    expect(await api(client.cookie, undefined, { requireTier: "dbsc" })).toMatchObject({
      ok: true,
      tier: "dbsc",
    });
  });

  it("is dpop everywhere when DBSC is off: starting offers nothing, there is nothing to end or list, mounting the endpoints is a TypeError", async () => {
    const binding = createDeviceBinding({
      secret: SECRET,
      store: memoryStore(),
      publicOrigin: ORIGIN,
    });
    const glue = fetchDeviceBinding(binding, { getIpAddress: false });
    const { device, record } = await signIn(binding);
    const nonce = (await binding.createChallenge()).challenge;
    expect(binding.dbsc.enabled).toBe(false);
    expect(
      await glue.startDbsc(new Request(`${ORIGIN}/login`), { userId: "alice", device: record }),
    ).toEqual({ sessionId: null, headers: {} });
    const request = new Request(`${ORIGIN}/api/me`, {
      headers: {
        DPoP: await device.proof({ method: "GET", url: `${ORIGIN}/api/me`, nonce }),
        Cookie: "__Host-devicebound-dbsc=forged.1.AAAA",
      },
    });
    expect(
      await glue.requireDevice(request, () => ({ userId: "alice", jkt: device.jkt })),
    ).toMatchObject({ ok: true, tier: "dpop" });
    expect(await binding.dbsc.endSession("x")).toBe(false);
    expect(await binding.dbsc.endSession(null)).toBe(false);
    expect(await binding.dbsc.endDeviceSessions("alice", record.id)).toBe(0);
    expect(await binding.dbsc.listSessions("alice", record.id)).toEqual([]);
    await expect(
      binding.dbsc.handleRegistration(new Request(`${ORIGIN}/.devicebound/dbsc/register`)),
    ).rejects.toThrow(TypeError);
    await expect(
      binding.dbsc.handleRefresh(new Request(`${ORIGIN}/.devicebound/dbsc/refresh`)),
    ).rejects.toThrow(TypeError);
  });

  it("checks its options when the binding is created", () => {
    const make = (dbsc: DbscOptions) =>
      createDeviceBinding({ secret: SECRET, store: memoryStore(), publicOrigin: ORIGIN, dbsc });
    expect(() => make({ refreshPath: 'x"y' })).toThrow(TypeError);
    expect(() => make({ cookieName: "a b" })).toThrow(TypeError);
    expect(() => make({ cookieLifetimeSeconds: 0 })).toThrow(TypeError);
    expect(() => make({ algorithms: [] })).toThrow(TypeError);
  });
});
