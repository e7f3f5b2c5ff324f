// Interoperability: proofs from the independent `dpop` package verify here, and the proofs our
// test device makes are valid DPoP JWTs to `jose`.
import { generateKeyPair, generateProof } from "dpop";
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  EmbeddedJWK,
  exportJWK,
  jwtVerify,
} from "jose";
import { describe, expect, it } from "vitest";
import { API_URL, GET, setup } from "./test-fixtures.js";

describe("interop", () => {
  it("verifies ES256 proofs made by the dpop package, with nonce and access token", async () => {
    // dpop signs with the real clock.
    const f = await setup({ now: Date.now });
    const keypair = await generateKeyPair("ES256");
    const nonce = await f.challenge();
    const proof = await generateProof(keypair, API_URL, "GET", nonce, "access-token-1");
    const verified = await f.binding.verifyProof(proof, { ...GET, accessToken: "access-token-1" });
    const jwk = await exportJWK(keypair.publicKey);
    expect(verified.jkt).toBe(await calculateJwkThumbprint(jwk, "sha256"));
    expect(verified.claims.nonce).toBe(nonce);
  });

  it("verifies Ed25519 proofs made by the dpop package when EdDSA is enabled", async () => {
    const f = await setup({ algorithms: ["ES256", "EdDSA"], now: Date.now });
    const keypair = await generateKeyPair("Ed25519");
    const proof = await generateProof(keypair, API_URL, "GET", await f.challenge());
    const alg = decodeProtectedHeader(proof).alg;
    expect(["EdDSA", "Ed25519"]).toContain(alg);
    const verified = await f.binding.verifyProof(proof, GET);
    expect(verified.jkt).toBe(
      await calculateJwkThumbprint(await exportJWK(keypair.publicKey), "sha256"),
    );
  });

  it("makes proofs that jose accepts as dpop+jwt with the embedded key", async () => {
    const f = await setup();
    const proof = await f.proof({ accessToken: "tok" });
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
      typ: "dpop+jwt",
      algorithms: ["ES256"],
      currentDate: new Date(f.now()),
    });
    expect(protectedHeader.jwk).toEqual(f.device.jwk);
    expect(payload).toMatchObject({ htm: "GET", htu: API_URL });
    expect(typeof payload.jti).toBe("string");
    expect(await calculateJwkThumbprint(protectedHeader.jwk as never, "sha256")).toBe(f.device.jkt);
  });
});
