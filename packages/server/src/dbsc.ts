// DBSC (W3C Device Bound Session Credentials), server side: offers a session at sign-in, verifies
// the browser's registration and refresh JWTs, sets the short-lived bound cookie and ends sessions.
// Each DBSC session belongs to the device record of the DPoP key that signed in.
import {
  base64urlDecode,
  base64urlEncode,
  DBSC_CHALLENGE_HEADERS,
  DBSC_JWT_TYP,
  DBSC_REGISTRATION_HEADERS,
  DBSC_RESPONSE_HEADERS,
  DBSC_SESSION_ID_HEADERS,
  type DbscAlgorithm,
  DeviceBindingError,
  isDeviceBindingError,
  utf8,
} from "@devicebound/wire";
import type { ChallengeContext, ChallengeIssuer } from "./challenge.js";
import { type CryptoBackend, timingSafeEqual } from "./crypto-backend.js";
import type {
  DbscPublicJwk,
  DbscSession,
  DbscSessionStore,
  Device,
  ReplayStore,
} from "./device-store.js";
import type { DeviceEvent } from "./events.js";
import { errorResponse } from "./http.js";
import { readPublicJwk, readRsaPublicJwk } from "./jwk.js";
import type { DeviceRegistry } from "./registry.js";
import { consumeOnce } from "./replay.js";
import { parseStrictJsonObject } from "./strict-json.js";
import type { HeadersLike, RequestLike } from "./verify-proof.js";

/** One `scope_specification` rule of the session configuration (W3C DBSC). */
export interface DbscScopeRule {
  type: "include" | "exclude";
  domain?: string;
  path?: string;
}

export interface DbscOptions {
  /** Path (or same-site URL) of the registration endpoint. Default `/.devicebound/dbsc/register`. */
  registrationPath?: string;
  /** Path (or same-site URL) of the refresh endpoint. Default `/.devicebound/dbsc/refresh`. */
  refreshPath?: string;
  /**
   * Name of the bound cookie. Default `__Host-devicebound-dbsc` (the `__Host-` prefix pins it to
   * this origin, `Path=/` and `Secure`).
   */
  cookieName?: string;
  /** How long a bound cookie lives; the browser refreshes it before then. Default 600 s. */
  cookieLifetimeSeconds?: number;
  /** `SameSite` of the bound cookie. Default `Lax`. */
  sameSite?: "Strict" | "Lax" | "None";
  /** An active session not refreshed for this long is forgotten. Default 30 days. */
  sessionIdleSeconds?: number;
  /** Key algorithms offered to the browser, in order of preference. Default `["ES256", "RS256"]`. */
  algorithms?: readonly DbscAlgorithm[];
  /** Extra `scope_specification` rules, e.g. `{ type: "exclude", path: "/static" }`. */
  scopeRules?: readonly DbscScopeRule[];
  /**
   * What the guard does with a request whose session registered a DBSC key but which arrives
   * without its bound cookie (a copied session used outside the browser that holds the key).
   * `refuse` (default): `ERR_DBSC_COOKIE_MISSING`; `dpop`: serve it on the `dpop` tier. Either
   * way `dbscCookieMissing` is emitted.
   */
  onMissingCookie?: "refuse" | "dpop";
}

/** Why a DBSC session ended (`DbscSession.endReason`, the `dbscSessionEnded` event). */
export type DbscEndReason =
  | "signed-out"
  | "device-blocked"
  | "device-deleted"
  | "invalid-registration"
  | (string & {});

export interface StartedDbscSession {
  /**
   * Keep it in the app's session (`DeviceSession.dbscSessionId`) so the guard can find it.
   * `null` (and no headers) when DBSC is off, so sign-in code need not branch on it.
   */
  sessionId: string | null;
  /** Response headers for the sign-in answer: both generations of the registration header. */
  headers: Record<string, string>;
}

/** What protects a request: the bound cookie and the device's proof, or the proof alone. */
export type Tier = "dbsc" | "dpop";

export interface Dbsc {
  /** False when `createDeviceBinding` got no `dbsc` option: every request is then on `dpop`. */
  readonly enabled: boolean;
  readonly registrationPath: string;
  readonly refreshPath: string;
  readonly cookieName: string;
  /**
   * Offers a DBSC session for a signed-in device: stores it as `pending` and returns the headers
   * that ask the browser to register a key. Browsers without DBSC ignore them; the session then
   * stays pending (and is forgotten once its challenge expires). With DBSC off: nothing.
   */
  startSession(
    input: { userId: string; device: Device },
    context?: ChallengeContext,
  ): Promise<StartedDbscSession>;
  /** The registration endpoint: the session configuration and the first bound cookie. */
  handleRegistration(request: RequestLike, context?: ChallengeContext): Promise<Response>;
  /** The refresh endpoint: a 403 challenge, then a fresh cookie for a retry signed by the key. */
  handleRefresh(request: RequestLike, context?: ChallengeContext): Promise<Response>;
  /**
   * Ends one session (sign-out); its next refresh is answered with the termination answer.
   * Resolves false when there was none to end (`null` is accepted, as kept in a session), and
   * with DBSC off. (`endDeviceSessions` then resolves 0 and `listSessions` `[]`.)
   */
  endSession(sessionId: string | null | undefined, reason?: DbscEndReason): Promise<boolean>;
  /** Ends every session of a device; resolves how many were ended. */
  endDeviceSessions(userId: string, deviceId: string, reason?: DbscEndReason): Promise<number>;
  /** The device's sessions (pending, active and ended, until forgotten). */
  listSessions(userId: string, deviceId: string): Promise<DbscSession[]>;
  /** A `Set-Cookie` value that removes the bound cookie (for a sign-out answer). */
  clearCookie(): string;
  /**
   * The tier of a request already verified for `device`: `dbsc` when it carries a live bound
   * cookie of this user, device (and session, when given); `dpop` otherwise. Throws
   * `ERR_DBSC_COOKIE_INVALID` for a forged cookie, one of another device or user, or two, and
   * `ERR_DBSC_COOKIE_MISSING` (see `onMissingCookie`) when the session registered a key and the
   * request has no live cookie of it (an expired one, or another session's, counts as none).
   */
  tierOf(
    headers: HeadersLike,
    input: { userId: string; device: Device; sessionId?: string | null | undefined },
  ): Promise<Tier>;
}

export interface DbscDependencies {
  store: DbscSessionStore | null;
  replayStore: ReplayStore;
  registry: DeviceRegistry;
  crypto: CryptoBackend;
  challenges: ChallengeIssuer;
  secrets: readonly Uint8Array[];
  now: () => number;
  emit: (event: DeviceEvent) => void;
}

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
const MAX_JWT = 8192;
const MAC_BYTES = 16;
const COOKIE_DOMAIN = "devicebound/dbsc-cookie/v1\n";
// How many times a refresh rereads a session that another refresh updated first.
const MAX_CAS_ATTEMPTS = 8;

function fail(message: string, details?: Record<string, unknown>): never {
  throw new DeviceBindingError("ERR_DBSC_INVALID", message, details ? { details } : {});
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0)
    throw new TypeError(`dbsc.${name} must be a positive number`);
  return value;
}

function path(name: string, value: string | undefined, fallback: string): string {
  const chosen = value ?? fallback;
  // Quoted inside a structured header and sent as JSON: no quote, backslash or control character.
  if (typeof chosen !== "string" || !/^(https:\/\/[^\s"\\]+|\/[^\s"\\]*)$/.test(chosen))
    throw new TypeError(`dbsc.${name} must be a path starting with "/" or an https URL`);
  return chosen;
}

/** A header value, one of several names: the first present wins; two values are refused. */
function readHeader(headers: HeadersLike, names: readonly string[]): string | null {
  for (const name of names) {
    let value: string | readonly string[] | null | undefined;
    if (typeof (headers as Headers).get === "function") value = (headers as Headers).get(name);
    else {
      const lower = name.toLowerCase();
      const record = headers as Record<string, string | readonly string[] | undefined>;
      for (const key in record) if (key.toLowerCase() === lower) value = record[key];
    }
    if (Array.isArray(value)) {
      if (value.length > 1) fail(`More than one ${name} header`);
      value = value[0];
    }
    if (typeof value === "string" && value.trim() !== "") {
      // A structured-field string ("...") as the spec writes it, or the bare token Chromium sends.
      const trimmed = value.trim();
      const bare =
        trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')
          ? trimmed.slice(1, -1)
          : trimmed;
      if (bare.includes(",") || bare.includes('"')) fail(`More than one ${name} value`);
      return bare;
    }
  }
  return null;
}

/** The value of one cookie in a Cookie header; `undefined` when absent, `null` when repeated. */
function readCookie(headers: HeadersLike, name: string): string | null | undefined {
  let raw: string | readonly string[] | null | undefined;
  if (typeof (headers as Headers).get === "function") raw = (headers as Headers).get("cookie");
  else {
    const record = headers as Record<string, string | readonly string[] | undefined>;
    for (const key in record) if (key.toLowerCase() === "cookie") raw = record[key];
  }
  const joined = Array.isArray(raw) ? raw.join("; ") : (raw as string | null | undefined);
  if (!joined) return undefined;
  let found: string | null | undefined;
  for (const pair of joined.split(";")) {
    const eq = pair.indexOf("=");
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
    // Two cookies of one name (one planted for a parent path or domain): trust neither.
    found = found === undefined ? pair.slice(eq + 1).trim() : null;
  }
  return found;
}

interface ParsedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: Uint8Array;
  signature: Uint8Array;
  alg: DbscAlgorithm;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function strictJson(bytes: Uint8Array | null, what: string): Record<string, unknown> {
  if (bytes === null) fail(`The DBSC JWT's ${what} is not strict base64url`);
  try {
    return parseStrictJsonObject(decoder.decode(bytes));
  } catch (cause) {
    throw new DeviceBindingError("ERR_DBSC_INVALID", `The DBSC JWT's ${what} is not strict JSON`, {
      cause,
    });
  }
}

function parseJwt(token: string, algorithms: ReadonlySet<string>): ParsedJwt {
  if (token.length > MAX_JWT) fail(`The DBSC JWT exceeds ${MAX_JWT} characters`);
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((part) => part === ""))
    fail("The DBSC JWT is not a compact JWS");
  const [h, p, s] = parts as [string, string, string];
  const header = strictJson(base64urlDecode(h), "header");
  const claims = strictJson(base64urlDecode(p), "claims");
  const signature = base64urlDecode(s);
  if (signature === null) fail("The DBSC JWT's signature is not strict base64url");
  if (header.typ !== DBSC_JWT_TYP) fail(`typ must be "${DBSC_JWT_TYP}"`);
  // `none` is allowed by the spec for keyless sessions; a session with no key binds nothing.
  if (typeof header.alg !== "string" || !algorithms.has(header.alg))
    fail("alg is not accepted", {
      alg: typeof header.alg === "string" ? header.alg.slice(0, 16) : null,
    });
  if (header.crit !== undefined) fail("crit names extensions this server does not support");
  return {
    header,
    claims,
    signingInput: utf8(`${h}.${p}`),
    signature,
    alg: header.alg as DbscAlgorithm,
  };
}

function readKey(alg: DbscAlgorithm, value: unknown): { jwk: DbscPublicJwk; canonical: string } {
  try {
    // An ES256 read yields an EC P-256 key, which is a DbscPublicJwk.
    return alg === "RS256"
      ? readRsaPublicJwk(value)
      : (readPublicJwk(value, "ES256") as { jwk: DbscPublicJwk; canonical: string });
  } catch (cause) {
    throw new DeviceBindingError("ERR_DBSC_INVALID", "The DBSC key is not acceptable", {
      cause,
      details: isDeviceBindingError(cause) ? cause.details : {},
    });
  }
}

function canonicalOf(jwk: DbscPublicJwk): string {
  return jwk.kty === "RSA"
    ? `{"e":"${jwk.e}","kty":"RSA","n":"${jwk.n}"}`
    : `{"crv":"P-256","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`;
}

function json(body: unknown, status = 200, headers: [string, string][] = []): Response {
  const response = new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
  for (const [name, value] of headers) response.headers.append(name, value);
  return response;
}

/** Builds the DBSC part of a device binding (see `DeviceBindingOptions.dbsc`). */
export function createDbsc(options: DbscOptions | undefined, deps: DbscDependencies): Dbsc {
  const enabled = options !== undefined;
  const config = options ?? {};
  if (typeof config !== "object" || config === null)
    throw new TypeError("dbsc must be an options object");
  const registrationPath = path(
    "registrationPath",
    config.registrationPath,
    "/.devicebound/dbsc/register",
  );
  const refreshPath = path("refreshPath", config.refreshPath, "/.devicebound/dbsc/refresh");
  const cookieName = config.cookieName ?? "__Host-devicebound-dbsc";
  if (typeof cookieName !== "string" || !COOKIE_NAME.test(cookieName))
    throw new TypeError("dbsc.cookieName must be a cookie name token");
  const cookieLifetime = Math.ceil(
    positive("cookieLifetimeSeconds", config.cookieLifetimeSeconds, 600),
  );
  const idleSeconds = positive("sessionIdleSeconds", config.sessionIdleSeconds, 30 * 86_400);
  const sameSite = config.sameSite ?? "Lax";
  if (!["Strict", "Lax", "None"].includes(sameSite))
    throw new TypeError('dbsc.sameSite must be "Strict", "Lax" or "None"');
  const algorithmList = [...(config.algorithms ?? ["ES256", "RS256"])];
  if (algorithmList.length === 0 || algorithmList.some((a) => a !== "ES256" && a !== "RS256"))
    throw new TypeError('dbsc.algorithms must list "ES256" and/or "RS256"');
  const algorithms = new Set<string>(algorithmList);
  const onMissingCookie = config.onMissingCookie ?? "refuse";
  if (onMissingCookie !== "refuse" && onMissingCookie !== "dpop")
    throw new TypeError('dbsc.onMissingCookie must be "refuse" or "dpop"');
  const scopeRules = (config.scopeRules ?? []).map((rule) => {
    if (rule?.type !== "include" && rule?.type !== "exclude")
      throw new TypeError('dbsc.scopeRules: type must be "include" or "exclude"');
    return { ...rule };
  });
  const { store, replayStore, registry, crypto, challenges, secrets, now, emit } = deps;
  if (enabled && store === null) {
    throw new TypeError(
      "dbsc needs a store that implements DbscSessionStore (insertDbscSession, getDbscSession, " +
        "updateDbscSession, listDbscSessions): pass dbscStore, or a store that has them",
    );
  }
  const sessions = store as DbscSessionStore;
  const attributes = `Path=/; Secure; HttpOnly; SameSite=${sameSite}`;
  const registrationHeader = (challenge: string) =>
    `(${algorithmList.join(" ")});path="${registrationPath}";challenge="${challenge}"`;

  function requireEnabled(): void {
    if (!enabled) throw new TypeError("DBSC is off: give createDeviceBinding a dbsc option");
  }

  function configuration(sessionId: string) {
    return {
      session_identifier: sessionId,
      refresh_url: refreshPath,
      scope: {
        include_site: false,
        ...(scopeRules.length ? { scope_specification: scopeRules } : {}),
      },
      credentials: [{ type: "cookie", name: cookieName, attributes }],
      allowed_refresh_initiators: [],
    };
  }

  async function cookieMac(
    key: Uint8Array,
    sessionId: string,
    expSeconds: number,
    deviceId: string,
    userId: string,
  ) {
    // userId last: the other fields hold no newline, and userIds hold no control character.
    const input = utf8(`${COOKIE_DOMAIN}${sessionId}\n${expSeconds}\n${deviceId}\n${userId}`);
    return (await crypto.hmacSha256(key, input)).subarray(0, MAC_BYTES);
  }

  async function setCookie(session: DbscSession): Promise<string> {
    const exp = Math.floor(now() / 1000) + cookieLifetime;
    const mac = await cookieMac(
      secrets[0] as Uint8Array,
      session.id,
      exp,
      session.deviceId,
      session.userId,
    );
    const value = `${session.id}.${exp}.${base64urlEncode(mac)}`;
    return `${cookieName}=${value}; Max-Age=${cookieLifetime}; ${attributes}`;
  }

  function clearCookie(): string {
    return `${cookieName}=; Max-Age=0; ${attributes}`;
  }

  async function challengeHeaders(
    sessionId: string,
    context: ChallengeContext,
  ): Promise<[string, string][]> {
    const { challenge } = await challenges.create(context, now());
    return DBSC_CHALLENGE_HEADERS.map((name) => [name, `"${challenge}";id="${sessionId}"`]);
  }

  /** The termination answer: `continue: false`, and the bound cookie removed. */
  function terminated(sessionId: string | null): Response {
    return json({ ...(sessionId ? { session_identifier: sessionId } : {}), continue: false }, 200, [
      ["Set-Cookie", clearCookie()],
    ]);
  }

  async function answer(session: DbscSession, context: ChallengeContext): Promise<Response> {
    // A challenge cached by the browser for its next refresh saves the 403 round trip then.
    return json(configuration(session.id), 200, [
      ["Set-Cookie", await setCookie(session)],
      ...(await challengeHeaders(session.id, context)),
    ]);
  }

  function reportFailure(error: DeviceBindingError): void {
    emit({ type: "verificationFailed", code: error.code, message: error.message });
  }

  async function end(session: DbscSession, reason: DbscEndReason): Promise<boolean> {
    let current: DbscSession | null = session;
    for (let attempt = 0; current && attempt < MAX_CAS_ATTEMPTS; attempt++) {
      if (current.status === "ended") return false;
      const ended = await sessions.updateDbscSession(current.id, current.version, {
        status: "ended",
        endReason: reason,
      });
      if (ended) {
        emit({ type: "dbscSessionEnded", session: ended, reason });
        return true;
      }
      current = await sessions.getDbscSession(current.id);
    }
    return false;
  }

  /** Ends the session when its device is gone or blocked; true when it may go on. */
  async function deviceStillActive(session: DbscSession): Promise<boolean> {
    const device = await registry.get(session.userId, session.deviceId);
    if (device?.status === "active") return true;
    await end(session, device ? "device-blocked" : "device-deleted");
    return false;
  }

  async function verifySignature(
    jwt: ParsedJwt,
    jwk: DbscPublicJwk,
    canonical: string,
  ): Promise<void> {
    if (jwt.alg === "ES256" && jwt.signature.length !== 64)
      fail("The signature has the wrong length");
    let valid: boolean;
    try {
      valid = await crypto.verify(jwt.alg, jwk, canonical, jwt.signingInput, jwt.signature);
    } catch (cause) {
      throw new DeviceBindingError("ERR_DBSC_INVALID", "The DBSC key could not be used", {
        cause,
      });
    }
    if (!valid) fail("The DBSC JWT's signature does not verify");
  }

  /**
   * Records a challenge as used; false when it already was. Kept a minute past the challenge's
   * expiry, for servers of a fleet whose clocks lag.
   */
  async function consume(challengeId: string, expiresAtSeconds: number): Promise<boolean> {
    try {
      await consumeOnce(
        replayStore,
        `dbsc:${challengeId}`,
        (expiresAtSeconds + 60) * 1000,
        "ERR_CHALLENGE_USED",
        "This DBSC challenge was already used",
      );
      return true;
    } catch (error) {
      if (isDeviceBindingError(error, "ERR_CHALLENGE_USED")) return false;
      throw error;
    }
  }

  /** Store outages and malformed requests as a typed error answer, never a rejection. */
  async function answerErrors(run: () => Promise<Response>): Promise<Response> {
    try {
      return await run();
    } catch (error) {
      if (!isDeviceBindingError(error)) throw error;
      return errorResponse(error);
    }
  }

  async function register(request: RequestLike, context: ChallengeContext): Promise<Response> {
    let session: DbscSession | null = null;
    try {
      const token = readHeader(request.headers, DBSC_RESPONSE_HEADERS);
      if (token === null) fail("No Secure-Session-Response header");
      const jwt = parseJwt(token, algorithms);
      // Chromium 156 puts the key in the header's jwk; earlier drafts sent it as the `key` claim.
      const { jwk, canonical } = readKey(jwt.alg, jwt.header.jwk ?? jwt.claims.key);
      const { jti } = jwt.claims;
      if (typeof jti !== "string") fail("jti must be the registration challenge");
      let challenge: Awaited<ReturnType<ChallengeIssuer["verify"]>>;
      try {
        challenge = await challenges.verify(jti, context, now());
      } catch (cause) {
        throw new DeviceBindingError("ERR_DBSC_INVALID", "jti is not a live challenge of ours", {
          cause,
          details: { reason: isDeviceBindingError(cause) ? cause.code : "invalid" },
        });
      }
      session = await sessions.getDbscSession(challenge.id);
      if (session?.status !== "pending") {
        const known = session;
        session = null;
        fail(known ? "This DBSC session was already registered or ended" : "No such DBSC session");
      }
      await verifySignature(jwt, jwk, canonical);
      if (!(await consume(challenge.id, challenge.expiresAtSeconds)))
        fail("This registration challenge was already used");
      if (!(await deviceStillActive(session))) return terminated(session.id);
      const registered = await sessions.updateDbscSession(session.id, session.version, {
        status: "active",
        alg: jwt.alg,
        publicJwk: jwk,
        refreshedAt: new Date(now()),
        expiresAt: new Date(now() + idleSeconds * 1000),
      });
      if (!registered) fail("The DBSC session changed during registration");
      emit({ type: "dbscSessionStarted", session: registered });
      return answer(registered, context);
    } catch (error) {
      if (!isDeviceBindingError(error, "ERR_DBSC_INVALID")) throw error;
      reportFailure(error);
      // A registration that names a live pending session but fails ends that session.
      if (session) await end(session, "invalid-registration");
      return terminated(session?.id ?? null);
    }
  }

  async function refresh(request: RequestLike, context: ChallengeContext): Promise<Response> {
    const sessionId = readHeader(request.headers, DBSC_SESSION_ID_HEADERS);
    if (sessionId === null || !SESSION_ID.test(sessionId))
      return json({ error: "ERR_DBSC_INVALID", message: "No DBSC session id" }, 400);
    let session = await sessions.getDbscSession(sessionId);
    if (session?.status !== "active") return terminated(sessionId);
    if (!(await deviceStillActive(session))) return terminated(sessionId);
    const retry = async () =>
      new Response(null, {
        status: 403,
        headers: [["Cache-Control", "no-store"], ...(await challengeHeaders(sessionId, context))],
      });
    try {
      const token = readHeader(request.headers, DBSC_RESPONSE_HEADERS);
      if (token === null) return await retry();
      const jwt = parseJwt(token, algorithms);
      if (jwt.alg !== session.alg) fail("alg differs from the session's key");
      const registered = session.publicJwk as DbscPublicJwk;
      const canonical = canonicalOf(registered);
      // Refresh JWTs carry no key; one that does must name the registered key.
      if (jwt.header.jwk !== undefined && readKey(jwt.alg, jwt.header.jwk).canonical !== canonical)
        fail("The refresh JWT names another key");
      const { jti } = jwt.claims;
      if (typeof jti !== "string") fail("jti must be a challenge");
      let challenge: Awaited<ReturnType<ChallengeIssuer["verify"]>>;
      try {
        challenge = await challenges.verify(jti, context, now());
      } catch {
        // A stale or foreign challenge (an early refresh with an old cached one): a fresh one.
        return await retry();
      }
      await verifySignature(jwt, registered, canonical);
      if (!(await consume(challenge.id, challenge.expiresAtSeconds))) return await retry();
      for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
        const refreshed = await sessions.updateDbscSession(sessionId, session.version, {
          refreshedAt: new Date(now()),
          expiresAt: new Date(now() + idleSeconds * 1000),
        });
        if (refreshed) {
          emit({ type: "dbscSessionRefreshed", session: refreshed });
          return await answer(refreshed, context);
        }
        // Another refresh (another tab, another server) won: go on from what it wrote.
        session = await sessions.getDbscSession(sessionId);
        if (session?.status !== "active") return terminated(sessionId);
      }
      throw new DeviceBindingError(
        "ERR_STORE_UNAVAILABLE",
        "The DBSC session kept changing during refresh",
      );
    } catch (error) {
      if (!isDeviceBindingError(error, "ERR_DBSC_INVALID")) throw error;
      reportFailure(error);
      // The session is not ended: whoever knows its id could otherwise end it with garbage.
      return json({ error: error.code, message: error.message }, 401);
    }
  }

  return {
    enabled,
    registrationPath,
    refreshPath,
    cookieName,
    clearCookie,

    async startSession(input, context = {}) {
      if (!enabled) return { sessionId: null, headers: {} };
      const device = input?.device;
      if (typeof input?.userId !== "string" || typeof device?.id !== "string")
        throw new TypeError("startSession needs { userId, device }");
      if (device.userId !== input.userId)
        throw new TypeError("startSession: the device belongs to another user");
      if (device.status !== "active")
        throw new DeviceBindingError("ERR_DEVICE_BLOCKED", "This device is blocked", {
          details: { deviceId: device.id },
        });
      const { challenge, expiresAt } = await challenges.create(context, now());
      // The challenge's own random id names the session, so registration finds it from the JWT.
      const { id } = await challenges.verify(challenge, context, now());
      const at = new Date(now());
      const inserted = await sessions.insertDbscSession({
        id,
        userId: input.userId,
        deviceId: device.id,
        status: "pending",
        alg: null,
        publicJwk: null,
        createdAt: at,
        refreshedAt: null,
        endReason: null,
        // A browser that never registers leaves nothing behind once the challenge is dead.
        expiresAt: new Date((expiresAt + 60) * 1000),
        version: 1,
      });
      if (!inserted)
        throw new DeviceBindingError("ERR_STORE_CORRUPT", "A DBSC session id was issued twice");
      const value = registrationHeader(challenge);
      return {
        sessionId: id,
        headers: Object.fromEntries(DBSC_REGISTRATION_HEADERS.map((name) => [name, value])),
      };
    },

    async handleRegistration(request, context = {}) {
      requireEnabled();
      return answerErrors(() => register(request, context));
    },

    async handleRefresh(request, context = {}) {
      requireEnabled();
      return answerErrors(() => refresh(request, context));
    },

    // With DBSC off there are no sessions: ending and listing answer so, and sign-out and device
    // pages need no branch of their own.
    async endSession(sessionId, reason = "signed-out") {
      if (!enabled) return false;
      if (typeof sessionId !== "string" || !SESSION_ID.test(sessionId)) return false;
      const session = await sessions.getDbscSession(sessionId);
      return session ? end(session, reason) : false;
    },

    async endDeviceSessions(userId, deviceId, reason = "device-blocked") {
      if (!enabled) return 0;
      let ended = 0;
      for (const session of await sessions.listDbscSessions(userId, deviceId))
        if (await end(session, reason)) ended++;
      return ended;
    },

    async listSessions(userId, deviceId) {
      if (!enabled) return [];
      return sessions.listDbscSessions(userId, deviceId);
    },

    async tierOf(headers, { userId, device, sessionId }) {
      if (!enabled) return "dpop";
      const cookie = readCookie(headers, cookieName);
      if (cookie === null)
        throw new DeviceBindingError("ERR_DBSC_COOKIE_INVALID", "Two bound cookies were sent");
      if (cookie !== undefined) {
        const [id, expText, macText, extra] = cookie.split(".");
        const exp = Number(expText);
        const mac = macText === undefined ? null : base64urlDecode(macText);
        let valid =
          extra === undefined &&
          id !== undefined &&
          SESSION_ID.test(id) &&
          /^[0-9]{1,12}$/.test(expText ?? "") &&
          mac !== null;
        if (valid) {
          let matched = false;
          for (const key of secrets) {
            // Every key is tried, so timing does not tell which one matched.
            const expected = await cookieMac(key, id as string, exp, device.id, userId);
            if (timingSafeEqual(expected, mac as Uint8Array)) matched = true;
          }
          valid = matched;
        }
        if (!valid)
          throw new DeviceBindingError(
            "ERR_DBSC_COOKIE_INVALID",
            "The bound cookie is not valid for this session and device",
          );
        // An expired cookie is as good as none (the browser should have refreshed it), and so is
        // the cookie of another session of this device (one the browser has not replaced yet).
        if (now() < exp * 1000 && (sessionId == null || sessionId === id)) return "dbsc";
      }
      if (typeof sessionId !== "string" || !SESSION_ID.test(sessionId)) return "dpop";
      const session = await sessions.getDbscSession(sessionId);
      if (
        session?.status !== "active" ||
        session.userId !== userId ||
        session.deviceId !== device.id
      )
        return "dpop";
      // This session registered a hardware key, and this request lacks the cookie that key keeps
      // fresh: the session is being used somewhere else.
      emit({ type: "dbscCookieMissing", session });
      if (onMissingCookie === "dpop") return "dpop";
      throw new DeviceBindingError(
        "ERR_DBSC_COOKIE_MISSING",
        "This session is hardware-bound and the request lacks its bound cookie",
        { details: { sessionId } },
      );
    },
  };
}
