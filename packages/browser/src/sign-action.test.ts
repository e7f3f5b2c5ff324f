import "fake-indexeddb/auto";
import { createDeviceBinding, memoryStore } from "@devicebound/server";
import { decodeProtectedHeader, EmbeddedJWK, jwtVerify } from "jose";
import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  createDeviceFetch,
  forgetDevice,
  getDeviceThumbprint,
  initFetchWithDevice,
  rememberedUser,
  rememberUser,
  signAction,
} from "./index.js";

const APP = "https://app.test";
const server = setupServer();
let db = 0;
const binding = createDeviceBinding({
  secret: "sign-action-test-secret-0123456789-abcd",
  store: memoryStore(),
  publicOrigin: APP,
});
const fetchChallenge = vi.fn(async () => {
  const { challenge, expiresAt } = await binding.createChallenge();
  return { challenge, expiresAt };
});

beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterAll(() => server.close());
beforeEach(() => {
  vi.stubGlobal("location", { href: `${APP}/page`, origin: APP });
  fetchChallenge.mockClear();
  initFetchWithDevice({ fetchChallenge, databaseName: `actions-${++db}` });
});
afterEach(() => {
  server.resetHandlers();
  vi.unstubAllGlobals();
});

/** Signs in the way an app does: one request through fetchWithDevice, registered by the server. */
async function signIn(userId: string) {
  let proof = "";
  server.use(
    http.get(`${APP}/api/me`, ({ request }) => {
      proof = request.headers.get("dpop") ?? "";
      return HttpResponse.json({});
    }),
  );
  const { fetchWithDevice } = await import("./index.js");
  await fetchWithDevice("/api/me");
  const verified = await binding.verifyProof(proof, { method: "GET", url: `${APP}/api/me` });
  await binding.register(userId, verified);
}

describe("signAction", () => {
  it("signs a device-action+jwt token that verifyAction accepts once, for that action and data only", async () => {
    await signIn("alice");
    const token = await signAction("payment", { data: '{"to":"bob","amount":100}' });
    expect(decodeProtectedHeader(token).typ).toBe("device-action+jwt");
    const { payload } = await jwtVerify(token, EmbeddedJWK, {
      typ: "device-action+jwt",
      algorithms: ["ES256"],
    });
    expect(payload).toMatchObject({ act: "payment", exp: (payload.iat as number) + 120 });
    // The challenge fetchWithDevice already holds: no extra round trip.
    expect(fetchChallenge).toHaveBeenCalledTimes(1);

    const ok = await binding.verifyAction(token, {
      action: "payment",
      userId: "alice",
      data: '{"to":"bob","amount":100}',
    });
    expect(ok.jkt).toBe(await getDeviceThumbprint());
    await expect(
      binding.verifyAction(token, {
        action: "payment",
        userId: "alice",
        data: '{"to":"bob","amount":100}',
      }),
    ).rejects.toMatchObject({ code: "ERR_ACTION_REPLAYED" });
    const other = await signAction("payment", { data: '{"to":"bob","amount":100}' });
    await expect(
      binding.verifyAction(other, {
        action: "payment",
        userId: "alice",
        data: '{"to":"eve","amount":1000}',
      }),
    ).rejects.toMatchObject({ code: "ERR_ACTION_DATA" });
    await expect(
      binding.verifyAction(await signAction("email-change"), {
        action: "payment",
        userId: "alice",
      }),
    ).rejects.toMatchObject({ code: "ERR_ACTION_NAME" });
  });

  it("hashes bytes as given and strings as UTF-8, and honours expiresIn up to 600 s", async () => {
    await signIn("bob");
    const bytes = new TextEncoder().encode("é 🔐");
    const token = await signAction("wire", { data: bytes, expiresIn: 600 });
    await expect(
      binding.verifyAction(token, { action: "wire", userId: "bob", data: "é 🔐" }),
    ).resolves.toBeTruthy();
    const { payload } = await jwtVerify(token, EmbeddedJWK, { typ: "device-action+jwt" });
    expect((payload.exp as number) - (payload.iat as number)).toBe(600);
  });

  it("refuses misuse with TypeError", async () => {
    for (const [action, options] of [
      ["", {}],
      ["x".repeat(129), {}],
      ["pay", { expiresIn: 601 }],
      ["pay", { expiresIn: 0 }],
      ["pay", { expiresIn: 1.5 }],
      ["pay", { data: 42 }],
    ] as const) {
      await expect(signAction(action, options as never)).rejects.toBeInstanceOf(TypeError);
    }
  });

  it("signs with a factory instance's key when given one", async () => {
    const tenant = createDeviceFetch({ fetchChallenge, databaseName: `tenant-${db}` });
    const token = await signAction("payment", { device: tenant });
    const { payload, protectedHeader } = await jwtVerify(token, EmbeddedJWK, {
      typ: "device-action+jwt",
    });
    expect(payload.act).toBe("payment");
    expect(protectedHeader.jwk).toBeTruthy();
    expect(await tenant.getDeviceThumbprint()).not.toBe(await getDeviceThumbprint());
  });
});

describe("rememberUser", () => {
  it("remembers the user beside the key, and forgetDevice forgets both", async () => {
    expect(await rememberedUser()).toBeNull();
    await rememberUser("alice");
    expect(await rememberedUser()).toBe("alice");
    const before = await getDeviceThumbprint();
    await forgetDevice();
    expect(await rememberedUser()).toBeNull();
    expect(await getDeviceThumbprint()).not.toBe(before);
    await expect(rememberUser("" as string)).rejects.toBeInstanceOf(TypeError);
  });
});
