// The framework-neutral part of every adapter: the request context, the API guard and the
// error answer. Each framework file only reads its request and writes its response.
import { DeviceBindingError } from "@devicebound/wire";
import type { ChallengeContext } from "../challenge.js";
import type { DeviceBinding } from "../device-binding.js";
import type { Device } from "../device-store.js";
import type { VerifiedProof } from "../verified-proof.js";
import type { HeadersLike, VerifyRequestOptions } from "../verify-proof.js";

/** What the app stored in its session at sign-in. */
export interface DeviceSession {
  userId: string;
  /** The thumbprint of the key that signed in (`verifiedProof.jkt`). */
  jkt: string;
}

export type SessionLookup<Req> = (
  request: Req,
) => DeviceSession | null | undefined | Promise<DeviceSession | null | undefined>;

export interface GuardResult {
  proof: VerifiedProof;
  device: Device;
  session: DeviceSession;
}

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

/** Verifies the proof and checks it against the session: the API guard of every adapter. */
export async function guard(
  binding: DeviceBinding,
  request: PlainRequest,
  session: DeviceSession | null | undefined,
): Promise<GuardResult> {
  if (!session)
    throw new DeviceBindingError("ERR_DEVICE_MISMATCH", "Not signed in", {
      details: { reason: "no-session" },
    });
  const proof = await verifyPlain(binding, request);
  const device = await binding.requireDevice(session.userId, proof, session.jkt);
  return { proof, device, session };
}

/** The status, headers and JSON body to answer `error` with (a fresh challenge when useful). */
export async function errorParts(
  binding: DeviceBinding,
  error: unknown,
  context: ChallengeContext,
) {
  const response = await binding.errorResponse(error, context);
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: await response.text(),
  };
}
