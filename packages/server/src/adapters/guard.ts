// The framework-neutral part of every adapter: the request context, the API guard and the
// error answer. Each framework file only reads its request and writes its response.
import { DeviceBindingError } from "@devicebound/wire";
import type { ChallengeContext } from "../challenge.js";
import type { Tier } from "../dbsc.js";
import type { DeviceBinding } from "../device-binding.js";
import type { Device } from "../device-store.js";
import type { VerifiedProof } from "../verified-proof.js";
import type { HeadersLike, VerifyRequestOptions } from "../verify-proof.js";

/** What the app stored in its session at sign-in. */
export interface DeviceSession {
  userId: string;
  /**
   * The thumbprint of the key the session is bound to (`verifiedProof.jkt`). Absent or `null`
   * for a session that has no device yet: one started by an SSO or OAuth redirect, or one from
   * before the app adopted devicebound (see `GuardOptions`).
   */
  jkt?: string | null | undefined;
  /** When the session was created (Unix ms), for `rollout.createdBefore`. */
  createdAtMs?: number | undefined;
  /**
   * The DBSC session offered at sign-in (`binding.dbsc.startSession(...).sessionId`). With it,
   * a request without the bound cookie of a session that registered a key is a theft signal.
   */
  dbscSessionId?: string | null | undefined;
}

export type SessionLookup<Req> = (
  request: Req,
) => DeviceSession | null | undefined | Promise<DeviceSession | null | undefined>;

/**
 * How the guard treats a session with no device yet. Without options it is refused
 * (`ERR_DEVICE_MISMATCH`, `details.reason` `"unbound-session"`).
 */
export interface GuardOptions<Req> {
  /**
   * Bind on first use: an unbound session is bound to the key of its first request on this route
   * that carries a valid proof (see `DeviceBinding.bindSession`). Write `jkt` into the session
   * only if it is still unbound, atomically (`UPDATE ... WHERE jkt IS NULL`, a Redis script), and
   * return the thumbprint the session is bound to afterwards.
   */
  bindSession?: (
    request: Req,
    jkt: string,
  ) => string | null | undefined | Promise<string | null | undefined>;
  /**
   * Gradual rollout: an unbound session that is legacy (created before `createdBefore`, or
   * marked by `isLegacy`) passes without a proof until `endsAt`, and is bound by `bindSession` on
   * its first request that carries one. Sessions created later are held to the full rule.
   */
  rollout?: {
    /** Sessions whose `createdAtMs` is before this moment are legacy. */
    createdBefore?: Date | number;
    /** The app's own mark of a legacy session. */
    isLegacy?: (session: DeviceSession, request: Req) => boolean;
    /** After this moment no session passes unbound. */
    endsAt?: Date | number;
  };
  /**
   * `dbsc`: only requests that carry a valid DBSC bound cookie pass (`ERR_DBSC_REQUIRED`
   * otherwise), for the most sensitive routes. Default: either tier.
   */
  requireTier?: Tier;
  /** Current time in ms (a seam for tests). Default `Date.now`. */
  now?: () => number;
}

/** Whether the session was bound before this request, bound by it, or passed unbound (rollout). */
export type SessionStatus = "bound" | "bound-now" | "unbound";

/** A request that carried a valid proof from the session's device. */
export interface BoundGuardResult {
  sessionStatus: "bound" | "bound-now";
  proof: VerifiedProof;
  device: Device;
  session: DeviceSession;
  /** True when this request bound the session to a device the user never used before. */
  newDeviceDetected: boolean;
  /**
   * What protects this request: `dbsc` when it also carries the session's DBSC bound cookie
   * (kept fresh by a key the browser holds in hardware), `dpop` for the device's proof alone.
   */
  tier: Tier;
}

/** A legacy session the rollout let through without a proof. */
export interface UnboundGuardResult {
  sessionStatus: "unbound";
  proof: null;
  device: null;
  session: DeviceSession;
  newDeviceDetected: false;
  /** Nothing device-bound protects a request the rollout let through. */
  tier: null;
}

export type GuardResult = BoundGuardResult | UnboundGuardResult;

/** A request reduced to what verification needs. */
export interface PlainRequest {
  method: string;
  url: string;
  headers: HeadersLike;
  context: ChallengeContext;
}

export interface AdapterOptions {
  /**
   * How many proxies you run in front of the app (`true` means one). The client IP is then read
   * that many entries from the **right** of `X-Forwarded-For`, where each of your proxies appends
   * the address it received the request from; entries further left were written by the client and
   * are never trusted. Default: no proxy, the socket's peer address.
   */
  trustProxy?: boolean | number;
}

/** The number of trusted proxy hops `trustProxy` stands for (a TypeError for anything else). */
export function trustedHops(trustProxy: boolean | number | undefined): number {
  if (trustProxy === undefined || trustProxy === false) return 0;
  if (trustProxy === true) return 1;
  if (!Number.isInteger(trustProxy) || trustProxy < 0) {
    throw new TypeError("trustProxy must be a boolean or a whole number of proxy hops");
  }
  return trustProxy;
}

/**
 * The client address behind `hops` trusted proxies: walking from the peer that connected to us
 * back through `X-Forwarded-For` from its right end, one entry per trusted proxy. With fewer
 * entries than hops, the farthest address there is (as Express's `trust proxy` does).
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | readonly string[] | null | undefined,
  hops: number,
): string | undefined {
  if (hops === 0) return peer;
  const raw = typeof forwardedFor === "string" ? forwardedFor : forwardedFor?.join(",");
  const entries = raw ? raw.split(",").map((entry) => entry.trim()) : [];
  const chain = [peer, ...entries.filter(Boolean).reverse()];
  return chain[Math.min(hops, chain.length - 1)];
}

/** Adapters that receive paths, not absolute URLs, need the origin users reach the app at. */
export function requirePublicOrigin(binding: DeviceBinding, adapter: string): void {
  if (binding.publicOrigins.length === 0) {
    throw new TypeError(
      `${adapter} sees only the request path: give createDeviceBinding a publicOrigin ` +
        '(e.g. "https://app.example.com") so the proof\'s htu can be checked',
    );
  }
}

export function verifyPlain(
  binding: DeviceBinding,
  request: PlainRequest,
  options: VerifyRequestOptions = {},
) {
  const { ipAddress, userAgent } = request.context;
  return binding.verifyRequest(request, {
    ...(ipAddress ? { ipAddress } : {}),
    ...(userAgent ? { userAgent } : {}),
    ...options,
  });
}

/** Checks `GuardOptions` once, when a route is set up, so misuse fails at start-up. */
export function checkGuardOptions<Req>(options: GuardOptions<Req> = {}): GuardOptions<Req> {
  if (typeof options !== "object" || options === null)
    throw new TypeError("guard options must be an object");
  if (options.bindSession !== undefined && typeof options.bindSession !== "function")
    throw new TypeError("bindSession must be a function");
  if (options.rollout !== undefined) {
    if (!options.bindSession)
      throw new TypeError(
        "rollout needs bindSession: legacy sessions are bound on their first proof",
      );
    const { createdBefore, isLegacy } = options.rollout;
    if (createdBefore === undefined && isLegacy === undefined)
      throw new TypeError("rollout needs createdBefore or isLegacy");
    if (options.requireTier !== undefined)
      throw new TypeError("requireTier and rollout exclude each other: a rollout serves unbound");
  }
  if (
    options.requireTier !== undefined &&
    options.requireTier !== "dbsc" &&
    options.requireTier !== "dpop"
  )
    throw new TypeError('requireTier must be "dbsc" or "dpop"');
  return options;
}

const ms = (at: Date | number | undefined) => (at instanceof Date ? at.getTime() : at);

function rolloutAllows<Req>(options: GuardOptions<Req>, session: DeviceSession, request: Req) {
  const { rollout } = options;
  if (!rollout) return false;
  const now = (options.now ?? Date.now)();
  const endsAt = ms(rollout.endsAt);
  if (endsAt !== undefined && now >= endsAt) return false;
  const before = ms(rollout.createdBefore);
  return (
    (before !== undefined &&
      typeof session.createdAtMs === "number" &&
      session.createdAtMs < before) ||
    rollout.isLegacy?.(session, request) === true
  );
}

function hasProof(headers: HeadersLike): boolean {
  if (typeof (headers as Headers).get === "function") return (headers as Headers).has("dpop");
  for (const key in headers) if (key.length === 4 && key.toLowerCase() === "dpop") return true;
  return false;
}

/** The tier of a request whose proof and device passed; `requireTier` enforced. */
async function tierOf<Req>(
  binding: DeviceBinding,
  request: PlainRequest,
  session: DeviceSession,
  device: Device,
  options: GuardOptions<Req>,
): Promise<Tier> {
  const tier = await binding.dbsc.tierOf(request.headers, {
    userId: session.userId,
    device,
    sessionId: session.dbscSessionId,
  });
  if (options.requireTier === "dbsc" && tier !== "dbsc")
    throw new DeviceBindingError(
      "ERR_DBSC_REQUIRED",
      "This route needs a hardware-bound (DBSC) session",
    );
  return tier;
}

/**
 * The API guard of every adapter: verifies the proof and checks it against the session; binds an
 * unbound session on first use, or lets it through during a rollout, as `options` allow.
 */
export async function guard<Req>(
  binding: DeviceBinding,
  request: PlainRequest,
  session: DeviceSession | null | undefined,
  original: Req,
  options: GuardOptions<Req> = {},
): Promise<GuardResult> {
  if (!session)
    throw new DeviceBindingError("ERR_DEVICE_MISMATCH", "Not signed in", {
      details: { reason: "no-session" },
    });
  if (session.jkt) {
    const proof = await verifyPlain(binding, request);
    const device = await binding.requireDevice(session.userId, proof, session.jkt);
    const tier = await tierOf(binding, request, session, device, options);
    return { sessionStatus: "bound", proof, device, session, newDeviceDetected: false, tier };
  }
  const { bindSession } = options;
  if (bindSession && hasProof(request.headers)) {
    // A proof that fails is refused, never ignored, even where the rollout would let the session
    // through without one: the browser retries it (a stale challenge) and binds on the retry.
    const proof = await verifyPlain(binding, request);
    const { device, newDeviceDetected } = await binding.bindSession(session.userId, proof, (jkt) =>
      bindSession(original, jkt),
    );
    const tier = await tierOf(binding, request, session, device, options);
    return {
      sessionStatus: "bound-now",
      proof,
      device,
      session: { ...session, jkt: proof.jkt },
      newDeviceDetected,
      tier,
    };
  }
  if (rolloutAllows(options, session, original)) {
    binding.reportUnboundSession(session.userId);
    return {
      sessionStatus: "unbound",
      proof: null,
      device: null,
      session,
      newDeviceDetected: false,
      tier: null,
    };
  }
  if (bindSession) {
    throw new DeviceBindingError("ERR_PROOF_MISSING", "No DPoP proof to bind this session with");
  }
  throw new DeviceBindingError("ERR_DEVICE_MISMATCH", "This session is not bound to a device", {
    details: { reason: "unbound-session" },
  });
}

/** A Fetch Response as the status, headers and body a Node or Fastify reply writes. */
export async function responseParts(response: Response) {
  const headers: Record<string, string | string[]> = Object.fromEntries(response.headers);
  // Fetch joins Set-Cookie values with ", ", which a cookie's Expires may contain.
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  return { status: response.status, headers, body: await response.text() };
}

/** The status, headers and JSON body to answer `error` with (a fresh challenge when useful). */
export async function errorParts(
  binding: DeviceBinding,
  error: unknown,
  context: ChallengeContext,
) {
  return responseParts(await binding.errorResponse(error, context));
}
