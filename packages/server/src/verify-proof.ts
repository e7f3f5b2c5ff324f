// The RFC 9449 section 4.3 verifier, hardened: every check fails closed with a stable code, and
// nothing is recorded until every other check has passed.
import {
  base64urlDecode,
  base64urlEncode,
  type ChallengeJSON,
  DeviceBindingError,
  DPOP_HEADER,
  DPOP_JWT_TYP,
  isDeviceBindingError,
  type ProofAlgorithm,
  type ProofClaims,
  utf8,
} from "@devicebound/wire";
import {
  type ChallengeContext,
  type ChallengeSecret,
  challengeIssuer,
  readSecrets,
} from "./challenge.js";
import { type CryptoBackend, LruCache, type SignatureAlgorithm } from "./crypto-backend.js";
import type { PublicJwk, ReplayStore } from "./device-store.js";
import type { DeviceEventHandler } from "./events.js";
import { readPublicJwk, thumbprint } from "./jwk.js";
import { consumeKey } from "./replay.js";
import { parseStrictJsonObject } from "./strict-json.js";
import type { VerifiedProof } from "./verified-proof.js";

export interface ProofVerifierOptions {
  /** HMAC key(s) for challenges, each at least 32 bytes. A list rotates: first signs, all verify. */
  secret: ChallengeSecret | readonly ChallengeSecret[];
  replayStore: ReplayStore;
  crypto: CryptoBackend;
  /** Accepted proof algorithms. Default `["ES256"]`; add `"Ed25519"` (or `"EdDSA"`) to accept both EdDSA names. */
  algorithms?: readonly ProofAlgorithm[];
  /**
   * The origin(s) users reach the app at, e.g. `"https://app.example.com"`. Set it behind a
   * reverse proxy: `htu` is then compared against it, never against a Host header the client sent.
   */
  publicOrigin?: string | readonly string[];
  /** How long a challenge stays valid. Default 300 s. */
  challengeTtlSeconds?: number;
  /**
   * How old a proof's `iat` may be. Default 60 s. A proof is accepted while
   * `now < iat + proofMaxAgeSeconds + clockSkewSeconds` (the window), and its replay record is
   * kept one more window after that, so no instant exists at which a proof is both acceptable and
   * forgotten, even on a server whose clock lags the fleet by less than one window (75 s by default).
   */
  proofMaxAgeSeconds?: number;
  /** Tolerated clock difference (client to server, and between servers), both ways. Default 15 s. */
  clockSkewSeconds?: number;
  /** Longest proof accepted, in bytes. Default 8192. */
  maxProofBytes?: number;
  /** Require a challenge (`nonce`) in every proof. Default true. */
  requireChallenge?: boolean;
  /** Current time in ms (a seam for tests). Default `Date.now`. */
  now?: () => number;
  onEvent?: DeviceEventHandler;
}

export interface VerifyProofOptions {
  method: string;
  /** The request URL; a path alone is resolved against `publicOrigin`. */
  url: string | URL;
  ipAddress?: string | null | undefined;
  userAgent?: string | null | undefined;
  /** The access token sent as `Authorization: DPoP <token>`; its hash must match `ath`. */
  accessToken?: string | null | undefined;
  /** Override the verifier's `requireChallenge` for this call. */
  requireChallenge?: boolean | undefined;
  /** Accept the challenge only once (for login): enforced through the replay store. */
  singleUseChallenge?: boolean | undefined;
}

/** Header values as a Fetch `Headers`, or a plain object (Node's IncomingHttpHeaders included). */
export type HeadersLike =
  | Headers
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/** A Fetch `Request`, or anything with its method, URL and headers. */
export interface RequestLike {
  method: string;
  url: string;
  headers: HeadersLike;
}

export type VerifyRequestOptions = Omit<VerifyProofOptions, "method" | "url">;

export interface ProofVerifier {
  /** The `alg` header values accepted, as advertised in `WWW-Authenticate`. */
  readonly algorithms: readonly ProofAlgorithm[];
  /** The configured `publicOrigin`s (empty when none was given). */
  readonly publicOrigins: readonly string[];
  createChallenge(context?: ChallengeContext): Promise<ChallengeJSON>;
  verifyProof(
    proof: string | null | undefined,
    options: VerifyProofOptions,
  ): Promise<VerifiedProof>;
  verifyRequest(request: RequestLike, options?: VerifyRequestOptions): Promise<VerifiedProof>;
}

interface CheckedHeader {
  alg: SignatureAlgorithm;
  headerAlg: ProofAlgorithm;
  jwk: PublicJwk;
  canonical: string;
}

// A proof's `jti` is a key in every store: printable ASCII keeps it one byte string everywhere
// (PostgreSQL refuses NUL, and lone surrogates would collide once encoded as UTF-8).
const JTI = /^[\x21-\x7e]{1,256}$/;
// Far larger than a real proof header (about 250 characters for a P-256 key); checked before the
// header is decoded, so no unauthenticated request makes the verifier parse or keep more.
const MAX_HEADER_SEGMENT = 1024;

const ALG_NAMES: Record<string, SignatureAlgorithm> = {
  ES256: "ES256",
  EdDSA: "Ed25519",
  Ed25519: "Ed25519",
};

function fail(
  code: ConstructorParameters<typeof DeviceBindingError>[0],
  message: string,
  details?: Record<string, unknown>,
): never {
  throw new DeviceBindingError(code, message, details ? { details } : {});
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${name} must be a positive number`);
  }
  return value;
}

function readOrigins(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const list = typeof value === "string" ? [value] : [...value];
  return list.map((origin) => {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new TypeError(`publicOrigin "${origin}" is not an absolute URL`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new TypeError(`publicOrigin "${origin}" must use http or https`);
    }
    if (url.pathname !== "/" || url.search || url.hash || url.username || url.password) {
      throw new TypeError(
        `publicOrigin "${origin}" must be an origin like https://app.example.com`,
      );
    }
    return url.origin;
  });
}

/** The DPoP header of a request: exactly one, or a typed error. */
export function readProofHeader(headers: HeadersLike): string {
  let value: string | readonly string[] | null | undefined;
  if (typeof (headers as Headers).get === "function") {
    value = (headers as Headers).get(DPOP_HEADER);
  } else {
    const record = headers as Record<string, string | readonly string[] | undefined>;
    for (const key in record) {
      if (key.length === 4 && key.toLowerCase() === "dpop" && record[key] !== undefined) {
        if (value !== undefined) fail("ERR_PROOF_MULTIPLE", "More than one DPoP header");
        value = record[key];
      }
    }
  }
  if (Array.isArray(value)) {
    if (value.length > 1) fail("ERR_PROOF_MULTIPLE", "More than one DPoP header");
    value = value[0];
  }
  if (typeof value !== "string" || value.trim() === "") fail("ERR_PROOF_MISSING", "No DPoP proof");
  // Fetch and Node join repeated headers with ", "; a compact JWS never holds a comma.
  if (value.includes(",")) fail("ERR_PROOF_MULTIPLE", "More than one DPoP header");
  return value.trim();
}

function headerValue(headers: HeadersLike, name: string): string | undefined {
  if (typeof (headers as Headers).get === "function")
    return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, string | readonly string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : (value as string | undefined);
}

export function createProofVerifier(options: ProofVerifierOptions): ProofVerifier {
  const { crypto, replayStore } = options;
  if (typeof replayStore?.consume !== "function")
    throw new TypeError("replayStore must implement consume()");
  const secrets = readSecrets(options.secret);
  const challengeTtl = positive("challengeTtlSeconds", options.challengeTtlSeconds, 300);
  const maxAge = positive("proofMaxAgeSeconds", options.proofMaxAgeSeconds, 60);
  const skew = positive("clockSkewSeconds", options.clockSkewSeconds, 15);
  const maxProofBytes = positive("maxProofBytes", options.maxProofBytes, 8192);
  // How long a proof stays acceptable after its iat; replay records are kept twice as long.
  const windowSeconds = maxAge + skew;
  const requireChallengeDefault = options.requireChallenge ?? true;
  const now = options.now ?? Date.now;
  const origins = readOrigins(options.publicOrigin);
  const algorithms = new Set<ProofAlgorithm>();
  for (const alg of options.algorithms ?? ["ES256"]) {
    const normalized = ALG_NAMES[alg];
    if (normalized === undefined) throw new TypeError(`algorithms: unsupported "${alg}"`);
    if (normalized === "Ed25519") algorithms.add("EdDSA").add("Ed25519");
    else algorithms.add(alg);
  }
  const challenges = challengeIssuer(crypto, secrets, challengeTtl);

  function emitFailure(error: DeviceBindingError): void {
    if (!options.onEvent) return;
    try {
      const result = options.onEvent({
        type: "verificationFailed",
        code: error.code,
        message: error.message,
      });
      if (result && typeof result.then === "function") result.then(undefined, () => {});
    } catch {
      // An event handler never fails a request.
    }
  }

  function requestUrl(url: string | URL): URL {
    let parsed: URL;
    try {
      parsed = new URL(url, origins[0]);
    } catch {
      throw new TypeError(
        `url "${String(url)}" is not absolute: pass the full request URL or configure publicOrigin`,
      );
    }
    return parsed;
  }

  /**
   * Frameworks route on the raw request target, while URL parsing normalises it ("/x/../api" is
   * "/api", "//host/api" names another host). A target that parsing would change is refused, so
   * the path compared with `htu` is always the path the app routed on.
   */
  function checkTarget(url: string | URL, parsed: URL): void {
    if (typeof url !== "string") return;
    let target = url;
    if (!target.startsWith("/")) {
      // An absolute URL: compare what follows its origin.
      const origin = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target)?.[0];
      if (origin === undefined) return;
      target = target.slice(origin.length) || "/";
    }
    const end = target.search(/[?#]/);
    const path = end === -1 ? target : target.slice(0, end);
    if (path !== parsed.pathname || target.startsWith("//")) {
      fail("ERR_PROOF_HTU", "The request target is not in normal form", {
        reason: "request-target-not-normalized",
      });
    }
  }

  function checkHtu(htu: string, url: URL): void {
    let claimed: URL;
    try {
      claimed = new URL(htu);
    } catch {
      fail("ERR_PROOF_HTU", "htu is not an absolute URL");
    }
    if (claimed.username !== "" || claimed.password !== "")
      fail("ERR_PROOF_HTU", "htu must not carry userinfo");
    if (claimed.protocol !== "https:" && claimed.protocol !== "http:")
      fail("ERR_PROOF_HTU", "htu must be http(s)");
    const allowed = origins.length > 0 ? origins : [url.origin];
    if (!allowed.includes(claimed.origin)) {
      fail("ERR_PROOF_HTU", "htu names another origin", { htu: claimed.origin + claimed.pathname });
    }
    if (claimed.pathname !== url.pathname) {
      fail("ERR_PROOF_HTU", "htu names another path", { htu: claimed.origin + claimed.pathname });
    }
  }

  const decoder = new TextDecoder("utf-8", { fatal: true });
  const headers = new LruCache<string, CheckedHeader>(10_000);
  const thumbprints = new LruCache<string, string>(10_000);

  function readHeader(segment: string): CheckedHeader {
    if (segment.length > MAX_HEADER_SEGMENT)
      fail("ERR_PROOF_TOO_LARGE", `The proof's header exceeds ${MAX_HEADER_SEGMENT} characters`);
    const bytes = base64urlDecode(segment);
    if (bytes === null) fail("ERR_PROOF_MALFORMED", "The proof is not strict base64url");
    let header: Record<string, unknown>;
    try {
      header = parseStrictJsonObject(decoder.decode(bytes));
    } catch (cause) {
      throw new DeviceBindingError("ERR_PROOF_MALFORMED", "The proof's header is not strict JSON", {
        cause,
      });
    }
    if (header.typ !== DPOP_JWT_TYP) fail("ERR_PROOF_TYP", `typ must be "${DPOP_JWT_TYP}"`);
    if (typeof header.alg !== "string" || !algorithms.has(header.alg as ProofAlgorithm)) {
      fail("ERR_PROOF_ALG", "alg is not accepted", {
        alg: typeof header.alg === "string" ? header.alg.slice(0, 32) : null,
      });
    }
    // No JWS extension is understood, so any crit is refused (RFC 7515 section 4.1.11).
    if (header.crit !== undefined)
      fail("ERR_PROOF_CRIT", "crit names extensions this verifier does not support");
    const alg = ALG_NAMES[header.alg] as SignatureAlgorithm;
    // jku, x5u, x5c and kid are never dereferenced: the key is always the embedded jwk.
    return { alg, headerAlg: header.alg as ProofAlgorithm, ...readPublicJwk(header.jwk, alg) };
  }

  async function verify(
    proof: string | null | undefined,
    url: URL,
    opts: VerifyProofOptions,
  ): Promise<VerifiedProof> {
    if (typeof proof !== "string" || proof === "") fail("ERR_PROOF_MISSING", "No DPoP proof");
    if (proof.length > maxProofBytes)
      fail("ERR_PROOF_TOO_LARGE", `The proof exceeds ${maxProofBytes} bytes`);
    const firstDot = proof.indexOf(".");
    const lastDot = proof.lastIndexOf(".");
    if (
      firstDot <= 0 ||
      lastDot === firstDot ||
      lastDot === proof.length - 1 ||
      proof.indexOf(".", firstDot + 1) !== lastDot
    ) {
      fail("ERR_PROOF_MALFORMED", "The proof is not a compact JWS");
    }
    const headerSegment = proof.slice(0, firstDot);
    const payloadBytes = base64urlDecode(proof.slice(firstDot + 1, lastDot));
    const signature = base64urlDecode(proof.slice(lastDot + 1));
    if (payloadBytes === null || signature === null)
      fail("ERR_PROOF_MALFORMED", "The proof is not strict base64url");
    // All proofs of one key share one header: read and check it once, then reuse the result.
    // Only headers whose signature verified are kept, so unauthenticated traffic cannot fill it.
    const cached = headers.get(headerSegment);
    const { alg, headerAlg, jwk, canonical } = cached ?? readHeader(headerSegment);
    let claims: Record<string, unknown>;
    try {
      claims = parseStrictJsonObject(decoder.decode(payloadBytes));
    } catch (cause) {
      throw new DeviceBindingError(
        "ERR_PROOF_MALFORMED",
        "The proof's claims are not strict JSON",
        { cause },
      );
    }

    // Claims.
    const { jti, htm, htu, iat, exp, nonce, ath } = claims;
    if (typeof jti !== "string" || !JTI.test(jti))
      fail("ERR_PROOF_JTI", "jti must be 1 to 256 printable ASCII characters");
    if (typeof htm !== "string" || htm !== opts.method)
      fail("ERR_PROOF_HTM", "htm does not match the request method");
    if (typeof htu !== "string" || htu.length > 4096) fail("ERR_PROOF_HTU", "htu is missing");
    checkHtu(htu, url);
    if (typeof iat !== "number" || !Number.isFinite(iat))
      fail("ERR_PROOF_IAT", "iat must be a number");
    const nowMs = now();
    const offset = iat - nowMs / 1000;
    // Half-open window: at exactly iat + maxAge + skew the proof is already refused.
    if (offset > skew || offset <= -windowSeconds) {
      fail(
        "ERR_PROOF_IAT",
        `iat is ${Math.abs(Math.round(offset))} s in the ${offset > 0 ? "future" : "past"}`,
        {
          skewSeconds: Math.round(offset),
        },
      );
    }
    // RFC 9449 does not need exp, but a proof that says it has expired is not accepted.
    if (exp !== undefined) {
      if (typeof exp !== "number" || !Number.isFinite(exp))
        fail("ERR_PROOF_EXPIRED", "exp must be a number");
      if (nowMs >= exp * 1000)
        fail("ERR_PROOF_EXPIRED", "The proof has expired", {
          expiredSecondsAgo: Math.floor(nowMs / 1000 - exp),
        });
    }
    if (opts.accessToken != null) {
      const expected = base64urlEncode(await crypto.sha256(utf8(opts.accessToken)));
      if (typeof ath !== "string" || ath !== expected)
        fail("ERR_PROOF_ATH", "ath does not match the access token");
    }
    let challenge = null;
    if (nonce !== undefined) {
      if (typeof nonce !== "string") fail("ERR_CHALLENGE_INVALID", "nonce must be a string");
      challenge = await challenges.verify(nonce, opts, nowMs);
    } else if (opts.requireChallenge ?? requireChallengeDefault) {
      fail("ERR_CHALLENGE_MISSING", "The proof carries no challenge");
    }

    // Signature, against the embedded key only.
    if (signature.length !== 64) fail("ERR_PROOF_SIGNATURE", "The signature has the wrong length");
    let valid: boolean;
    try {
      valid = await crypto.verify(alg, jwk, canonical, utf8(proof.slice(0, lastDot)), signature);
    } catch (cause) {
      throw new DeviceBindingError("ERR_PROOF_JWK", "The proof's jwk is not a valid public key", {
        cause,
      });
    }
    if (!valid) fail("ERR_PROOF_SIGNATURE", "The signature does not verify");
    if (cached === undefined) headers.set(headerSegment, { alg, headerAlg, jwk, canonical });
    let jkt = thumbprints.get(canonical);
    if (jkt === undefined) {
      jkt = await thumbprint(crypto, canonical);
      thumbprints.set(canonical, jkt);
    }

    // Only now, with every check passed, record the jti (and the challenge, when single-use).
    // The record outlives the acceptance window by one more window: see proofMaxAgeSeconds.
    await consumeOnce(
      `jti:${jkt}:${jti}`,
      (iat + 2 * windowSeconds) * 1000,
      "ERR_PROOF_REPLAYED",
      "This proof was already used",
    );
    if (challenge && opts.singleUseChallenge) {
      await consumeOnce(
        `challenge:${challenge.id}`,
        (challenge.expiresAtSeconds + windowSeconds) * 1000,
        "ERR_CHALLENGE_USED",
        "This challenge was already used",
      );
    } else if (opts.singleUseChallenge) {
      fail("ERR_CHALLENGE_MISSING", "A single-use challenge is required");
    }

    return {
      jkt,
      jwk,
      alg: headerAlg,
      claims: { ...claims } as ProofClaims,
      userAgent: opts.userAgent ?? null,
      ipAddress: opts.ipAddress ?? null,
    };
  }

  async function consumeOnce(
    key: string,
    expiresAtMs: number,
    code: "ERR_PROOF_REPLAYED" | "ERR_CHALLENGE_USED",
    message: string,
  ) {
    if (!(await consumeKey(replayStore, key, expiresAtMs))) fail(code, message);
  }

  function checkOptions(opts: VerifyProofOptions): URL {
    if (typeof opts !== "object" || opts === null)
      throw new TypeError("verifyProof needs { method, url }");
    if (typeof opts.method !== "string" || opts.method === "")
      throw new TypeError("method must be a non-empty string");
    if (typeof opts.url !== "string" && !(opts.url instanceof URL))
      throw new TypeError("url must be a string or URL");
    return requestUrl(opts.url);
  }

  const advertised = [...algorithms];

  async function guarded(run: () => Promise<VerifiedProof>): Promise<VerifiedProof> {
    try {
      return await run();
    } catch (cause) {
      // Options were checked before this point, so whatever else escapes is a hostile input.
      const error = isDeviceBindingError(cause)
        ? cause
        : new DeviceBindingError("ERR_PROOF_MALFORMED", "The proof could not be read", { cause });
      emitFailure(error);
      throw error;
    }
  }

  return {
    algorithms: advertised,
    publicOrigins: origins,
    createChallenge(context = {}) {
      return challenges.create(context, now());
    },
    verifyProof(proof, opts) {
      const url = checkOptions(opts);
      return guarded(() => {
        checkTarget(opts.url, url);
        return verify(proof, url, opts);
      });
    },
    verifyRequest(request, opts = {}) {
      if (
        typeof request !== "object" ||
        request === null ||
        typeof request.method !== "string" ||
        typeof request.url !== "string" ||
        !request.headers
      ) {
        throw new TypeError("verifyRequest needs a Fetch Request or { method, url, headers }");
      }
      const url = requestUrl(request.url);
      return guarded(() => {
        checkTarget(request.url, url);
        const proof = readProofHeader(request.headers);
        const authorization = headerValue(request.headers, "authorization");
        const accessToken =
          opts.accessToken ??
          (authorization && /^DPoP\s+/i.test(authorization)
            ? authorization.replace(/^DPoP\s+/i, "").trim()
            : undefined);
        return verify(proof, url, {
          ...opts,
          method: request.method,
          url: request.url,
          userAgent: opts.userAgent ?? headerValue(request.headers, "user-agent") ?? null,
          accessToken: accessToken ?? null,
        });
      });
    },
  };
}
