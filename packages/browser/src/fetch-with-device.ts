// fetchWithDevice and the page's state behind it: the device key loaded once per page, challenges
// cached per origin, the server's clock offset, and at most one retry per request.
import {
  DeviceBindingError,
  type DeviceBindingErrorCode,
  DPOP_HEADER,
  DPOP_NONCE_HEADER,
  isDeviceBindingError,
  NEW_DEVICE_CHALLENGE_REQUIRED,
  NEW_DEVICE_CHALLENGE_STATUS,
  type ProofClaims,
  USE_DPOP_NONCE_ERROR,
  WWW_AUTHENTICATE_HEADER,
} from "@devicebound/wire";
import {
  type DeviceKeyAlgorithm,
  deleteKey,
  loadOrCreateKey,
  type StoredDeviceKey,
} from "./key-store.js";
import { accessTokenHash, createSigner, type ProofSigner } from "./proof.js";

/** A challenge (DPoP nonce). `expiresAt` is a `Date` or Unix seconds, as the server's JSON has it. */
export interface DeviceChallenge {
  challenge: string;
  /** Omitted: valid until the server answers with a new one. */
  expiresAt?: Date | number;
}

/** How the page's device key was found when it was loaded. */
export type DeviceKeyStatus = "created" | "restored" | "missing";

export interface DeviceKeyEvent {
  /**
   * `restored`: read from IndexedDB. `created`: first key of this browser profile. `missing`: this
   * profile had a key (its marker survived in `localStorage`) but IndexedDB lost it, for example
   * after eviction; a new key replaced it, so the server sees a new device.
   */
  status: DeviceKeyStatus;
  jkt: string;
  /** Whether the browser granted persistent storage (`navigator.storage.persist()`). */
  persisted: boolean;
}

export interface FetchWithDeviceOptions {
  /** Gets a fresh challenge, for example `() => fetch("/device/challenge").then((r) => r.json())`. */
  fetchChallenge: (context: { origin: string }) => Promise<DeviceChallenge>;
  /** Extracts a challenge from an app-specific failure; the RFC 9449 401 and the 425 forms are built in. */
  getChallengeFromFailedResponse?: (response: Response) => Promise<DeviceChallenge | null>;
  /** `"fail"` (default): throw when no device key can be held. `"fallback"`: send without a proof. */
  fallbackBehavior?: "fail" | "fallback";
  /** IndexedDB database holding the key. Default `"devicebound"`. */
  databaseName?: string;
  /** Origins that get proofs besides the page's own (`"https://api.example.com"`). */
  origins?: readonly string[];
  /** Algorithm of a new key. `"EdDSA"` (Ed25519) falls back to `"ES256"` where unsupported. */
  algorithm?: DeviceKeyAlgorithm;
  /** Called once per page load, after the key is ready. */
  onDeviceKey?: (event: DeviceKeyEvent) => void;
  /** Seams for tests and unusual hosts. */
  fetch?: typeof fetch;
  crypto?: Crypto;
  /** Milliseconds since the epoch. */
  now?: () => number;
}

// The page's state, in module variables rather than one object so minifiers can shorten them.
let options: FetchWithDeviceOptions | undefined;
let database = "";
let proofOrigins = new Set<string>();
let webCrypto: Crypto | undefined;
let clock: () => number = Date.now;
/** Server time minus local time, in milliseconds. */
let offsetMs = 0;
let signerPromise: Promise<ProofSigner> | undefined;
/** Per origin: the latest challenge and when it expires (ms; Infinity when unknown). */
let challenges = new Map<string, [string, number]>();
let inflight = new Map<string, Promise<string>>();

// A challenge this close to its expiry is not worth sending.
const EXPIRY_MARGIN_MS = 5_000;
// Date headers have one-second resolution plus latency; only a real skew is worth correcting.
const SKEW_THRESHOLD_MS = 5_000;

const fail = (code: DeviceBindingErrorCode, message: string, cause?: unknown) =>
  new DeviceBindingError(code, message, { cause });
const serverNow = () => clock() + offsetMs;
const marker = () => `devicebound:${database}`;

/** Configures `fetchWithDevice`. Call once at app start; safe to import and call on a server. */
export function initFetchWithDevice(init: FetchWithDeviceOptions): void {
  const o = (init ?? {}) as Partial<FetchWithDeviceOptions>;
  const check = (ok: unknown, name: string) => {
    if (!ok) throw new TypeError(`initFetchWithDevice: invalid ${name}`);
  };
  const optional = (value: unknown, type: string) => value === undefined || typeof value === type;
  check(typeof o.fetchChallenge === "function", "fetchChallenge");
  for (const name of ["getChallengeFromFailedResponse", "onDeviceKey", "fetch", "now"] as const) {
    check(optional(o[name], "function"), name);
  }
  check([undefined, "fail", "fallback"].includes(o.fallbackBehavior), "fallbackBehavior");
  check([undefined, "ES256", "EdDSA"].includes(o.algorithm), "algorithm");
  check(optional(o.databaseName, "string") && o.databaseName !== "", "databaseName");
  const origins = new Set<string>();
  for (const origin of o.origins ?? []) {
    const parsed = URL.canParse(origin) && new URL(origin).origin;
    check(parsed && parsed !== "null", `origin ${origin}`);
    origins.add(parsed as string);
  }
  options = init;
  database = o.databaseName ?? "devicebound";
  proofOrigins = origins;
  webCrypto = o.crypto ?? globalThis.crypto;
  clock = o.now ?? Date.now;
  offsetMs = 0;
  signerPromise = undefined;
  challenges = new Map();
  inflight = new Map();
}

function initialized(): FetchWithDeviceOptions {
  if (!options) throw fail("ERR_NOT_INITIALIZED", "Call initFetchWithDevice() first");
  return options;
}

function subtleOrThrow(): SubtleCrypto {
  const subtle = webCrypto?.subtle;
  if (typeof indexedDB === "undefined" || !subtle) {
    throw fail("ERR_UNSUPPORTED", "No IndexedDB or Web Crypto here (a server?)");
  }
  return subtle;
}

// Loads the key once per page; a failure is not remembered, so the next call tries again.
function signer(o: FetchWithDeviceOptions, strict?: boolean): Promise<ProofSigner | null> {
  if (!signerPromise) {
    signerPromise = loadSigner(o);
    signerPromise.catch(() => {
      signerPromise = undefined;
    });
  }
  return o.fallbackBehavior === "fallback" && !strict
    ? signerPromise.catch(() => null)
    : signerPromise;
}

async function loadSigner(o: FetchWithDeviceOptions): Promise<ProofSigner> {
  const subtle = subtleOrThrow();
  const generate = async (): Promise<StoredDeviceKey> => {
    // Ed25519 is opt-in and not everywhere yet: fall back to P-256 where it is missing.
    for (const alg of o.algorithm === "EdDSA"
      ? (["EdDSA", "ES256"] as const)
      : (["ES256"] as const)) {
      try {
        const params =
          alg === "ES256" ? { name: "ECDSA", namedCurve: "P-256" } : { name: "Ed25519" };
        const keyPair = await subtle.generateKey(params as EcKeyGenParams, false, [
          "sign",
          "verify",
        ]);
        return { keyPair: keyPair as CryptoKeyPair, alg };
      } catch {
        // Try the next algorithm.
      }
    }
    throw fail("ERR_UNSUPPORTED", "Cannot create a non-extractable key");
  };
  let loaded: Awaited<ReturnType<typeof loadOrCreateKey>>;
  try {
    loaded = await loadOrCreateKey(database, generate);
  } catch (cause) {
    throw isDeviceBindingError(cause)
      ? cause
      : fail("ERR_KEY_STORAGE", "Cannot load or store the key", cause);
  }
  const result = await createSigner(loaded.key, subtle);
  report(o, loaded.created, result.jkt);
  return result;
}

// Off the critical path: the marker that tells "created" from "missing", and persistent storage.
function report(o: FetchWithDeviceOptions, created: boolean, jkt: string): void {
  let before: string | null = null;
  try {
    before = localStorage.getItem(marker());
    localStorage.setItem(marker(), jkt);
  } catch {
    // No localStorage (a worker, or blocked): "missing" cannot be told from "created".
  }
  const storage = (globalThis as { navigator?: Navigator }).navigator?.storage;
  const status: DeviceKeyStatus = !created ? "restored" : before ? "missing" : "created";
  Promise.resolve(created ? storage?.persist?.() : storage?.persisted?.())
    .catch(() => false)
    .then((persisted) => o.onDeviceKey?.({ status, jkt, persisted: persisted === true }));
}

function remember(origin: string, { challenge, expiresAt }: DeviceChallenge): string {
  const expiresAtMs =
    expiresAt === undefined
      ? Number.POSITIVE_INFINITY
      : expiresAt instanceof Date
        ? +expiresAt
        : expiresAt * 1000;
  if (!challenge || typeof challenge !== "string" || !(expiresAtMs > 0)) {
    throw fail("ERR_CHALLENGE_FETCH", "Bad challenge");
  }
  // A fresh challenge that looks expired means the local clock runs ahead: assume the server
  // issued it a minute before its expiry.
  if (expiresAtMs - EXPIRY_MARGIN_MS <= serverNow()) offsetMs = expiresAtMs - 60_000 - clock();
  challenges.set(origin, [challenge, expiresAtMs]);
  return challenge;
}

// Concurrent requests to one origin share one fetchChallenge call.
function challengeFor(o: FetchWithDeviceOptions, origin: string): Promise<string> {
  const cached = challenges.get(origin);
  if (cached && cached[1] - EXPIRY_MARGIN_MS > serverNow()) return Promise.resolve(cached[0]);
  let pending = inflight.get(origin);
  if (!pending) {
    pending = (async () => {
      try {
        return remember(origin, await o.fetchChallenge({ origin }));
      } catch (cause) {
        throw isDeviceBindingError(cause)
          ? cause
          : fail("ERR_CHALLENGE_FETCH", "fetchChallenge failed", cause);
      } finally {
        inflight.delete(origin);
      }
    })();
    inflight.set(origin, pending);
  }
  return pending;
}

// Every answer teaches the latest challenge and the server's clock.
function observe(origin: string, response: Response): void {
  const nonce = response.headers.get(DPOP_NONCE_HEADER);
  if (nonce) challenges.set(origin, [nonce, Number.POSITIVE_INFINITY]);
  const date = Date.parse(response.headers.get("date") ?? "");
  if (date) {
    const skew = date - clock();
    offsetMs = Math.abs(skew) > SKEW_THRESHOLD_MS ? skew : 0;
  }
}

// The app's own form first, then the built-in ones: 401 + WWW-Authenticate error="use_dpop_nonce"
// + DPoP-Nonce, and the 425 JSON body.
async function challengeFromFailure(
  o: FetchWithDeviceOptions,
  response: Response,
): Promise<DeviceChallenge | null> {
  try {
    const custom = await o.getChallengeFromFailedResponse?.(response.clone());
    if (custom) return custom;
  } catch (cause) {
    throw fail("ERR_CHALLENGE_FETCH", "getChallengeFromFailedResponse failed", cause);
  }
  const nonce = response.headers.get(DPOP_NONCE_HEADER);
  if (
    response.status === 401 &&
    nonce &&
    response.headers.get(WWW_AUTHENTICATE_HEADER)?.includes(USE_DPOP_NONCE_ERROR)
  ) {
    return { challenge: nonce };
  }
  if (response.status === NEW_DEVICE_CHALLENGE_STATUS) {
    const body = await response
      .clone()
      .json()
      .catch(() => null);
    if (body?.errorType === NEW_DEVICE_CHALLENGE_REQUIRED) {
      return { challenge: body.deviceChallenge, expiresAt: body.expiresAt };
    }
  }
  return null;
}

/**
 * `fetch` with a DPoP proof of this device for the page's own origin (and `origins`); other
 * origins go to `fetch` untouched. Retries once when the server asks for a new challenge.
 */
export async function fetchWithDevice(
  input: RequestInfo | URL,
  init?: RequestInit,
): Promise<Response> {
  const o = initialized();
  const send = (i: RequestInfo | URL, n?: RequestInit) => (o.fetch ?? fetch)(i, n);
  const request = input instanceof Request ? input : undefined;
  const page = (globalThis as { location?: Location }).location;
  const raw = request ? request.url : String(input);
  if (!URL.canParse(raw, page?.href)) return send(input, init);
  const url = new URL(raw, page?.href);
  const { origin } = url;
  if (origin !== page?.origin && !proofOrigins.has(origin)) return send(input, init);

  const key = await signer(o);
  if (!key) return send(input, init);
  const subtle = webCrypto?.subtle as SubtleCrypto;
  const method = init?.method ?? request?.method ?? "GET";
  // fetch upper-cases only these methods; the proof must name the method that goes on the wire.
  const htm = /^(delete|get|head|options|post|put)$/i.test(method) ? method.toUpperCase() : method;
  const htu = url.href.replace(/[?#].*/, "");
  const headers = new Headers(init?.headers ?? request?.headers);
  const token = headers.get("authorization")?.match(/^DPoP\s+(.+)$/i)?.[1];
  const ath = token ? await accessTokenHash(subtle, token) : undefined;
  const replayable = !(init?.body instanceof ReadableStream);

  const attempt = async (nonce: string, target: RequestInfo | URL) => {
    const claims: ProofClaims = {
      jti: webCrypto?.randomUUID() as string,
      htm,
      htu,
      iat: Math.floor(serverNow() / 1000),
      nonce,
    };
    if (ath) claims.ath = ath;
    headers.set(DPOP_HEADER, await key.sign(claims));
    const response = await send(target, { ...init, headers });
    observe(origin, response);
    return response;
  };

  const offsetBefore = offsetMs;
  // A Request's body can be read once: send a copy first and keep the original for a retry.
  const first = await attempt(
    await challengeFor(o, origin),
    request?.body ? request.clone() : input,
  );
  if (first.ok) return first;
  const next = await challengeFromFailure(o, first);
  // A 401 that taught us the server's clock is worth one retry with a corrected iat.
  const skewed = first.status === 401 && Math.abs(offsetMs - offsetBefore) > SKEW_THRESHOLD_MS;
  if (!next && !skewed) return first;
  const nonce = next ? remember(origin, next) : await challengeFor(o, origin);
  if (!replayable) {
    throw fail("ERR_BODY_NOT_REPLAYABLE", "A retry needs the body again, but it was a stream");
  }
  // Not awaited: some fetch implementations settle a cancel only when the body is read.
  first.body?.cancel().catch(() => {});
  return attempt(nonce, input);
}

/** The device's RFC 7638 thumbprint (`jkt`), creating the key if this browser has none yet. */
export async function getDeviceThumbprint(): Promise<string> {
  return ((await signer(initialized(), true)) as ProofSigner).jkt;
}

/** Deletes the device key; the next request creates a new key and so shows up as a new device. */
export async function forgetDevice(): Promise<void> {
  initialized();
  subtleOrThrow();
  // Let a load in progress finish, so it cannot put the old key back in memory afterwards.
  await signerPromise?.catch(() => {});
  signerPromise = undefined;
  try {
    await deleteKey(database);
  } catch (cause) {
    throw fail("ERR_KEY_STORAGE", "Cannot delete the key", cause);
  }
  try {
    localStorage.removeItem(marker());
  } catch {
    // No localStorage: nothing was marked.
  }
}
