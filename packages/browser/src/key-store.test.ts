import { describe, expect, it } from "vitest";
import { isDeviceKey } from "./key-store.js";

const ecdsa = { name: "ECDSA", namedCurve: "P-256" };
const pair = (algorithm: EcKeyGenParams | Algorithm, extractable = false) =>
  crypto.subtle.generateKey(algorithm, extractable, ["sign", "verify"]) as Promise<CryptoKeyPair>;

describe("isDeviceKey", () => {
  it("accepts what this package generates: P-256 for ES256, Ed25519 for EdDSA", async () => {
    expect(isDeviceKey({ keyPair: await pair(ecdsa), alg: "ES256" })).toBe(true);
    expect(isDeviceKey({ keyPair: await pair({ name: "Ed25519" }), alg: "EdDSA" })).toBe(true);
  });

  it("rejects every record that is not a well-formed non-extractable signing key", async () => {
    const good = await pair(ecdsa);
    const extractable = await pair(ecdsa, true);
    const p384 = await pair({ name: "ECDSA", namedCurve: "P-384" } as EcKeyGenParams);
    const hmac = (await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ])) as CryptoKey;
    const importedForSign = await crypto.subtle.importKey(
      "jwk",
      await crypto.subtle.exportKey("jwk", extractable.privateKey),
      ecdsa,
      false,
      ["sign"],
    );
    const verifyOnlyPublic = await crypto.subtle.importKey(
      "jwk",
      await crypto.subtle.exportKey("jwk", good.publicKey),
      ecdsa,
      true,
      [],
    );
    const records: unknown[] = [
      undefined,
      "device",
      { keyPair: good },
      { keyPair: good, alg: "EdDSA" },
      { keyPair: good, alg: "RS256" },
      { keyPair: extractable, alg: "ES256" },
      { keyPair: p384, alg: "ES256" },
      { keyPair: { privateKey: good.publicKey, publicKey: good.privateKey }, alg: "ES256" },
      { keyPair: { privateKey: hmac, publicKey: good.publicKey }, alg: "ES256" },
      { keyPair: { privateKey: good.privateKey, publicKey: verifyOnlyPublic }, alg: "ES256" },
      { keyPair: { privateKey: good.privateKey }, alg: "ES256" },
      // A plain object dressed as a key: only a real CryptoKey says what it can do.
      {
        keyPair: {
          privateKey: { ...good.privateKey, type: "private", usages: ["sign"], extractable: false },
          publicKey: good.publicKey,
        },
        alg: "ES256",
      },
    ];
    expect(records.map(isDeviceKey)).toEqual(records.map(() => false));
    // Still a proper non-extractable ECDSA key: a private key imported for "sign" only is fine.
    expect(
      isDeviceKey({
        keyPair: { privateKey: importedForSign, publicKey: good.publicKey },
        alg: "ES256",
      }),
    ).toBe(true);
  });
});
