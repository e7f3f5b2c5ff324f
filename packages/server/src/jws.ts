// Strict compact-JWS reading shared by DPoP proofs and action tokens: the size bounds, strict
// base64url and JSON, the JOSE header checks, the embedded key and the signature. Each kind of
// token names its own `typ` and its own error codes.
import {
  base64urlDecode,
  DeviceBindingError,
  type DeviceBindingErrorCode,
  isDeviceBindingError,
  type ProofAlgorithm,
} from "@devicebound/wire";
import { type CryptoBackend, RecentCache, type SignatureAlgorithm } from "./crypto-backend.js";
import type { PublicJwk } from "./device-store.js";
import { readPublicJwk, thumbprint } from "./jwk.js";
import { parseStrictJsonObject } from "./strict-json.js";

/** The code a reader throws for each way a token can fail before its claims are checked. */
export interface JwsErrorCodes {
  missing: DeviceBindingErrorCode;
  tooLarge: DeviceBindingErrorCode;
  malformed: DeviceBindingErrorCode;
  typ: DeviceBindingErrorCode;
  alg: DeviceBindingErrorCode;
  crit: DeviceBindingErrorCode;
  jwk: DeviceBindingErrorCode;
  signature: DeviceBindingErrorCode;
}

export interface JwsReaderOptions {
  /** The `typ` every header must carry. */
  typ: string;
  /** Accepted `alg` values, as normalised by `acceptedAlgorithms`. */
  algorithms: ReadonlySet<ProofAlgorithm>;
  crypto: CryptoBackend;
  /** Longest token accepted, in characters. */
  maxBytes: number;
  codes: JwsErrorCodes;
  /** What the token is called in messages ("proof", "action token"). */
  noun: string;
}

interface CheckedHeader {
  alg: SignatureAlgorithm;
  headerAlg: ProofAlgorithm;
  jwk: PublicJwk;
  canonical: string;
}

/** A token whose header and claims were read; its signature is not checked yet. */
export interface ParsedJws extends CheckedHeader {
  claims: Record<string, unknown>;
  /** The first two segments, as signed. */
  signingInput: string;
  signature: Uint8Array;
  /** The header segment, and whether it came from the cache of verified headers. */
  headerSegment: string;
  cached: boolean;
}

export interface JwsReader {
  /** Splits and decodes `token` and checks its header. Throws the reader's codes. */
  parse(token: unknown): ParsedJws;
  /** Checks the signature against the embedded key; resolves the key's thumbprint (`jkt`). */
  verify(parsed: ParsedJws): Promise<string>;
}

// A `jti` is a key in every store: printable ASCII keeps it one byte string everywhere
// (PostgreSQL refuses NUL, and lone surrogates would collide once encoded as UTF-8).
export const JTI = /^[\x21-\x7e]{1,256}$/;
// Far larger than a real header (about 250 characters for a P-256 key); checked before the
// header is decoded, so no unauthenticated request makes the verifier parse or keep more.
const MAX_HEADER_SEGMENT = 1024;

const ALG_NAMES: Record<string, SignatureAlgorithm> = {
  ES256: "ES256",
  EdDSA: "Ed25519",
  Ed25519: "Ed25519",
};

/** The `algorithms` option as a set of header values: either EdDSA name accepts both. */
export function acceptedAlgorithms(list: readonly ProofAlgorithm[]): Set<ProofAlgorithm> {
  const algorithms = new Set<ProofAlgorithm>();
  for (const alg of list) {
    const normalized = ALG_NAMES[alg];
    if (normalized === undefined) throw new TypeError(`algorithms: unsupported "${alg}"`);
    if (normalized === "Ed25519") algorithms.add("EdDSA").add("Ed25519");
    else algorithms.add(alg);
  }
  return algorithms;
}

export function fail(
  code: DeviceBindingErrorCode,
  message: string,
  details?: Record<string, unknown>,
): never {
  throw new DeviceBindingError(code, message, details ? { details } : {});
}

export function createJwsReader(options: JwsReaderOptions): JwsReader {
  const { typ, algorithms, crypto, maxBytes, codes, noun } = options;
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const headers = new RecentCache<string, CheckedHeader>(10_000);
  const thumbprints = new RecentCache<string, string>(10_000);

  function readJwk(value: unknown, alg: SignatureAlgorithm) {
    try {
      return readPublicJwk(value, alg);
    } catch (cause) {
      if (!isDeviceBindingError(cause) || cause.code === codes.jwk) throw cause;
      throw new DeviceBindingError(codes.jwk, cause.message, { cause, details: cause.details });
    }
  }

  function readJson(bytes: Uint8Array, part: string): Record<string, unknown> {
    try {
      return parseStrictJsonObject(decoder.decode(bytes));
    } catch (cause) {
      throw new DeviceBindingError(codes.malformed, `The ${noun}'s ${part} is not strict JSON`, {
        cause,
      });
    }
  }

  function readHeader(segment: string): CheckedHeader {
    if (segment.length > MAX_HEADER_SEGMENT)
      fail(codes.tooLarge, `The ${noun}'s header exceeds ${MAX_HEADER_SEGMENT} characters`);
    const bytes = base64urlDecode(segment);
    if (bytes === null) fail(codes.malformed, `The ${noun} is not strict base64url`);
    const header = readJson(bytes, "header");
    if (header.typ !== typ) fail(codes.typ, `typ must be "${typ}"`);
    if (typeof header.alg !== "string" || !algorithms.has(header.alg as ProofAlgorithm)) {
      fail(codes.alg, "alg is not accepted", {
        alg: typeof header.alg === "string" ? header.alg.slice(0, 32) : null,
      });
    }
    // No JWS extension is understood, so any crit is refused (RFC 7515 section 4.1.11).
    if (header.crit !== undefined)
      fail(codes.crit, "crit names extensions this verifier does not support");
    const alg = ALG_NAMES[header.alg] as SignatureAlgorithm;
    // jku, x5u, x5c and kid are never dereferenced: the key is always the embedded jwk.
    return { alg, headerAlg: header.alg as ProofAlgorithm, ...readJwk(header.jwk, alg) };
  }

  return {
    parse(token) {
      if (typeof token !== "string" || token === "") fail(codes.missing, `No ${noun}`);
      if (token.length > maxBytes) fail(codes.tooLarge, `The ${noun} exceeds ${maxBytes} bytes`);
      const firstDot = token.indexOf(".");
      const lastDot = token.lastIndexOf(".");
      if (
        firstDot <= 0 ||
        lastDot === firstDot ||
        lastDot === token.length - 1 ||
        token.indexOf(".", firstDot + 1) !== lastDot
      ) {
        fail(codes.malformed, `The ${noun} is not a compact JWS`);
      }
      const headerSegment = token.slice(0, firstDot);
      const payloadBytes = base64urlDecode(token.slice(firstDot + 1, lastDot));
      const signature = base64urlDecode(token.slice(lastDot + 1));
      if (payloadBytes === null || signature === null)
        fail(codes.malformed, `The ${noun} is not strict base64url`);
      // All tokens of one key share one header: read and check it once, then reuse the result.
      // Only headers whose signature verified are kept, so unauthenticated traffic cannot fill it.
      const cached = headers.get(headerSegment);
      const { alg, headerAlg, jwk, canonical } = cached ?? readHeader(headerSegment);
      return {
        alg,
        headerAlg,
        jwk,
        canonical,
        claims: readJson(payloadBytes, "claims"),
        signingInput: token.slice(0, lastDot),
        signature,
        headerSegment,
        cached: cached !== undefined,
      };
    },

    async verify(parsed) {
      const { alg, headerAlg, jwk, canonical, signature } = parsed;
      if (signature.length !== 64) fail(codes.signature, "The signature has the wrong length");
      let valid: boolean;
      try {
        valid = await crypto.verify(alg, jwk, canonical, parsed.signingInput, signature);
      } catch (cause) {
        throw new DeviceBindingError(codes.jwk, `The ${noun}'s jwk is not a valid public key`, {
          cause,
        });
      }
      if (!valid) fail(codes.signature, "The signature does not verify");
      if (!parsed.cached) headers.set(parsed.headerSegment, { alg, headerAlg, jwk, canonical });
      let jkt = thumbprints.get(canonical);
      if (jkt === undefined) {
        jkt = await thumbprint(crypto, canonical);
        thumbprints.set(canonical, jkt);
      }
      return jkt;
    },
  };
}
