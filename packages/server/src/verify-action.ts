// Action tokens (`typ` `device-action+jwt`): one high-risk action (a payment, an email change)
// signed by the device key over a server challenge and the action's data, accepted once, only
// from an active registered device of the user. Nothing is recorded until every check passed.
import {
  ACTION_JWT_TYP,
  ACTION_MAX_LIFETIME_SECONDS,
  ACTION_NAME_MAX_LENGTH,
  type ActionClaims,
  base64urlEncode,
  DeviceBindingError,
  isDeviceBindingError,
  utf8,
} from "@devicebound/wire";
import type { CryptoBackend } from "./crypto-backend.js";
import type { Device, ReplayStore } from "./device-store.js";
import { type DeviceEventHandler, eventEmitter } from "./events.js";
import { createJwsReader, fail, JTI } from "./jws.js";
import type { DeviceRegistry } from "./registry.js";
import { consumeChallengeOnce, consumeOnce } from "./replay.js";
import type { VerifierParts } from "./verify-proof.js";

export interface VerifyActionOptions {
  /** The action the app is about to perform; the token's `act` must equal it. */
  action: string;
  /** The signed-in user; the token's key must be one of their active devices. */
  userId: string;
  /** The action's data (UTF-8 for a string); its SHA-256 must equal the token's `dig`. */
  data?: string | ArrayBuffer | ArrayBufferView | undefined;
  /** The client's IP address and User-Agent, when challenges are bound to them. */
  ipAddress?: string | null | undefined;
  userAgent?: string | null | undefined;
  /** Accept the token's challenge only once, across proofs and tokens. Default false. */
  singleUseChallenge?: boolean | undefined;
}

export interface VerifiedAction {
  /** The user's device that signed the token (its `lastSeenAt` moved forward). */
  device: Device;
  /** RFC 7638 thumbprint of the signing key. */
  jkt: string;
  claims: ActionClaims;
}

export interface ActionVerifier {
  verifyAction(
    token: string | null | undefined,
    options: VerifyActionOptions,
  ): Promise<VerifiedAction>;
}

export interface ActionVerifierOptions {
  parts: VerifierParts;
  crypto: CryptoBackend;
  replayStore: ReplayStore;
  registry: Pick<DeviceRegistry, "isKnown">;
  onEvent?: DeviceEventHandler | undefined;
}

// Printable, no control characters: the name is compared exactly and may end up in logs.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function dataBytes(data: VerifyActionOptions["data"]): Uint8Array {
  if (typeof data === "string") return utf8(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("data must be a string, an ArrayBuffer or an ArrayBufferView");
}

function checkOptions(options: VerifyActionOptions): void {
  if (typeof options !== "object" || options === null)
    throw new TypeError("verifyAction needs { action, userId }");
  const { action } = options;
  if (
    typeof action !== "string" ||
    action === "" ||
    action.length > ACTION_NAME_MAX_LENGTH ||
    CONTROL.test(action)
  ) {
    throw new TypeError(
      `action must be 1 to ${ACTION_NAME_MAX_LENGTH} characters without control characters`,
    );
  }
  if (typeof options.userId !== "string" || options.userId === "")
    throw new TypeError("userId must be a non-empty string");
}

export function createActionVerifier(options: ActionVerifierOptions): ActionVerifier {
  const { parts, crypto, replayStore, registry } = options;
  const { challenges, skewSeconds, windowSeconds, now } = parts;
  const emit = eventEmitter(options.onEvent);
  const reader = createJwsReader({
    typ: ACTION_JWT_TYP,
    algorithms: parts.algorithms,
    crypto,
    maxBytes: parts.maxProofBytes,
    noun: "action token",
    // One code for every way the token is unreadable; typ and signature keep their own, since
    // they say "this is another kind of token" and "this was not signed by that key".
    codes: {
      missing: "ERR_ACTION_MALFORMED",
      tooLarge: "ERR_ACTION_MALFORMED",
      malformed: "ERR_ACTION_MALFORMED",
      typ: "ERR_ACTION_TYP",
      alg: "ERR_ACTION_MALFORMED",
      crit: "ERR_ACTION_MALFORMED",
      jwk: "ERR_ACTION_MALFORMED",
      signature: "ERR_ACTION_SIGNATURE",
    },
  });

  async function verify(token: unknown, opts: VerifyActionOptions): Promise<VerifiedAction> {
    const parsed = reader.parse(token);
    const { jti, iat, exp, nonce, act, dig } = parsed.claims;
    if (typeof jti !== "string" || !JTI.test(jti))
      fail("ERR_ACTION_MALFORMED", "jti must be 1 to 256 printable ASCII characters");
    if (typeof iat !== "number" || !Number.isFinite(iat))
      fail("ERR_ACTION_MALFORMED", "iat must be a number");
    if (typeof exp !== "number" || !Number.isFinite(exp))
      fail("ERR_ACTION_MALFORMED", "exp must be a number");
    if (typeof act !== "string") fail("ERR_ACTION_MALFORMED", "act must be a string");
    if (dig !== undefined && typeof dig !== "string")
      fail("ERR_ACTION_MALFORMED", "dig must be a string");

    const nowMs = now();
    if (exp <= iat || exp - iat > ACTION_MAX_LIFETIME_SECONDS) {
      fail(
        "ERR_ACTION_LIFETIME",
        `exp - iat must be more than 0 and at most ${ACTION_MAX_LIFETIME_SECONDS} s`,
        { lifetimeSeconds: exp - iat },
      );
    }
    if (iat - nowMs / 1000 > skewSeconds) {
      fail("ERR_ACTION_LIFETIME", "iat is in the future", {
        skewSeconds: Math.round(iat - nowMs / 1000),
      });
    }
    // Half-open, like the proof window: at exactly exp the token is already refused.
    if (nowMs >= exp * 1000) {
      fail("ERR_ACTION_EXPIRED", "The action token has expired", {
        expiredSecondsAgo: Math.floor(nowMs / 1000 - exp),
      });
    }
    if (act !== opts.action)
      fail("ERR_ACTION_NAME", "The token was signed for another action", {
        act: act.slice(0, ACTION_NAME_MAX_LENGTH),
      });
    if (opts.data === undefined) {
      if (dig !== undefined) fail("ERR_ACTION_DATA", "The token signs data this action has not");
    } else {
      const expected = base64urlEncode(await crypto.sha256(dataBytes(opts.data)));
      if (dig !== expected) fail("ERR_ACTION_DATA", "The token signs other data");
    }
    if (nonce === undefined) fail("ERR_CHALLENGE_MISSING", "The action token carries no challenge");
    if (typeof nonce !== "string") fail("ERR_CHALLENGE_INVALID", "nonce must be a string");
    // The challenge must have been valid when the token was signed: checked at iat (never
    // later than now), so a token outlives its challenge by at most its own lifetime.
    const challenge = await challenges.verify(nonce, opts, Math.min(nowMs, iat * 1000));

    const jkt = await reader.verify(parsed);
    const known = await registry.isKnown(opts.userId, { jkt });
    if (known.status === "blocked") {
      fail("ERR_DEVICE_BLOCKED", "This device is blocked", { deviceId: known.device.id });
    }
    if (known.status === "unknown")
      fail("ERR_ACTION_DEVICE", "The token was not signed by a registered device of this user");

    // Only now, with every check passed, record the token, in a key space of its own (a proof
    // and a token with one jti are two things). Kept one window past exp, so a server whose
    // clock lags by less than that cannot accept the token after its record is forgotten.
    await consumeOnce(
      replayStore,
      `action:${jkt}:${jti}`,
      (exp + windowSeconds) * 1000,
      "ERR_ACTION_REPLAYED",
      "This action token was already used",
    );
    if (opts.singleUseChallenge) await consumeChallengeOnce(replayStore, challenge, windowSeconds);
    return { device: known.device, jkt, claims: { ...parsed.claims } as ActionClaims };
  }

  return {
    async verifyAction(token, opts) {
      checkOptions(opts);
      if (opts.data !== undefined) dataBytes(opts.data);
      try {
        return await verify(token, opts);
      } catch (cause) {
        // Options were checked before this point, so whatever else escapes is a hostile input.
        const error = isDeviceBindingError(cause)
          ? cause
          : new DeviceBindingError("ERR_ACTION_MALFORMED", "The action token could not be read", {
              cause,
            });
        emit({
          type: "verificationFailed",
          code: error.code,
          message: error.message,
        });
        throw error;
      }
    },
  };
}
