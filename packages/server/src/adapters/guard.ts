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
   * Take the client IP from the first `X-Forwarded-For` entry. Only behind a proxy you run, which
   * overwrites that header; otherwise clients could choose their own IP.
   */
  trustProxy?: boolean;
}

export function firstForwardedFor(
  value: string | readonly string[] | null | undefined,
): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  return typeof raw === "string" ? raw.split(",")[0]?.trim() || undefined : undefined;
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
