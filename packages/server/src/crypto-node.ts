// The Node backend: node:crypto, with imported public keys cached by their canonical JWK.
import {
  createHash,
  createHmac,
  createPublicKey,
  type KeyObject,
  randomBytes,
  verify,
} from "node:crypto";
import type { CryptoBackend } from "./crypto-backend.js";
import { RecentCache } from "./crypto-backend.js";

export function nodeCrypto(maxCachedKeys = 10_000): CryptoBackend {
  const keys = new RecentCache<string, KeyObject>(maxCachedKeys);
  return {
    async sha256(data) {
      return createHash("sha256").update(data).digest();
    },
    async hmacSha256(key, data) {
      return createHmac("sha256", key).update(data).digest();
    },
    randomBytes(length) {
      return randomBytes(length);
    },
    async verify(alg, jwk, cacheKey, input, signature) {
      const data = typeof input === "string" ? Buffer.from(input, "latin1") : input;
      let key = keys.get(cacheKey);
      if (key === undefined) {
        key = createPublicKey({ key: { ...jwk }, format: "jwk" });
        keys.set(cacheKey, key);
      }
      if (alg === "ES256")
        return verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, signature);
      // PKCS#1 v1.5 is node's default padding for an RSA key.
      return verify(alg === "RS256" ? "sha256" : null, data, key, signature);
    },
  };
}
