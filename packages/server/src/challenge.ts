// Stateless challenges (DPoP nonces): an HMAC under the app's secret over an expiry, a random id
// and, when asked, a hash of the IP address and User-Agent they were issued to. Any server that
// knows the secret can check one, with no storage.
import {
  base64urlDecode,
  base64urlEncode,
  type ChallengeJSON,
  DeviceBindingError,
  utf8,
} from "@devicebound/wire";
import { type CryptoBackend, RecentCache, timingSafeEqual } from "./crypto-backend.js";

// Version 2 hashes the binding with length prefixes; version 1 challenges are refused as foreign
// (clients fetch a new one on the 401 that follows).
const VERSION = 2;
const FLAG_IP = 1;
const FLAG_UA = 2;
const ID_BYTES = 12;
const BINDING_BYTES = 16;
const MAC_BYTES = 16;
const HEADER_BYTES = 2 + 4 + ID_BYTES;
const DOMAIN = utf8("devicebound/challenge/v2\n");
/** Longer than any challenge this module issues; anything longer is refused unread. */
export const MAX_CHALLENGE_LENGTH = 96;

export type ChallengeSecret = string | Uint8Array;

/** Turns the `secret` option into keys: the first signs, all verify (rotation). */
export function readSecrets(secret: ChallengeSecret | readonly ChallengeSecret[]): Uint8Array[] {
  const list = Array.isArray(secret) ? secret : [secret];
  if (list.length === 0) throw new TypeError("secret: give at least one secret");
  return list.map((s, i) => {
    const bytes = typeof s === "string" ? utf8(s) : s instanceof Uint8Array ? s : null;
    if (bytes === null) throw new TypeError(`secret[${i}] must be a string or a Uint8Array`);
    if (bytes.length < 32) throw new TypeError(`secret[${i}] must be at least 32 bytes long`);
    return Uint8Array.from(bytes);
  });
}

export interface ChallengeContext {
  ipAddress?: string | null | undefined;
  userAgent?: string | null | undefined;
}

export interface VerifiedChallenge {
  /** Random id, base64url: the single-use key. */
  id: string;
  expiresAtSeconds: number;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Length-prefixed, so no two (IP, User-Agent) pairs hash the same input. */
function bindingInput(flags: number, ctx: ChallengeContext): Uint8Array {
  const ip = utf8(flags & FLAG_IP ? (ctx.ipAddress ?? "") : "");
  const ua = utf8(flags & FLAG_UA ? (ctx.userAgent ?? "") : "");
  const lengths = new Uint8Array(9);
  const view = new DataView(lengths.buffer);
  lengths[0] = flags;
  view.setUint32(1, ip.length);
  view.setUint32(5, ua.length);
  return concat(lengths, ip, ua);
}

async function bindingHash(crypto: CryptoBackend, flags: number, ctx: ChallengeContext) {
  const digest = await crypto.sha256(bindingInput(flags, ctx));
  return digest.subarray(0, BINDING_BYTES);
}

async function mac(crypto: CryptoBackend, key: Uint8Array, payload: Uint8Array) {
  return (await crypto.hmacSha256(key, concat(DOMAIN, payload))).subarray(0, MAC_BYTES);
}

export interface ChallengeIssuer {
  create(ctx: ChallengeContext, nowMs: number): Promise<ChallengeJSON>;
  /** Checks a challenge; throws ERR_CHALLENGE_INVALID / _EXPIRED / _BINDING. */
  verify(challenge: string, ctx: ChallengeContext, nowMs: number): Promise<VerifiedChallenge>;
}

export function challengeIssuer(
  crypto: CryptoBackend,
  secrets: readonly Uint8Array[],
  ttlSeconds: number,
): ChallengeIssuer {
  const signingKey = secrets[0] as Uint8Array;
  // Challenges are reused by many proofs: remember which strings already passed the MAC check.
  // Expiry and binding are still checked on every use.
  const authenticated = new RecentCache<string, true>(4096);
  // A client sends the same IP and User-Agent with every request: remember the binding hashes
  // that matched, so the hot path skips a SHA-256. Short pairs only, so it stays small.
  const bindings = new RecentCache<string, Uint8Array>(1024);
  return {
    async create(ctx, nowMs) {
      const flags = (ctx.ipAddress ? FLAG_IP : 0) | (ctx.userAgent ? FLAG_UA : 0);
      const expiresAt = Math.floor(nowMs / 1000) + ttlSeconds;
      const header = new Uint8Array(HEADER_BYTES);
      header[0] = VERSION;
      header[1] = flags;
      new DataView(header.buffer).setUint32(2, expiresAt);
      header.set(crypto.randomBytes(ID_BYTES), 6);
      const payload = flags ? concat(header, await bindingHash(crypto, flags, ctx)) : header;
      const tag = await mac(crypto, signingKey, payload);
      return { challenge: base64urlEncode(concat(payload, tag)), expiresAt };
    },

    async verify(challenge, ctx, nowMs) {
      const invalid = () =>
        new DeviceBindingError(
          "ERR_CHALLENGE_INVALID",
          "The challenge was not issued by this server",
        );
      const bytes = challenge.length <= MAX_CHALLENGE_LENGTH ? base64urlDecode(challenge) : null;
      if (bytes === null || bytes.length < HEADER_BYTES + MAC_BYTES || bytes[0] !== VERSION) {
        throw invalid();
      }
      const flags = bytes[1] as number;
      const payloadLength = HEADER_BYTES + (flags ? BINDING_BYTES : 0);
      if (flags > (FLAG_IP | FLAG_UA) || bytes.length !== payloadLength + MAC_BYTES)
        throw invalid();
      const payload = bytes.subarray(0, payloadLength);
      const tag = bytes.subarray(payloadLength);
      if (authenticated.get(challenge) === undefined) {
        let authentic = false;
        for (const key of secrets) {
          // Check every key, so timing does not tell which one matched.
          if (timingSafeEqual(await mac(crypto, key, payload), tag)) authentic = true;
        }
        if (!authentic) throw invalid();
        authenticated.set(challenge, true);
      }

      const expiresAtSeconds = new DataView(bytes.buffer, bytes.byteOffset).getUint32(2);
      if (nowMs >= expiresAtSeconds * 1000) {
        throw new DeviceBindingError("ERR_CHALLENGE_EXPIRED", "The challenge has expired", {
          details: { expiredSecondsAgo: Math.floor(nowMs / 1000) - expiresAtSeconds },
        });
      }
      if (flags) {
        const ip = flags & FLAG_IP ? (ctx.ipAddress ?? "") : "";
        const ua = flags & FLAG_UA ? (ctx.userAgent ?? "") : "";
        // Length-prefixed like the hash input, so two pairs never share a cache entry.
        const cacheKey = ip.length + ua.length <= 512 ? `${flags}:${ip.length}:${ip}${ua}` : null;
        const cached = cacheKey === null ? undefined : bindings.get(cacheKey);
        const expected = cached ?? (await bindingHash(crypto, flags, ctx));
        if (!timingSafeEqual(expected, payload.subarray(HEADER_BYTES))) {
          throw new DeviceBindingError(
            "ERR_CHALLENGE_BINDING",
            "The challenge was issued to another IP address or User-Agent",
          );
        }
        if (cacheKey !== null && cached === undefined) bindings.set(cacheKey, expected);
      }
      return { id: base64urlEncode(bytes.subarray(6, HEADER_BYTES)), expiresAtSeconds };
    },
  };
}
