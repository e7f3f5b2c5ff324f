// createDeviceBinding: one object with everything a backend calls, challenges, verification,
// the registry and the session guard, over the crypto backend the entry point chose.
import { type ChallengeJSON, DeviceBindingError, isDeviceBindingError } from "@devicebound/wire";
import { type ChallengeContext, readSecrets } from "./challenge.js";
import type { CryptoBackend } from "./crypto-backend.js";
import { createDbsc, type Dbsc, type DbscOptions } from "./dbsc.js";
import type { DbscSessionStore, Device, DeviceStore, ReplayStore } from "./device-store.js";
import { eventEmitter } from "./events.js";
import { errorResponse } from "./http.js";
import {
  createRegistry,
  type DeviceRegistry,
  type RegisterResult,
  type RegistryOptions,
} from "./registry.js";
import { assertSessionDevice } from "./session.js";
import type { VerifiedProof } from "./verified-proof.js";
import { type ActionVerifier, createActionVerifier } from "./verify-action.js";
import {
  createProofVerifier,
  type ProofVerifier,
  type ProofVerifierOptions,
} from "./verify-proof.js";

export interface DeviceBindingOptions
  extends Omit<ProofVerifierOptions, "replayStore" | "crypto">,
    Omit<RegistryOptions, "store"> {
  /** Where devices live; also the replay store when it implements `consume`. */
  store: DeviceStore | (DeviceStore & ReplayStore);
  /** Where proof ids and single-use challenges are recorded; defaults to `store`. */
  replayStore?: ReplayStore;
  /** Crypto backend (a seam for tests and unusual runtimes). Default: the entry point's. */
  crypto?: CryptoBackend;
  /**
   * Turns on DBSC (W3C Device Bound Session Credentials): `{}` for the defaults. Its sessions
   * live in `dbscStore`, or in `store` when that implements `DbscSessionStore`.
   */
  dbsc?: DbscOptions;
  /** Where DBSC sessions live; defaults to `store`. A fleet shares it (PostgreSQL or Redis). */
  dbscStore?: DbscSessionStore;
}

export interface DeviceBinding extends ProofVerifier, ActionVerifier, DeviceRegistry {
  /** DBSC sessions: start, the registration and refresh endpoints, end, and the request tier. */
  readonly dbsc: Dbsc;
  /**
   * The guard for API routes: the proof's key must be the one bound to the session at sign-in
   * (`ERR_DEVICE_MISMATCH`), still registered to the user (`ERR_DEVICE_MISMATCH`) and not
   * blocked (`ERR_DEVICE_BLOCKED`). Returns the device.
   */
  requireDevice(
    userId: string,
    proof: VerifiedProof,
    sessionJkt: string | null | undefined,
  ): Promise<Device>;
  /**
   * A Fetch `Response` for any error: `DeviceBindingError`s get their status, `WWW-Authenticate`
   * and, for proof and challenge failures, a fresh challenge to retry with.
   */
  errorResponse(error: unknown, context?: ChallengeContext): Promise<Response>;
  /**
   * Binds a session that has no device yet (an SSO or OAuth sign-in, a session from before
   * devicebound) to the key of a verified proof, at most once. A blocked device is refused first
   * (`ERR_DEVICE_BLOCKED`). Then `bind(jkt)`, the app's compare-and-set on its own session store,
   * writes the thumbprint only if the session is still unbound and returns the thumbprint the
   * session is bound to afterwards: when that is not this proof's (another browser won a race),
   * `ERR_DEVICE_MISMATCH`. Only the winner's device is then registered, so `newDeviceDetected`
   * says whether to ask for a one-time code or send the "new sign-in" message. Emits
   * `sessionBound`.
   */
  bindSession(
    userId: string,
    proof: VerifiedProof,
    bind: (jkt: string) => string | null | undefined | Promise<string | null | undefined>,
  ): Promise<RegisterResult>;
  /** Emits `unboundSessionServed` (the adapters call it when a rollout lets a session through). */
  reportUnboundSession(userId: string): void;
}

export function createDeviceBindingWith(defaultCrypto: () => CryptoBackend) {
  return function createDeviceBinding(options: DeviceBindingOptions): DeviceBinding {
    if (typeof options !== "object" || options === null)
      throw new TypeError("createDeviceBinding needs options");
    const { store } = options;
    const replayStore =
      options.replayStore ??
      (typeof (store as Partial<ReplayStore>)?.consume === "function"
        ? (store as ReplayStore)
        : undefined);
    if (!replayStore)
      throw new TypeError("give a replayStore, or a store that implements consume()");
    const crypto = options.crypto ?? defaultCrypto();
    const { parts, ...verifier } = createProofVerifier({ ...options, replayStore, crypto });
    const registry = createRegistry({ ...options, store });
    const emit = eventEmitter(options.onEvent);
    const actions = createActionVerifier({
      parts,
      crypto,
      replayStore,
      registry,
      onEvent: options.onEvent,
    });
    const dbscStore =
      options.dbscStore ??
      (typeof (store as Partial<DbscSessionStore>)?.updateDbscSession === "function"
        ? (store as unknown as DbscSessionStore)
        : null);
    const dbsc = createDbsc(options.dbsc, {
      store: dbscStore,
      replayStore,
      registry,
      crypto,
      challenges: parts.challenges,
      secrets: readSecrets(options.secret),
      now: parts.now,
      emit,
    });

    return {
      ...verifier,
      ...actions,
      ...registry,
      dbsc,
      async requireDevice(userId, proof, sessionJkt) {
        assertSessionDevice(proof, sessionJkt);
        const known = await registry.isKnown(userId, proof);
        if (known.status === "blocked") {
          throw new DeviceBindingError("ERR_DEVICE_BLOCKED", "This device is blocked", {
            details: { deviceId: known.device.id },
          });
        }
        if (known.status === "unknown") {
          throw new DeviceBindingError(
            "ERR_DEVICE_MISMATCH",
            "This device is no longer registered",
            {
              details: { reason: "unknown-device" },
            },
          );
        }
        return known.device;
      },
      async bindSession(userId, proof, bind) {
        if (typeof bind !== "function")
          throw new TypeError("bindSession needs a bind(jkt) callback");
        const known = await registry.isKnown(userId, proof);
        if (known.status === "blocked") {
          throw new DeviceBindingError("ERR_DEVICE_BLOCKED", "This device is blocked", {
            details: { deviceId: known.device.id },
          });
        }
        const boundTo = await bind(proof.jkt);
        if (typeof boundTo !== "string" || boundTo === "") {
          throw new DeviceBindingError("ERR_DEVICE_MISMATCH", "The session is gone", {
            details: { reason: "no-session" },
          });
        }
        assertSessionDevice(proof, boundTo);
        const result = await registry.register(userId, proof);
        emit({ type: "sessionBound", userId, ...result });
        return result;
      },
      reportUnboundSession(userId) {
        emit({ type: "unboundSessionServed", userId });
      },
      async errorResponse(error, context = {}) {
        // By name and code, not instanceof: an error thrown by another bundled copy of the class
        // (a CommonJS entry beside this one) must get the same answer.
        const failure = isDeviceBindingError(error)
          ? error
          : new DeviceBindingError("ERR_INVALID_INPUT", "The request could not be processed", {
              cause: error,
            });
        let challenge: ChallengeJSON | null = null;
        try {
          challenge = await verifier.createChallenge(context);
        } catch {
          // Without a challenge the answer is still correct, only without a retry hint.
        }
        return errorResponse(failure, challenge, verifier.algorithms);
      },
    };
  };
}
