import "fake-indexeddb/auto";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isDeviceBindingError } from "@devicebound/wire";
import { build } from "esbuild";
import { openDB } from "idb";
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from "jose";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  createDeviceFetch,
  type DeviceKeyEvent,
  type FallbackEvent,
  type FetchWithDeviceOptions,
  fetchWithDevice,
  forgetDevice,
  getDeviceThumbprint,
  initFetchWithDevice,
} from "./index.js";

const APP = "https://app.test";
const API = "https://api.test";
const server = setupServer();

interface Seen {
  method: string;
  url: string;
  proof: string | null;
  body: string;
}
let seen: Seen[] = [];
let dbCounter = 0;

// Records every request the server sees, then answers with `answer` (200 by default).
function route(
  url: string,
  answer: (request: Request, n: number) => Response | Promise<Response> = () =>
    HttpResponse.json({ ok: true }),
) {
  server.use(
    http.all(url, async ({ request }) => {
      seen.push({
        method: request.method,
        url: request.url,
        proof: request.headers.get("dpop"),
        body: await request.clone().text(),
      });
      return answer(request, seen.length);
    }),
  );
}

const challenges = () => {
  let n = 0;
  return vi.fn(async () => ({
    challenge: `challenge-${++n}`,
    expiresAt: new Date(Date.now() + 300_000),
  }));
};

function init(extra: Partial<FetchWithDeviceOptions> = {}) {
  const fetchChallenge = challenges();
  initFetchWithDevice({ fetchChallenge, databaseName: `db-${++dbCounter}`, ...extra });
  return fetchChallenge;
}

async function verify(proof: string | null, alg = "ES256") {
  expect(proof).toBeTypeOf("string");
  const { payload, protectedHeader } = await jwtVerify(proof as string, EmbeddedJWK, {
    typ: "dpop+jwt",
    algorithms: [alg],
  });
  return { claims: payload, header: protectedHeader };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isDeviceBindingError(error)) return error.code;
    throw error;
  }
  throw new Error("expected a DeviceBindingError");
}

// What page script can do to the stored record: the database layout is public to any script of
// the origin, so the tests write it the way an attacker would.
async function writeRecord(databaseName: string, record: unknown) {
  const db = await openDB(databaseName, 1);
  await db.put("keys", record, "device");
  db.close();
}
async function readRecord(databaseName: string) {
  const db = await openDB(databaseName, 1);
  try {
    return await db.get("keys", "device");
  } finally {
    db.close();
  }
}

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterAll(() => server.close());
beforeEach(() => {
  seen = [];
  vi.stubGlobal("location", { href: `${APP}/page`, origin: APP });
});
afterEach(() => {
  server.resetHandlers();
  vi.unstubAllGlobals();
});

describe("proofs", () => {
  it("signs an RFC 9449 proof for a same-origin request that jose verifies", async () => {
    init();
    route(`${APP}/api/items`);
    const response = await fetchWithDevice("/api/items?page=2#top", { method: "post", body: "x" });
    expect(response.status).toBe(200);
    const { claims, header } = await verify(seen[0]?.proof ?? null);
    expect(header.typ).toBe("dpop+jwt");
    expect(Object.keys(header.jwk ?? {}).sort()).toEqual(["crv", "kty", "x", "y"]);
    expect(Object.keys(claims).sort()).toEqual(["htm", "htu", "iat", "jti", "nonce"]);
    expect(claims).toMatchObject({ htm: "POST", htu: `${APP}/api/items`, nonce: "challenge-1" });
    expect(Math.abs((claims.iat as number) - Date.now() / 1000)).toBeLessThan(5);
    expect(await calculateJwkThumbprint(header.jwk as never)).toBe(await getDeviceThumbprint());
  });

  it("uses a fresh jti every time and names the method that goes on the wire", async () => {
    init();
    route(`${APP}/x`);
    await fetchWithDevice(`${APP}/x`);
    await fetchWithDevice(`${APP}/x`, { method: "patch" });
    const [a, b] = await Promise.all(seen.map((s) => verify(s.proof)));
    expect(a?.claims.jti).not.toBe(b?.claims.jti);
    expect(a?.claims.htm).toBe("GET");
    expect(b?.claims.htm).toBe(seen[1]?.method);
  });

  it("adds ath only for an Authorization: DPoP token", async () => {
    init();
    route(`${APP}/x`);
    await fetchWithDevice("/x", { headers: { Authorization: "DPoP tok.en" } });
    await fetchWithDevice("/x", { headers: { Authorization: "Bearer tok.en" } });
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", Buffer.from("tok.en")));
    const [withToken, bearer] = await Promise.all(seen.map((s) => verify(s.proof)));
    expect(withToken?.claims.ath).toBe(Buffer.from(digest).toString("base64url"));
    expect(bearer?.claims).not.toHaveProperty("ath");
  });

  it("keeps a Request's headers and method and signs its URL", async () => {
    init();
    route(`${APP}/r`);
    const request = new Request(`${APP}/r?q=1`, {
      method: "PUT",
      body: "payload",
      headers: { "x-app": "1" },
    });
    await fetchWithDevice(request);
    const { claims } = await verify(seen[0]?.proof ?? null);
    expect(claims).toMatchObject({ htm: "PUT", htu: `${APP}/r` });
    expect(seen[0]?.body).toBe("payload");
  });

  it("makes an Ed25519 key when asked", async () => {
    init({ algorithm: "EdDSA" });
    route(`${APP}/x`);
    await fetchWithDevice("/x");
    const header = decodeProtectedHeader(seen[0]?.proof as string);
    expect(header.alg).toBe("EdDSA");
    expect(Object.keys(header.jwk ?? {}).sort()).toEqual(["crv", "kty", "x"]);
    await verify(seen[0]?.proof ?? null, "EdDSA");
  });
});

describe("origins", () => {
  it("passes other origins to fetch untouched", async () => {
    const fetchChallenge = init();
    route(`${API}/x`);
    await fetchWithDevice(`${API}/x`);
    expect(seen[0]?.proof).toBeNull();
    expect(fetchChallenge).not.toHaveBeenCalled();
  });

  it("signs for allow-listed origins", async () => {
    init({ origins: [`${API}/ignored-path`] });
    route(`${API}/x`);
    await fetchWithDevice(`${API}/x`);
    expect((await verify(seen[0]?.proof ?? null)).claims.htu).toBe(`${API}/x`);
  });
});

describe("challenges", () => {
  it("keeps the latest DPoP-Nonce per origin so steady state needs no extra round trip", async () => {
    const fetchChallenge = init({ origins: [API] });
    let n = 0;
    const answer = () => HttpResponse.json({}, { headers: { "DPoP-Nonce": `nonce-${++n}` } });
    route(`${APP}/x`, answer);
    route(`${API}/x`);
    await fetchWithDevice("/x");
    await fetchWithDevice("/x");
    await fetchWithDevice("/x");
    await fetchWithDevice(`${API}/x`);
    const nonces = await Promise.all(seen.map(async (s) => (await verify(s.proof)).claims.nonce));
    expect(nonces).toEqual(["challenge-1", "nonce-1", "nonce-2", "challenge-2"]);
    expect(fetchChallenge).toHaveBeenCalledTimes(2);
    expect(fetchChallenge.mock.calls.map((c) => (c as unknown[])[0])).toEqual([
      { origin: APP },
      { origin: API },
    ]);
  });

  it("shares one in-flight challenge fetch and one key between concurrent requests", async () => {
    const fetchChallenge = init();
    route(`${APP}/x`);
    await Promise.all(Array.from({ length: 8 }, () => fetchWithDevice("/x")));
    expect(fetchChallenge).toHaveBeenCalledTimes(1);
    const jkts = await Promise.all(
      seen.map(async (s) => calculateJwkThumbprint((await verify(s.proof)).header.jwk as never)),
    );
    expect(new Set(jkts).size).toBe(1);
  });

  it("fetches a new challenge once the cached one expires", async () => {
    let now = Date.now();
    const fetchChallenge = vi.fn(async () => ({
      challenge: `c${now}`,
      expiresAt: (now + 60_000) / 1000,
    }));
    init({ fetchChallenge, now: () => now });
    route(`${APP}/x`);
    await fetchWithDevice("/x");
    await fetchWithDevice("/x");
    now += 58_000;
    await fetchWithDevice("/x");
    expect(fetchChallenge).toHaveBeenCalledTimes(2);
  });

  it("retries exactly once on 401 use_dpop_nonce with the new nonce", async () => {
    init();
    route(`${APP}/x`, (_req, n) =>
      n === 1
        ? new HttpResponse(null, {
            status: 401,
            headers: { "WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": "fresh" },
          })
        : HttpResponse.json({ ok: true }),
    );
    const response = await fetchWithDevice("/x", { method: "POST", body: "same body" });
    expect(response.status).toBe(200);
    expect(seen.map((s) => s.body)).toEqual(["same body", "same body"]);
    expect((await verify(seen[1]?.proof ?? null)).claims.nonce).toBe("fresh");
  });

  it("gives up after one retry and returns the server's answer", async () => {
    init();
    route(
      `${APP}/x`,
      () =>
        new HttpResponse("no", {
          status: 401,
          headers: { "WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": "again" },
        }),
    );
    const response = await fetchWithDevice("/x");
    expect(response.status).toBe(401);
    expect(await response.text()).toBe("no");
    expect(seen).toHaveLength(2);
  });

  it("understands the 425 NewDeviceChallengeRequired body", async () => {
    init();
    route(`${APP}/x`, (_req, n) =>
      n === 1
        ? HttpResponse.json(
            {
              errorType: "NewDeviceChallengeRequired",
              deviceChallenge: "from-425",
              expiresAt: Math.floor(Date.now() / 1000) + 300,
            },
            { status: 425 },
          )
        : HttpResponse.json({}),
    );
    expect((await fetchWithDevice("/x")).status).toBe(200);
    expect((await verify(seen[1]?.proof ?? null)).claims.nonce).toBe("from-425");
  });

  it("asks getChallengeFromFailedResponse for app-specific forms", async () => {
    const getChallengeFromFailedResponse = vi.fn(async (response: Response) =>
      response.status === 403 ? { challenge: (await response.json()).next } : null,
    );
    init({ getChallengeFromFailedResponse });
    route(`${APP}/x`, (_req, n) =>
      n === 1 ? HttpResponse.json({ next: "custom" }, { status: 403 }) : HttpResponse.json({}),
    );
    expect((await fetchWithDevice("/x")).status).toBe(200);
    expect((await verify(seen[1]?.proof ?? null)).claims.nonce).toBe("custom");
  });

  it.each([
    ["URLSearchParams", () => new URLSearchParams({ a: "1" }), "a=1"],
    ["Blob", () => new Blob(["blob"]), "blob"],
    ["ArrayBuffer", () => new TextEncoder().encode("bytes").buffer, "bytes"],
  ])("replays a %s body", async (_name, body, text) => {
    init();
    route(`${APP}/x`, (_req, n) =>
      n === 1
        ? new HttpResponse(null, {
            status: 401,
            headers: { "WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": "n" },
          })
        : HttpResponse.json({}),
    );
    await fetchWithDevice("/x", { method: "POST", body: body() });
    expect(seen.map((s) => s.body)).toEqual([text, text]);
  });

  it("refuses to replay a stream body with ERR_BODY_NOT_REPLAYABLE", async () => {
    init();
    route(
      `${APP}/x`,
      () =>
        new HttpResponse(null, {
          status: 401,
          headers: { "WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": "n" },
        }),
    );
    const body = new Blob(["streamed"]).stream();
    const code = await codeOf(
      fetchWithDevice("/x", { method: "POST", body, duplex: "half" } as RequestInit),
    );
    expect(code).toBe("ERR_BODY_NOT_REPLAYABLE");
    expect(seen).toHaveLength(1);
  });

  it("fails with ERR_CHALLENGE_FETCH when fetchChallenge fails or returns junk", async () => {
    route(`${APP}/x`);
    init({ fetchChallenge: async () => Promise.reject(new Error("offline")) });
    expect(await codeOf(fetchWithDevice("/x"))).toBe("ERR_CHALLENGE_FETCH");
    init({ fetchChallenge: async () => ({ challenge: "", expiresAt: new Date() }) });
    expect(await codeOf(fetchWithDevice("/x"))).toBe("ERR_CHALLENGE_FETCH");
    expect(seen).toHaveLength(0);
  });
});

describe("clock", () => {
  it("learns the server's clock from Date and retries a 401 with a corrected iat", async () => {
    const skewMs = -3_600_000;
    init({ now: () => Date.now() + skewMs, fetchChallenge: async () => ({ challenge: "c" }) });
    route(`${APP}/x`, (_req, n) =>
      n === 1
        ? new HttpResponse(null, {
            status: 401,
            headers: {
              "WWW-Authenticate": 'DPoP error="invalid_dpop_proof"',
              Date: new Date().toUTCString(),
            },
          })
        : HttpResponse.json({}),
    );
    expect((await fetchWithDevice("/x")).status).toBe(200);
    const [first, second] = await Promise.all(seen.map((s) => verify(s.proof)));
    const serverSeconds = Date.now() / 1000;
    expect(serverSeconds - (first?.claims.iat as number)).toBeGreaterThan(3500);
    expect(Math.abs(serverSeconds - (second?.claims.iat as number))).toBeLessThan(3);
  });

  it("moves a clock that runs ahead back before a fresh challenge's expiresAt", async () => {
    const expiresAt = new Date(Date.now() + 300_000);
    init({
      now: () => Date.now() + 3_600_000,
      fetchChallenge: async () => ({ challenge: "c", expiresAt }),
    });
    route(`${APP}/x`);
    await fetchWithDevice("/x");
    const { claims } = await verify(seen[0]?.proof ?? null);
    expect(claims.iat as number).toBeLessThan(expiresAt.getTime() / 1000);
  });
});

describe("device key", () => {
  function fakeLocalStorage() {
    const items = new Map<string, string>();
    vi.stubGlobal("localStorage", {
      getItem: (k: string) => items.get(k) ?? null,
      setItem: (k: string, v: string) => items.set(k, v),
      removeItem: (k: string) => items.delete(k),
    });
    return items;
  }

  it("reports created, then restored on the next page load, and forgetDevice makes a new key", async () => {
    fakeLocalStorage();
    const events: DeviceKeyEvent[] = [];
    const options = { onDeviceKey: (e: DeviceKeyEvent) => events.push(e) };
    init(options);
    const databaseName = `db-${dbCounter}`;
    const first = await getDeviceThumbprint();
    // A new page: same database, nothing in memory.
    initFetchWithDevice({ fetchChallenge: challenges(), databaseName, ...options });
    expect(await getDeviceThumbprint()).toBe(first);
    await forgetDevice();
    const second = await getDeviceThumbprint();
    expect(second).not.toBe(first);
    await vi.waitFor(() => expect(events).toHaveLength(3));
    expect(events.map((e) => [e.status, e.jkt])).toEqual([
      ["created", first],
      ["restored", first],
      ["created", second],
    ]);
  });

  it("reports missing when the key vanished from IndexedDB but this profile had one", async () => {
    const items = fakeLocalStorage();
    const events: DeviceKeyEvent[] = [];
    init({ onDeviceKey: (e) => events.push(e) });
    items.set(`devicebound:db-${dbCounter}`, "an-old-jkt");
    const jkt = await getDeviceThumbprint();
    await vi.waitFor(() =>
      expect(events).toEqual([
        { status: "missing", jkt, previousJkt: "an-old-jkt", persisted: false },
      ]),
    );
  });

  it("asks for persistent storage and serialises key creation with Web Locks", async () => {
    const persist = vi.fn(async () => true);
    const lockNames: string[] = [];
    vi.stubGlobal("navigator", {
      storage: { persist },
      locks: {
        request: (name: string, run: () => Promise<unknown>) => {
          lockNames.push(name);
          return run();
        },
      },
    });
    const events: DeviceKeyEvent[] = [];
    init({ onDeviceKey: (e) => events.push(e) });
    await getDeviceThumbprint();
    await vi.waitFor(() => expect(events[0]?.persisted).toBe(true));
    expect(persist).toHaveBeenCalledTimes(1);
    expect(lockNames).toEqual([`devicebound:db-${dbCounter}`]);
  });

  it("ends with one key when two pages load at once", async () => {
    init();
    const databaseName = `db-${dbCounter}`;
    const pageA = await import("./key-store.js");
    vi.resetModules();
    const pageB = await import("./key-store.js");
    // No Web Locks here: the get-then-put transaction alone must settle the race.
    const [a, b] = await Promise.all([
      pageA.loadDeviceKey(databaseName, crypto.subtle, ["ES256"]),
      pageB.loadDeviceKey(databaseName, crypto.subtle, ["ES256"]),
    ]);
    expect([a.status, b.status].sort()).toEqual(["created", "restored"]);
    expect(a.signer.jkt).toBe(b.signer.jkt);
  });

  it("reports a planted extractable key as replaced and never signs with it", async () => {
    const items = fakeLocalStorage();
    const events: DeviceKeyEvent[] = [];
    init({ onDeviceKey: (e) => events.push(e) });
    const databaseName = `db-${dbCounter}`;
    route(`${APP}/x`);
    const original = await getDeviceThumbprint();
    // What an XSS can do: make a key pair it can export, and overwrite the stored record.
    const planted = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const plantedJkt = await calculateJwkThumbprint(
      (await crypto.subtle.exportKey("jwk", planted.publicKey)) as never,
    );
    await writeRecord(databaseName, { keyPair: planted, alg: "ES256" });
    // The next page load.
    initFetchWithDevice({
      fetchChallenge: challenges(),
      databaseName,
      onDeviceKey: (e) => events.push(e),
    });
    await fetchWithDevice("/x");
    const { header } = await verify(seen[0]?.proof ?? null);
    const used = await calculateJwkThumbprint(header.jwk as never);
    expect(used).not.toBe(plantedJkt);
    expect(used).not.toBe(original);
    await vi.waitFor(() => expect(events).toHaveLength(2));
    expect(events[1]).toEqual({
      status: "replaced",
      jkt: used,
      previousJkt: original,
      persisted: false,
    });
    expect(items.get(`devicebound:${databaseName}`)).toBe(used);
    // The planted record is gone: what is stored now is the new, non-extractable key.
    const stored = (await readRecord(databaseName)) as { keyPair: CryptoKeyPair };
    expect(stored.keyPair.privateKey.extractable).toBe(false);
  });

  it("reports a well-formed key that is not this profile's last key as replaced", async () => {
    fakeLocalStorage();
    const events: DeviceKeyEvent[] = [];
    init({ onDeviceKey: (e) => events.push(e) });
    const databaseName = `db-${dbCounter}`;
    const original = await getDeviceThumbprint();
    // Non-extractable once stored, yet the page that imported it may keep the key material.
    const material = (await crypto.subtle.generateKey(
      { name: "ECDSA", namedCurve: "P-256" },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const imported = async (key: CryptoKey, usage: KeyUsage, extractable: boolean) =>
      crypto.subtle.importKey(
        "jwk",
        await crypto.subtle.exportKey("jwk", key),
        { name: "ECDSA", namedCurve: "P-256" },
        extractable,
        [usage],
      );
    await writeRecord(databaseName, {
      keyPair: {
        privateKey: await imported(material.privateKey, "sign", false),
        publicKey: await imported(material.publicKey, "verify", true),
      },
      alg: "ES256",
    });
    initFetchWithDevice({
      fetchChallenge: challenges(),
      databaseName,
      onDeviceKey: (e) => events.push(e),
    });
    const now = await getDeviceThumbprint();
    await vi.waitFor(() => expect(events).toHaveLength(2));
    expect(events[1]).toMatchObject({ status: "replaced", jkt: now, previousJkt: original });
    expect(now).not.toBe(original);
  });
});

describe("fallback and errors", () => {
  it("throws ERR_UNSUPPORTED without IndexedDB, or sends without a proof in fallback mode", async () => {
    route(`${APP}/x`);
    vi.stubGlobal("indexedDB", undefined);
    init();
    expect(await codeOf(fetchWithDevice("/x"))).toBe("ERR_UNSUPPORTED");
    expect(await codeOf(getDeviceThumbprint())).toBe("ERR_UNSUPPORTED");
    expect(await codeOf(forgetDevice())).toBe("ERR_UNSUPPORTED");
    init({ fallbackBehavior: "fallback" });
    expect((await fetchWithDevice("/x")).status).toBe(200);
    expect(seen[0]?.proof).toBeNull();
  });

  it("throws ERR_KEY_STORAGE when IndexedDB fails, or falls back", async () => {
    route(`${APP}/x`);
    vi.stubGlobal("indexedDB", {
      open: () => {
        throw new DOMException("denied", "SecurityError");
      },
    });
    init();
    expect(await codeOf(fetchWithDevice("/x"))).toBe("ERR_KEY_STORAGE");
    init({ fallbackBehavior: "fallback" });
    expect((await fetchWithDevice("/x")).status).toBe(200);
    expect(seen[0]?.proof).toBeNull();
  });

  it("tells the app about every request sent without a proof in fallback mode", async () => {
    route(`${APP}/x`);
    route(`${API}/y`);
    vi.stubGlobal("indexedDB", undefined);
    const fallbacks: FallbackEvent[] = [];
    init({ fallbackBehavior: "fallback", onFallback: (event) => fallbacks.push(event) });
    await fetchWithDevice("/x?a=1");
    await fetchWithDevice("/x");
    // Another origin never gets a proof, so nothing fell back.
    await fetchWithDevice(`${API}/y`);
    expect(seen.map((s) => s.proof)).toEqual([null, null, null]);
    expect(fallbacks.map((f) => [f.url, f.error.code])).toEqual([
      [`${APP}/x?a=1`, "ERR_UNSUPPORTED"],
      [`${APP}/x`, "ERR_UNSUPPORTED"],
    ]);
    // In "fail" mode the same failure throws and the callback is not a substitute for it.
    init({ onFallback: (event) => fallbacks.push(event) });
    expect(await codeOf(fetchWithDevice("/x"))).toBe("ERR_UNSUPPORTED");
    expect(fallbacks).toHaveLength(2);
  });

  it("throws ERR_UNSUPPORTED, not TypeError, for a relative URL where there is no page", async () => {
    vi.stubGlobal("location", undefined);
    init();
    expect(await codeOf(fetchWithDevice("/relative"))).toBe("ERR_UNSUPPORTED");
    // In a page a malformed URL stays the TypeError fetch itself throws.
    vi.stubGlobal("location", { href: `${APP}/page`, origin: APP });
    await expect(fetchWithDevice("http://[bad")).rejects.toThrow(TypeError);
  });

  it("throws ERR_NOT_INITIALIZED before initFetchWithDevice", async () => {
    vi.resetModules();
    // The default instance lives on globalThis (one per page, whichever build made it).
    delete (globalThis as Record<symbol, unknown>)[Symbol.for("@devicebound/browser")];
    const fresh = await import("./index.js");
    expect(await codeOf(fresh.fetchWithDevice("/x"))).toBe("ERR_NOT_INITIALIZED");
    expect(await codeOf(fresh.getDeviceThumbprint())).toBe("ERR_NOT_INITIALIZED");
    expect(await codeOf(fresh.forgetDevice())).toBe("ERR_NOT_INITIALIZED");
    expect(await codeOf(fresh.fetchWithDevice(`${API}/x`))).toBe("ERR_NOT_INITIALIZED");
  });

  it("throws TypeError for misuse", () => {
    const bad = [
      {},
      { fetchChallenge: "no" },
      { fetchChallenge: challenges(), fallbackBehavior: "maybe" },
      { fetchChallenge: challenges(), origins: ["not a url"] },
      { fetchChallenge: challenges(), databaseName: "" },
      { fetchChallenge: challenges(), algorithm: "RS256" },
    ];
    for (const options of bad) {
      expect(() => initFetchWithDevice(options as never)).toThrow(TypeError);
    }
  });

  it("imports on a server without touching anything", async () => {
    vi.resetModules();
    vi.stubGlobal("location", undefined);
    vi.stubGlobal("indexedDB", undefined);
    const fresh = await import("./index.js");
    fresh.initFetchWithDevice({ fetchChallenge: challenges() });
    expect(await codeOf(fresh.getDeviceThumbprint())).toBe("ERR_UNSUPPORTED");
  });
});

describe("createDeviceFetch", () => {
  it("keeps separate keys, challenges and options per instance", async () => {
    route(`${APP}/x`);
    const a = createDeviceFetch({ fetchChallenge: challenges(), databaseName: "tenant-a" });
    const fetchChallengeB = vi.fn(async () => ({ challenge: "b" }));
    const { fetchWithDevice: fetchB, getDeviceThumbprint: thumbprintB } = createDeviceFetch({
      fetchChallenge: fetchChallengeB,
      databaseName: "tenant-b",
    });
    await a.fetchWithDevice("/x");
    await fetchB("/x");
    const [first, second] = await Promise.all(seen.map((s) => verify(s.proof)));
    expect(first?.claims.nonce).toBe("challenge-1");
    expect(second?.claims.nonce).toBe("b");
    expect(await a.getDeviceThumbprint()).not.toBe(await thumbprintB());
    expect(fetchChallengeB).toHaveBeenCalledTimes(1);
    expect(() => createDeviceFetch({} as never)).toThrow(TypeError);
  });

  it("has one default instance when an app loads both the ESM and the CommonJS build", async () => {
    // Two bundles, each with its own copy of everything (idb too), as the published builds are.
    const dir = mkdtempSync(join(tmpdir(), "devicebound-dual-"));
    try {
      for (const format of ["esm", "cjs"] as const) {
        await build({
          entryPoints: [fileURLToPath(new URL("./index.ts", import.meta.url))],
          bundle: true,
          format,
          platform: "neutral",
          mainFields: ["module", "main"],
          outfile: join(dir, format === "esm" ? "index.mjs" : "index.cjs"),
        });
      }
      const cjs = createRequire(import.meta.url)(
        join(dir, "index.cjs"),
      ) as typeof import("./index.js");
      const esm = (await import(pathToFileURL(join(dir, "index.mjs")).href)) as typeof cjs;
      expect(cjs.fetchWithDevice).not.toBe(esm.fetchWithDevice);
      esm.initFetchWithDevice({ fetchChallenge: challenges(), databaseName: "dual" });
      expect(await cjs.getDeviceThumbprint()).toBe(await esm.getDeviceThumbprint());
      route(`${APP}/x`);
      await cjs.fetchWithDevice("/x");
      expect((await verify(seen[0]?.proof ?? null)).claims.nonce).toBe("challenge-1");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
