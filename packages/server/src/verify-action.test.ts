import { ACTION_MAX_LIFETIME_SECONDS, ERROR_CODES } from "@devicebound/wire";
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from "jose";
import { describe, expect, it, vi } from "vitest";
import { nodeCrypto } from "./crypto-node.js";
import { webCrypto } from "./crypto-web.js";
import type { DeviceEvent } from "./events.js";
import { errorAnswer } from "./http.js";
import { b64json, decode, type Fixture, GET, START_MS, setup } from "./test-fixtures.js";
import { createTestDevice, type TestActionInput } from "./testing/test-device.js";

const PAY = { action: "payment", userId: "alice", data: "pay Bob 100" } as const;
const T0 = Math.floor(START_MS / 1000);

/** A fixture whose device is registered to alice. */
async function registered(...args: Parameters<typeof setup>) {
  const f = await setup(...args);
  const { device } = await f.binding.register(
    "alice",
    await f.binding.verifyProof(await f.proof(), GET),
  );
  return { ...f, registeredDevice: device };
}

async function token(f: Fixture, input: Partial<TestActionInput> = {}) {
  return f.device.action({
    action: PAY.action,
    data: PAY.data,
    nonce: await f.challenge(),
    iat: Math.floor(f.now() / 1000),
    ...input,
  });
}

const code = (promise: Promise<unknown>) =>
  promise.then(
    () => "accepted",
    (error: { code?: string; name?: string }) => error.code ?? error.name,
  );

describe.each([
  ["node:crypto", nodeCrypto],
  ["Web Crypto", webCrypto],
] as const)("verifyAction over %s", (_name, backend) => {
  it("accepts a token for this action, user and data, and returns the device, jkt and claims", async () => {
    const f = await registered({}, backend());
    const signed = await token(f);
    const result = await f.binding.verifyAction(signed, PAY);
    expect(result.device.id).toBe(f.registeredDevice.id);
    expect(result.jkt).toBe(await calculateJwkThumbprint(f.device.jwk as never, "sha256"));
    expect(result.claims).toEqual(decode(signed).claims);
  });

  it("accepts Ed25519 tokens when Ed25519 is enabled", async () => {
    const device = await createTestDevice("EdDSA");
    const f = await registered({ algorithms: ["ES256", "Ed25519"] }, backend(), device);
    await expect(f.binding.verifyAction(await token(f), PAY)).resolves.toBeTruthy();
  });
});

describe("verifyAction: the wire format", () => {
  it("signs tokens that jose verifies as device-action+jwt with the embedded key", async () => {
    const f = await registered();
    const signed = await token(f);
    const { payload, protectedHeader } = await jwtVerify(signed, EmbeddedJWK, {
      typ: "device-action+jwt",
      algorithms: ["ES256"],
      currentDate: new Date(START_MS),
    });
    expect(protectedHeader.typ).toBe("device-action+jwt");
    expect(Object.keys(payload).sort()).toEqual(["act", "dig", "exp", "iat", "jti", "nonce"]);
    expect((payload.exp as number) - (payload.iat as number)).toBe(120);
    // dig is the base64url SHA-256 of the data's UTF-8 bytes.
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(PAY.data)),
    );
    expect(payload.dig).toBe(Buffer.from(digest).toString("base64url"));
  });
});

describe("verifyAction: refusals, each with its code", () => {
  it("refuses another action name", async () => {
    const f = await registered();
    expect(
      await code(f.binding.verifyAction(await token(f, { action: "change-email" }), PAY)),
    ).toBe("ERR_ACTION_NAME");
  });

  it("refuses other data, data where the token signs none, and none where it signs some", async () => {
    const f = await registered();
    const signed = await token(f);
    expect(await code(f.binding.verifyAction(signed, { ...PAY, data: "pay Eve 1000" }))).toBe(
      "ERR_ACTION_DATA",
    );
    expect(await code(f.binding.verifyAction(signed, { ...PAY, data: undefined }))).toBe(
      "ERR_ACTION_DATA",
    );
    const bare = await token(f, { data: undefined });
    expect(await code(f.binding.verifyAction(bare, PAY))).toBe("ERR_ACTION_DATA");
    expect(await code(f.binding.verifyAction(bare, { ...PAY, data: "" }))).toBe("ERR_ACTION_DATA");
    // A refusal records nothing: the same tokens pass with the data they sign.
    expect(await code(f.binding.verifyAction(signed, PAY))).toBe("accepted");
    expect(await code(f.binding.verifyAction(bare, { ...PAY, data: undefined }))).toBe("accepted");
  });

  it("digests bytes as given and strings as UTF-8", async () => {
    const f = await registered();
    const text = "pay Zoë 100 €";
    const bytes = new TextEncoder().encode(text);
    const opts = { ...PAY, data: text };
    await expect(
      f.binding.verifyAction(await token(f, { data: text }), opts),
    ).resolves.toBeTruthy();
    for (const data of [bytes, bytes.buffer, new DataView(bytes.buffer)]) {
      await expect(
        f.binding.verifyAction(await token(f, { data: text }), { ...PAY, data }),
      ).resolves.toBeTruthy();
    }
    const raw = Uint8Array.from([0, 255, 128]);
    await expect(
      f.binding.verifyAction(await token(f, { data: raw }), { ...PAY, data: raw }),
    ).resolves.toBeTruthy();
    expect(
      await code(
        f.binding.verifyAction(await token(f, { data: raw }), { ...PAY, data: "\u0000ÿ\u0080" }),
      ),
    ).toBe("ERR_ACTION_DATA");
  });

  it("refuses a key registered to another user only, and an unknown key", async () => {
    const f = await registered();
    expect(await code(f.binding.verifyAction(await token(f), { ...PAY, userId: "bob" }))).toBe(
      "ERR_ACTION_DEVICE",
    );
    const stranger = await createTestDevice();
    const signed = await stranger.action({
      action: PAY.action,
      data: PAY.data,
      nonce: await f.challenge(),
      iat: T0,
    });
    expect(await code(f.binding.verifyAction(signed, PAY))).toBe("ERR_ACTION_DEVICE");
  });

  it("refuses a blocked device until it is unblocked", async () => {
    const f = await registered();
    await f.binding.block("alice", f.registeredDevice.id);
    const signed = await token(f);
    expect(await code(f.binding.verifyAction(signed, PAY))).toBe("ERR_DEVICE_BLOCKED");
    await f.binding.unblock("alice", f.registeredDevice.id);
    expect(await code(f.binding.verifyAction(signed, PAY))).toBe("accepted");
  });

  it("accepts a token until the millisecond before exp and refuses it at exp exactly", async () => {
    const f = await registered();
    const early = await token(f, { iat: T0, expiresIn: 30 });
    const late = await token(f, { iat: T0, expiresIn: 30 });
    f.advance(30_000 - 1);
    expect(await code(f.binding.verifyAction(early, PAY))).toBe("accepted");
    f.advance(1);
    const refused = await f.binding.verifyAction(late, PAY).catch((e) => e);
    expect(refused.code).toBe("ERR_ACTION_EXPIRED");
    expect(refused.details.expiredSecondsAgo).toBe(0);
  });

  it(`accepts a lifetime of ${ACTION_MAX_LIFETIME_SECONDS} s and refuses one second more, none, or a negative one`, async () => {
    const f = await registered();
    const max = ACTION_MAX_LIFETIME_SECONDS;
    expect(await code(f.binding.verifyAction(await token(f, { expiresIn: max }), PAY))).toBe(
      "accepted",
    );
    for (const expiresIn of [max + 1, 0, -10]) {
      expect(await code(f.binding.verifyAction(await token(f, { expiresIn }), PAY))).toBe(
        "ERR_ACTION_LIFETIME",
      );
    }
  });

  it("accepts iat up to the clock skew ahead and refuses it further ahead", async () => {
    const f = await registered();
    expect(await code(f.binding.verifyAction(await token(f, { iat: T0 + 15 }), PAY))).toBe(
      "accepted",
    );
    expect(await code(f.binding.verifyAction(await token(f, { iat: T0 + 16 }), PAY))).toBe(
      "ERR_ACTION_LIFETIME",
    );
  });

  it("accepts a token once, up to its expiry, and keeps the record one window past exp", async () => {
    const f = await registered();
    const consume = vi.spyOn(f.store, "consume");
    const signed = await token(f, { expiresIn: 300 });
    await f.binding.verifyAction(signed, PAY);
    expect(consume).toHaveBeenLastCalledWith(
      `action:${f.device.jkt}:${decode(signed).claims.jti}`,
      (T0 + 300 + 60 + 15) * 1000,
    );
    expect(await code(f.binding.verifyAction(signed, PAY))).toBe("ERR_ACTION_REPLAYED");
    f.advance(300_000 - 1);
    expect(await code(f.binding.verifyAction(signed, PAY))).toBe("ERR_ACTION_REPLAYED");
  });

  it("keys tokens apart from proofs: a proof's jti does not spend a token's", async () => {
    const f = await registered();
    await f.binding.verifyProof(await f.proof({ jti: "shared-jti" }), GET);
    await expect(
      f.binding.verifyAction(await token(f, { jti: "shared-jti" }), PAY),
    ).resolves.toBeTruthy();
    await expect(
      f.binding.verifyProof(await f.proof({ jti: "shared-jti" }), GET),
    ).rejects.toMatchObject({ code: "ERR_PROOF_REPLAYED" });
  });

  it("refuses another typ, a proof given as a token, and a token given as a proof", async () => {
    const f = await registered();
    for (const typ of ["dpop+jwt", "JWT", undefined, "device-action+JWT"]) {
      expect(await code(f.binding.verifyAction(await token(f, { header: { typ } }), PAY))).toBe(
        "ERR_ACTION_TYP",
      );
    }
    expect(await code(f.binding.verifyAction(await f.proof(), PAY))).toBe("ERR_ACTION_TYP");
    expect(await code(f.binding.verifyProof(await token(f), GET))).toBe("ERR_PROOF_TYP");
  });

  it("refuses a signature by another key and unreadable tokens", async () => {
    const f = await registered();
    const good = decode(await token(f));
    const other = decode(await token(f));
    expect(await code(f.binding.verifyAction(`${good.h}.${good.p}.${other.s}`, PAY))).toBe(
      "ERR_ACTION_SIGNATURE",
    );
    const unsigned = `${good.h}.${b64json({ ...good.claims, jti: "tampered" })}.${good.s}`;
    expect(await code(f.binding.verifyAction(unsigned, PAY))).toBe("ERR_ACTION_SIGNATURE");
    for (const bad of [
      "",
      null,
      "a.b",
      "a.b.c.d",
      `${good.h}.${good.p}.${good.s}=`,
      `${good.h}.${good.p}.${good.s}`.padEnd(9000, "A"),
      `${b64json({ typ: "device-action+jwt", alg: "none" })}.${good.p}.${good.s}`,
      `${b64json({ typ: "device-action+jwt", alg: "ES256", jwk: { kty: "EC" } })}.${good.p}.${good.s}`,
      `${b64json({ typ: "device-action+jwt", alg: "ES256", jwk: f.device.jwk, crit: ["x"] })}.${good.p}.${good.s}`,
    ]) {
      expect(await code(f.binding.verifyAction(bad, PAY)), String(bad).slice(0, 40)).toBe(
        "ERR_ACTION_MALFORMED",
      );
    }
    for (const claims of [
      { act: 1 },
      { jti: undefined },
      { exp: "soon" },
      { iat: null },
      { dig: 5 },
    ]) {
      expect(await code(f.binding.verifyAction(await token(f, { claims }), PAY))).toBe(
        "ERR_ACTION_MALFORMED",
      );
    }
  });
});

describe("verifyAction: challenges", () => {
  it("needs a challenge this server issued", async () => {
    const f = await registered();
    expect(
      await code(f.binding.verifyAction(await token(f, { claims: { nonce: undefined } }), PAY)),
    ).toBe("ERR_CHALLENGE_MISSING");
    expect(await code(f.binding.verifyAction(await token(f, { nonce: "forged" }), PAY))).toBe(
      "ERR_CHALLENGE_INVALID",
    );
  });

  it("lets one challenge carry several tokens, each accepted once", async () => {
    const f = await registered();
    const nonce = await f.challenge();
    const first = await token(f, { nonce });
    const second = await token(f, { nonce });
    expect(await code(f.binding.verifyAction(first, PAY))).toBe("accepted");
    expect(await code(f.binding.verifyAction(second, PAY))).toBe("accepted");
    expect(await code(f.binding.verifyAction(first, PAY))).toBe("ERR_ACTION_REPLAYED");
  });

  it("spends the challenge itself with singleUseChallenge, shared with login proofs", async () => {
    const f = await registered();
    const nonce = await f.challenge();
    const once = { ...PAY, singleUseChallenge: true };
    expect(await code(f.binding.verifyAction(await token(f, { nonce }), once))).toBe("accepted");
    expect(await code(f.binding.verifyAction(await token(f, { nonce }), once))).toBe(
      "ERR_CHALLENGE_USED",
    );
    const login = await f.challenge();
    await f.binding.verifyProof(await f.proof({ nonce: login }), {
      ...GET,
      singleUseChallenge: true,
    });
    expect(await code(f.binding.verifyAction(await token(f, { nonce: login }), once))).toBe(
      "ERR_CHALLENGE_USED",
    );
  });

  it("holds a challenge bound to an IP address and User-Agent to them", async () => {
    const f = await registered();
    const client = { ipAddress: "192.0.2.7", userAgent: "UA 1" };
    const nonce = await f.challenge(client);
    expect(
      await code(
        f.binding.verifyAction(await token(f, { nonce }), {
          ...PAY,
          ipAddress: "192.0.2.8",
          userAgent: "UA 1",
        }),
      ),
    ).toBe("ERR_CHALLENGE_BINDING");
    expect(
      await code(
        f.binding.verifyAction(await token(f, { nonce }), { ...PAY, ...client, userAgent: "UA 2" }),
      ),
    ).toBe("ERR_CHALLENGE_BINDING");
    expect(
      await code(f.binding.verifyAction(await token(f, { nonce }), { ...PAY, ...client })),
    ).toBe("accepted");
  });

  it("needs the challenge valid at iat: a token outlives its challenge, a late signature does not", async () => {
    const f = await registered();
    const nonce = await f.challenge(); // valid for 300 s
    const early = await token(f, { nonce, iat: T0 + 299, expiresIn: 600 });
    f.advance(600_000);
    // Signed while the challenge held, verified after it expired, before the token's exp.
    expect(await code(f.binding.verifyAction(early, PAY))).toBe("accepted");
    const late = await token(f, { nonce, iat: T0 + 300, expiresIn: 600 });
    expect(await code(f.binding.verifyAction(late, PAY))).toBe("ERR_CHALLENGE_EXPIRED");
  });
});

describe("verifyAction: misuse and answers", () => {
  it("throws TypeError for missing options, a bad action name or data of another type", async () => {
    const f = await registered();
    const signed = await token(f);
    for (const opts of [
      undefined,
      { userId: "alice" },
      { ...PAY, action: "" },
      { ...PAY, action: "a\nb" },
      { ...PAY, action: "x".repeat(129) },
      { ...PAY, userId: "" },
      { ...PAY, data: 42 },
    ]) {
      await expect(f.binding.verifyAction(signed, opts as never)).rejects.toBeInstanceOf(TypeError);
    }
  });

  it("fails closed when the replay store cannot be reached, and moves lastSeenAt on success", async () => {
    let reachable = true; // for the registration's proof, then down
    const down = await registered({
      replayStore: {
        consume: async () => {
          if (reachable) return true;
          throw new Error("connection refused");
        },
      },
    });
    reachable = false;
    expect(await code(down.binding.verifyAction(await token(down), PAY))).toBe(
      "ERR_STORE_UNAVAILABLE",
    );
    const f = await registered();
    f.advance(3_600_000);
    const { device } = await f.binding.verifyAction(await token(f), PAY);
    expect(device.lastSeenAt.getTime()).toBe(f.now());
    expect((await f.binding.get("alice", device.id))?.lastSeenAt.getTime()).toBe(f.now());
  });

  it("reports refusals as verificationFailed events", async () => {
    const events: DeviceEvent[] = [];
    const f = await registered({ onEvent: (event) => void events.push(event) });
    await f.binding.verifyAction(await token(f, { action: "other" }), PAY).catch(() => {});
    expect(events.at(-1)).toMatchObject({ type: "verificationFailed", code: "ERR_ACTION_NAME" });
  });

  it("answers 400 for an unreadable token and 403 for every other action refusal", async () => {
    const f = await registered();
    for (const c of ERROR_CODES.filter((c) => c.startsWith("ERR_ACTION_"))) {
      expect(errorAnswer(c), c).toEqual({
        status: c === "ERR_ACTION_MALFORMED" ? 400 : 403,
        dpopError: null,
        sendChallenge: false,
      });
    }
    const refused = await f.binding
      .verifyAction(await token(f, { action: "x" }), PAY)
      .catch((e) => e);
    const response = await f.binding.errorResponse(refused);
    expect(response.status).toBe(403);
    expect(response.headers.get("WWW-Authenticate")).toBeNull();
    expect(await response.json()).toMatchObject({ error: "ERR_ACTION_NAME" });
  });
});
