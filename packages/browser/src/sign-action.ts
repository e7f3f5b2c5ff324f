// Action tokens: a JWS signed by the device key for one high-risk action (a payment, an e-mail
// change), with the data's digest, so a token for "pay Bob 100" cannot pay Eve 1000. Separate
// from fetchWithDevice, so apps that never sign actions do not ship this.
import {
  ACTION_DEFAULT_LIFETIME_SECONDS,
  ACTION_JWT_TYP,
  ACTION_MAX_LIFETIME_SECONDS,
  ACTION_NAME_MAX_LENGTH,
} from "@devicebound/wire";
import { type DeviceFetch, instance } from "./fetch-with-device.js";
import { b64 } from "./proof.js";

export interface SignActionOptions {
  /** What the action is about; its SHA-256 travels as `dig` (a string is hashed as UTF-8). */
  data?: string | BufferSource;
  /** Seconds the token stays valid. Default 120, at most 600. */
  expiresIn?: number;
  /** The instance to sign with (from createDeviceFetch). Default: initFetchWithDevice's. */
  device?: DeviceFetch;
}

/**
 * A new, single-use action token for `action`, signed with this browser's device key over the
 * page origin's current challenge (the one fetchWithDevice uses: no extra round trip when it has
 * one). Send it with the action; the server checks it with `verifyAction`.
 */
export async function signAction(action: string, options: SignActionOptions = {}): Promise<string> {
  const { data, expiresIn = ACTION_DEFAULT_LIFETIME_SECONDS } = options ?? {};
  if (typeof action !== "string" || action === "" || action.length > ACTION_NAME_MAX_LENGTH) {
    throw new TypeError(`signAction: action must be 1 to ${ACTION_NAME_MAX_LENGTH} characters`);
  }
  if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > ACTION_MAX_LIFETIME_SECONDS) {
    throw new TypeError(
      `signAction: expiresIn must be a whole number of seconds from 1 to ${ACTION_MAX_LIFETIME_SECONDS}`,
    );
  }
  if (
    data !== undefined &&
    typeof data !== "string" &&
    !ArrayBuffer.isView(data) &&
    !(data instanceof ArrayBuffer)
  ) {
    throw new TypeError("signAction: data must be a string or a BufferSource");
  }
  const core = (options.device ?? instance()).core;
  const key = await core.signer();
  const nonce = await core.challengeFor(location.origin);
  const iat = Math.floor(core.serverNow() / 1000);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const claims: Record<string, unknown> = {
    jti: crypto.randomUUID(),
    iat,
    exp: iat + expiresIn,
    nonce,
    act: action,
  };
  if (bytes !== undefined) claims.dig = b64(await crypto.subtle.digest("SHA-256", bytes));
  return key.sign(claims, ACTION_JWT_TYP);
}
