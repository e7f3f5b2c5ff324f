// The Web Crypto backend, for Deno, Bun, workers and edge runtimes.
import { utf8 } from "@devicebound/wire";
import type { CryptoBackend, SignatureAlgorithm } from "./crypto-backend.js";
import { RecentCache } from "./crypto-backend.js";

const IMPORT_PARAMS: Record<
  SignatureAlgorithm,
  EcKeyImportParams | RsaHashedImportParams | Algorithm
> = {
  ES256: { name: "ECDSA", namedCurve: "P-256" },
  Ed25519: { name: "Ed25519" },
  RS256: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
};
const VERIFY_PARAMS: Record<SignatureAlgorithm, EcdsaParams | Algorithm> = {
  ES256: { name: "ECDSA", hash: "SHA-256" },
  Ed25519: { name: "Ed25519" },
  RS256: { name: "RSASSA-PKCS1-v1_5" },
};

export function webCrypto(maxCachedKeys = 10_000): CryptoBackend {
  const subtle = globalThis.crypto.subtle;
  const keys = new RecentCache<string, Promise<CryptoKey>>(maxCachedKeys);
  const hmacKeys = new RecentCache<Uint8Array, Promise<CryptoKey>>(16);
  return {
    async sha256(data) {
      return new Uint8Array(await subtle.digest("SHA-256", data as BufferSource));
    },
    async hmacSha256(secret, data) {
      let key = hmacKeys.get(secret);
      if (key === undefined) {
        key = subtle.importKey(
          "raw",
          secret as BufferSource,
          { name: "HMAC", hash: "SHA-256" },
          false,
          ["sign"],
        );
        hmacKeys.set(secret, key);
      }
      return new Uint8Array(await subtle.sign("HMAC", await key, data as BufferSource));
    },
    randomBytes(length) {
      return globalThis.crypto.getRandomValues(new Uint8Array(length));
    },
    async verify(alg, jwk, cacheKey, input, signature) {
      const data = typeof input === "string" ? utf8(input) : input;
      let key = keys.get(cacheKey);
      if (key === undefined) {
        key = subtle.importKey("jwk", { ...jwk }, IMPORT_PARAMS[alg], false, ["verify"]);
        // A refused key must not stay cached as a rejected promise.
        key.catch(() => keys.delete(cacheKey));
        keys.set(cacheKey, key);
      }
      return subtle.verify(
        VERIFY_PARAMS[alg],
        await key,
        signature as BufferSource,
        data as BufferSource,
      );
    },
  };
}
