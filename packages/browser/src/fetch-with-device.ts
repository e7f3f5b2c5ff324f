// fetchWithDevice and the state behind it, one instance per createDeviceFetch(): the device key
// loaded once per page, challenges cached per origin, the server's clock offset, and at most one
// retry per request.
import {
  DeviceBindingError,
  type DeviceBindingErrorCode,
  DPOP_HEADER,
  DPOP_NONCE_HEADER,
  NEW_DEVICE_CHALLENGE_REQUIRED,
  NEW_DEVICE_CHALLENGE_STATUS,
  type ProofClaims,
  USE_DPOP_NONCE_ERROR,
  WWW_AUTHENTICATE_HEADER,
} from "@devicebound/wire";
import {
  type DeviceKeyAlgorithm,
  type DeviceKeyStatus,
  deleteDeviceKey,
  loadDeviceKey,
} from "./key-store.js";
import { accessTokenHash, type ProofSigner } from "./proof.js";

/** A challenge (DPoP nonce). `expiresAt` is a `Date` or Unix seconds, as the server's JSON has it. */
export interface DeviceChallenge {
  challenge: string;
  /** Omitted: valid until the server answers with a new one. */
  expiresAt?: Date | number;
}

export interface DeviceKeyEvent {
  /**
   * `restored`: read from IndexedDB. `created`: first key of this browser profile. `missing`: this
   * profile had a key (its marker survived in `localStorage`) but IndexedDB lost it, for example
   * after eviction. `replaced`: IndexedDB held a key that is not the one this profile last used,
   * or not a well-formed non-extractable signing key (page script can write there); it was never
   * used. After `missing` and `replaced` a new key is in use, so the server sees a new device.
   */
  status: DeviceKeyStatus;
  jkt: string;
  /** The thumbprint this profile used before (from the marker), if it had one. */
  previousJkt: string | null;
  /** Whether the browser granted persistent storage (`navigator.storage.persist()`). */
  persisted: boolean;
}

/** A request that went out without a proof because of `fallbackBehavior: "fallback"`. */
export interface FallbackEvent {
  /** Why no key could be used: `ERR_UNSUPPORTED` or `ERR_KEY_STORAGE`. */
  error: DeviceBindingError;
  /** The request's URL. */
  url: string;
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
  /** Called for every request sent without a proof under `fallbackBehavior: "fallback"`. */
  onFallback?: (event: FallbackEvent) => void;
  /** Seams for tests and unusual hosts. */
  fetch?: typeof fetch;
  crypto?: Crypto;
  /** Milliseconds since the epoch. */
  now?: () => number;
}

/**
 * What the other functions of this package (signAction, rememberUser) use of an instance. Kept
 * apart from the methods so that an app that never calls them does not ship them.
 * @internal
 */
export interface DeviceCore {
  signer(): Promise<ProofSigner>;
  /** The latest challenge for this origin (fetched when there is none). */
  challengeFor(origin: string): Promise<string>;
  /** The server's time in ms, as learned from its answers. */
  serverNow(): number;
  database: string;
}

/** One configured device-bound fetch; its methods need no `this`, so they can be destructured. */
export interface DeviceFetch {
  /** @internal */
  readonly core: DeviceCore;
  /**
   * `fetch` with a DPoP proof of this device for the page's own origin (and `origins`); other
   * origins go to `fetch` untouched. Retries once when the server asks for a new challenge.
   */
  fetchWithDevice(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** The device's RFC 7638 thumbprint (`jkt`), creating the key if this browser has none yet. */
  getDeviceThumbprint(): Promise<string>;
  /** Deletes the device key; the next request creates a new key and so shows up as a new device. */
  forgetDevice(): Promise<void>;
}

// A challenge this close to its expiry is not worth sending.
const EXPIRY_MARGIN_MS = 5_000;
// Date headers have one-second resolution plus latency; only a real skew is worth correcting.
const SKEW_THRESHOLD_MS = 5_000;

const fail = (code: DeviceBindingErrorCode, message: string, cause?: unknown) =>
  new DeviceBindingError(code, message, { cause });

// IndexedDB's own failures surface as ERR_KEY_STORAGE; our coded errors pass through.
const keyStorageFailed = (cause: unknown): never => {
  throw cause instanceof DeviceBindingError
    ? cause
    : fail("ERR_KEY_STORAGE", "IndexedDB failed", cause);
};

// The app's callbacks fail as ERR_CHALLENGE_FETCH, whatever they throw.
const ask = async <T>(callback: () => Promise<T> | undefined): Promise<T | undefined> => {
  try {
    return await callback();
  } catch (cause) {
    throw cause instanceof DeviceBindingError
      ? cause
      : fail("ERR_CHALLENGE_FETCH", "Challenge failed", cause);
  }
};

/**
 * A device-bound fetch with its own options and state: for apps that talk to several backends
 * or keep keys in several databases. Safe to call on a server; its methods then throw
 * `ERR_UNSUPPORTED`.
 */
export function createDeviceFetch(options: FetchWithDeviceOptions): DeviceFetch {
  const o = (options ?? {}) as FetchWithDeviceOptions;
  const proofOrigins = new Set(
    (o.origins ?? []).map((origin) => (URL.canParse(origin) ? new URL(origin).origin : "null")),
  );
  if (
    typeof o.fetchChallenge !== "function" ||
    ![undefined, "fail", "fallback"].includes(o.fallbackBehavior) ||
    ![undefined, "ES256", "EdDSA"].includes(o.algorithm) ||
    o.databaseName === "" ||
    proofOrigins.has("null")
  ) {
    throw new TypeError(
      "createDeviceFetch: check fetchChallenge (a function), fallbackBehavior, algorithm, origins (URLs) and databaseName (non-empty)",
    );
  }
  const database = o.databaseName ?? "devicebound";
  const webCrypto = o.crypto ?? globalThis.crypto;
  const clock = o.now ?? Date.now;
  /** Server time minus local time, in milliseconds. */
  let offsetMs = 0;
  let signerPromise: Promise<ProofSigner> | undefined;
  /** Per origin: the latest challenge and when it expires (ms; Infinity when unknown). */
  const challenges = new Map<string, [string, number]>();
  const inflight = new Map<string, Promise<string>>();
  const serverNow = () => clock() + offsetMs;

  function supported(): SubtleCrypto {
    const subtle = webCrypto?.subtle;
    if (!globalThis.indexedDB || !subtle)
      throw fail("ERR_UNSUPPORTED", "No IndexedDB or Web Crypto");
    return subtle;
  }

  // The key's signer, loaded once per page; a failed load is not remembered, so the next call
  // tries again.
  function signer(): Promise<ProofSigner> {
    signerPromise ??= (async () => {
      const subtle = supported();
      const { signer, status, previousJkt } = await loadDeviceKey(
        database,
        subtle,
        o.algorithm === "EdDSA" ? ["EdDSA", "ES256"] : ["ES256"],
      ).catch(keyStorageFailed);
      // Off the critical path: ask for persistent storage so the key is less likely to be evicted.
      Promise.resolve(globalThis.navigator?.storage?.persist?.())
        .catch(() => 0)
        .then((persisted) =>
          o.onDeviceKey?.({ status, jkt: signer.jkt, previousJkt, persisted: persisted === true }),
        );
      return signer;
    })();
    signerPromise.catch(() => {
      signerPromise = undefined;
    });
    return signerPromise;
  }

  function remember(origin: string, { challenge, expiresAt }: DeviceChallenge): string {
    const expiresAtMs =
      expiresAt === undefined
        ? Infinity
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
  function challengeFor(origin: string): Promise<string> {
    const cached = challenges.get(origin);
    if (cached && cached[1] - EXPIRY_MARGIN_MS > serverNow()) return Promise.resolve(cached[0]);
    let pending = inflight.get(origin);
    if (!pending) {
      pending = ask(async () => remember(origin, await o.fetchChallenge({ origin }))).finally(() =>
        inflight.delete(origin),
      ) as Promise<string>;
      inflight.set(origin, pending);
    }
    return pending;
  }

  async function fetchWithDevice(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const send = (target: RequestInfo | URL, requestInit?: RequestInit) =>
      (o.fetch ?? fetch)(target, requestInit);
    const request = input instanceof Request ? input : undefined;
    const page = globalThis.location as Location | undefined;
    let url: URL;
    try {
      url = new URL(request ? request.url : String(input), page?.href);
    } catch (cause) {
      // In a page an unparseable URL is a TypeError, as with fetch itself; on a server a relative
      // URL means this code runs where it cannot hold a device key.
      throw page ? cause : fail("ERR_UNSUPPORTED", "No page to resolve a relative URL", cause);
    }
    const { origin } = url;
    if (origin !== page?.origin && !proofOrigins.has(origin)) return send(input, init);

    let key: ProofSigner;
    try {
      key = await signer();
    } catch (error) {
      if (o.fallbackBehavior !== "fallback") throw error;
      o.onFallback?.({ error: error as DeviceBindingError, url: url.href });
      return send(input, init);
    }
    // Sending the upper-cased method makes the proof's htm and the method on the wire agree.
    const method = (init?.method ?? request?.method ?? "GET").toUpperCase();
    const headers = new Headers(init?.headers ?? request?.headers);
    const token = headers.get("authorization")?.match(/^DPoP\s+(.+)$/i)?.[1];
    const claims: ProofClaims = {
      jti: "",
      htm: method,
      htu: url.href.replace(/[?#].*/, ""),
      iat: 0,
    };
    if (token) claims.ath = await accessTokenHash(webCrypto.subtle, token);

    const attempt = async (nonce: string, target: RequestInfo | URL) => {
      claims.jti = webCrypto.randomUUID();
      claims.iat = Math.floor(serverNow() / 1000);
      claims.nonce = nonce;
      headers.set(DPOP_HEADER, await key.sign(claims));
      const response = await send(target, { ...init, method, headers });
      // Every answer teaches the latest challenge and the server's clock.
      const fresh = response.headers.get(DPOP_NONCE_HEADER);
      if (fresh) remember(origin, { challenge: fresh });
      const skew = Date.parse(response.headers.get("date") as string) - clock();
      if (skew) offsetMs = Math.abs(skew) > SKEW_THRESHOLD_MS ? skew : 0;
      return response;
    };

    const offsetBefore = offsetMs;
    // A Request's body can be read once: send a copy first and keep the original for a retry.
    const first = await attempt(
      await challengeFor(origin),
      request?.body ? request.clone() : input,
    );
    if (first.ok) return first;
    // The app's own form first, then the built-in ones: 401 + WWW-Authenticate
    // error="use_dpop_nonce" + DPoP-Nonce, and the 425 JSON body.
    const body =
      first.status === NEW_DEVICE_CHALLENGE_STATUS &&
      (await first
        .clone()
        .json()
        .catch(() => 0));
    const nonce = first.headers.get(DPOP_NONCE_HEADER);
    const next =
      (await ask(() => o.getChallengeFromFailedResponse?.(first.clone()))) ??
      (first.status === 401 &&
      nonce &&
      first.headers.get(WWW_AUTHENTICATE_HEADER)?.includes(USE_DPOP_NONCE_ERROR)
        ? { challenge: nonce }
        : body?.errorType === NEW_DEVICE_CHALLENGE_REQUIRED
          ? { challenge: body.deviceChallenge, expiresAt: body.expiresAt }
          : null);
    // A 401 that taught us the server's clock is worth one retry with a corrected iat.
    if (!next && !(first.status === 401 && Math.abs(offsetMs - offsetBefore) > SKEW_THRESHOLD_MS)) {
      return first;
    }
    const retryNonce = next ? remember(origin, next) : await challengeFor(origin);
    if (init?.body instanceof ReadableStream) {
      throw fail("ERR_BODY_NOT_REPLAYABLE", "Cannot resend a stream body");
    }
    // Not awaited: some fetch implementations settle a cancel only when the body is read.
    first.body?.cancel().catch(() => {});
    return attempt(retryNonce, input);
  }

  return {
    core: { signer, challengeFor, serverNow, database },
    fetchWithDevice,
    getDeviceThumbprint: async () => (await signer()).jkt,
    async forgetDevice() {
      supported();
      // Let a load in progress finish, so it cannot put the old key back in memory afterwards.
      await signerPromise?.catch(() => {});
      signerPromise = undefined;
      await deleteDeviceKey(database).catch(keyStorageFailed);
    },
  };
}

// The default instance of initFetchWithDevice, kept under a registered symbol so the ESM and the
// CommonJS build of this package, when an app loads both, share one instead of each holding one.
const DEFAULT = Symbol.for("@devicebound/browser");
export const instance = (): DeviceFetch => {
  const current = (globalThis as { [DEFAULT]?: DeviceFetch })[DEFAULT];
  if (!current) throw fail("ERR_NOT_INITIALIZED", "initFetchWithDevice() first");
  return current;
};

/** Configures `fetchWithDevice`. Call once at app start; safe to import and call on a server. */
export function initFetchWithDevice(options: FetchWithDeviceOptions): void {
  (globalThis as { [DEFAULT]?: DeviceFetch })[DEFAULT] = createDeviceFetch(options);
}

/** {@inheritDoc DeviceFetch.fetchWithDevice} */
export const fetchWithDevice = async (
  input: RequestInfo | URL,
  init?: RequestInit,
): Promise<Response> => instance().fetchWithDevice(input, init);

/** {@inheritDoc DeviceFetch.getDeviceThumbprint} */
export const getDeviceThumbprint = async (): Promise<string> => instance().getDeviceThumbprint();

/** {@inheritDoc DeviceFetch.forgetDevice} */
export const forgetDevice = async (): Promise<void> => instance().forgetDevice();
