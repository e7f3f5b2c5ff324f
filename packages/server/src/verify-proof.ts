// The RFC 9449 section 4.3 verifier, hardened: every check fails closed with a stable code, and
// nothing is recorded until every other check has passed.
import {
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
  type ChallengeIssuer,
  type ChallengeSecret,
  challengeIssuer,
  readSecrets,
} from "./challenge.js";
import { type CryptoBackend, RecentCache } from "./crypto-backend.js";
import type { ReplayStore } from "./device-store.js";
import { type DeviceEventHandler, eventEmitter } from "./events.js";
import { acceptedAlgorithms, createJwsReader, fail, JTI } from "./jws.js";
import { consumeChallengeOnce, consumeOnce } from "./replay.js";
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

interface UrlParts {
  origin: string;
  pathname: string;
}

/** A request URL's parts, and whether its raw target is what URL parsing made of it. */
interface RequestUrl extends UrlParts {
  normal: boolean;
}

// Longer URLs are parsed every time rather than kept.
const MAX_CACHED_URL = 512;

/**
 * Frameworks route on the raw request target, while URL parsing normalises it ("/x/../api" is
 * "/api", "//host/api" names another host). A target that parsing would change is refused, so
 * the path compared with `htu` is always the path the app routed on.
 */
function isNormalTarget(url: string, pathname: string): boolean {
  let target = url;
  if (!target.startsWith("/")) {
    // An absolute URL: compare what follows its origin.
    const origin = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target)?.[0];
    if (origin === undefined) return true;
    target = target.slice(origin.length) || "/";
  }
  const end = target.search(/[?#]/);
  const path = end === -1 ? target : target.slice(0, end);
  return path === pathname && !target.startsWith("//");
}

function checkTarget(url: RequestUrl): void {
  if (!url.normal) {
    fail("ERR_PROOF_HTU", "The request target is not in normal form", {
      reason: "request-target-not-normalized",
    });
  }
}

/** What the action-token verifier shares with the proof verifier it is built beside. */
export interface VerifierParts {
  challenges: ChallengeIssuer;
  algorithms: ReadonlySet<ProofAlgorithm>;
  /** Tolerated clock difference, in seconds. */
  skewSeconds: number;
  /** How long a proof stays acceptable after its iat (max age + skew), in seconds. */
  windowSeconds: number;
  maxProofBytes: number;
  now: () => number;
}

export function createProofVerifier(
  options: ProofVerifierOptions,
): ProofVerifier & { parts: VerifierParts } {
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
  const algorithms = acceptedAlgorithms(options.algorithms ?? ["ES256"]);
  const challenges = challengeIssuer(crypto, secrets, challengeTtl);
  const reader = createJwsReader({
    typ: DPOP_JWT_TYP,
    algorithms,
    crypto,
    maxBytes: maxProofBytes,
    noun: "proof",
    codes: {
      missing: "ERR_PROOF_MISSING",
      tooLarge: "ERR_PROOF_TOO_LARGE",
      malformed: "ERR_PROOF_MALFORMED",
      typ: "ERR_PROOF_TYP",
      alg: "ERR_PROOF_ALG",
      crit: "ERR_PROOF_CRIT",
      jwk: "ERR_PROOF_JWK",
      signature: "ERR_PROOF_SIGNATURE",
    },
  });

  const emit = eventEmitter(options.onEvent);
  function emitFailure(error: DeviceBindingError): void {
    emit({
      type: "verificationFailed",
      code: error.code,
      message: error.message,
    });
  }

  // A client sends the same few URLs over and over: their parsed parts are kept (short strings
  // only, in bounded caches), so the hot path parses no URL. Only what parsed cleanly is kept.
  const requestUrls = new RecentCache<string, RequestUrl>(1024);
  const htus = new RecentCache<string, UrlParts>(1024);

  function requestUrl(url: string | URL): RequestUrl {
    const cached = typeof url === "string" ? requestUrls.get(url) : undefined;
    if (cached !== undefined) return cached;
    let parsed: URL;
    try {
      parsed = new URL(url, origins[0]);
    } catch {
      throw new TypeError(
        `url "${String(url)}" is not absolute: pass the full request URL or configure publicOrigin`,
      );
    }
    const parts = {
      origin: parsed.origin,
      pathname: parsed.pathname,
      normal: typeof url !== "string" || isNormalTarget(url, parsed.pathname),
    };
    if (typeof url === "string" && url.length <= MAX_CACHED_URL) requestUrls.set(url, parts);
    return parts;
  }

  function checkHtu(htu: string, url: UrlParts): void {
    let claimed = htus.get(htu);
    if (claimed === undefined) {
      let parsed: URL;
      try {
        parsed = new URL(htu);
      } catch {
        fail("ERR_PROOF_HTU", "htu is not an absolute URL");
      }
      if (parsed.username !== "" || parsed.password !== "")
        fail("ERR_PROOF_HTU", "htu must not carry userinfo");
      if (parsed.protocol !== "https:" && parsed.protocol !== "http:")
        fail("ERR_PROOF_HTU", "htu must be http(s)");
      claimed = { origin: parsed.origin, pathname: parsed.pathname };
      if (htu.length <= MAX_CACHED_URL) htus.set(htu, claimed);
    }
    const allowed = origins.length > 0 ? origins : [url.origin];
    if (!allowed.includes(claimed.origin)) {
      fail("ERR_PROOF_HTU", "htu names another origin", { htu: claimed.origin + claimed.pathname });
    }
    if (claimed.pathname !== url.pathname) {
      fail("ERR_PROOF_HTU", "htu names another path", { htu: claimed.origin + claimed.pathname });
    }
  }

  async function verify(
    proof: string | null | undefined,
    url: RequestUrl,
    opts: VerifyProofOptions,
  ): Promise<VerifiedProof> {
    const parsed = reader.parse(proof);
    const { claims } = parsed;

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
    const jkt = await reader.verify(parsed);

    // Only now, with every check passed, record the jti (and the challenge, when single-use).
    // The record outlives the acceptance window by one more window: see proofMaxAgeSeconds.
    await consumeOnce(
      replayStore,
      `jti:${jkt}:${jti}`,
      (iat + 2 * windowSeconds) * 1000,
      "ERR_PROOF_REPLAYED",
      "This proof was already used",
    );
    if (challenge && opts.singleUseChallenge) {
      await consumeChallengeOnce(replayStore, challenge, windowSeconds);
    } else if (opts.singleUseChallenge) {
      fail("ERR_CHALLENGE_MISSING", "A single-use challenge is required");
    }

    return {
      jkt,
      jwk: parsed.jwk,
      alg: parsed.headerAlg,
      claims: { ...claims } as ProofClaims,
      userAgent: opts.userAgent ?? null,
      ipAddress: opts.ipAddress ?? null,
    };
  }

  function checkOptions(opts: VerifyProofOptions): RequestUrl {
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
    parts: {
      challenges,
      algorithms,
      skewSeconds: skew,
      windowSeconds,
      maxProofBytes,
      now,
    },
    algorithms: advertised,
    publicOrigins: origins,
    createChallenge(context = {}) {
      return challenges.create(context, now());
    },
    verifyProof(proof, opts) {
      const url = checkOptions(opts);
      return guarded(() => {
        checkTarget(url);
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
        checkTarget(url);
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
