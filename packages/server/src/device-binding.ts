// createDeviceBinding: one object with everything a backend calls, challenges, verification,
// the registry and the session guard, over the crypto backend the entry point chose.
import { type ChallengeJSON, DeviceBindingError, isDeviceBindingError } from "@devicebound/wire";
import type { ChallengeContext } from "./challenge.js";
import type { CryptoBackend } from "./crypto-backend.js";
import type { Device, DeviceStore, ReplayStore } from "./device-store.js";
import { errorResponse } from "./http.js";
import { createRegistry, type DeviceRegistry, type RegistryOptions } from "./registry.js";
import { assertSessionDevice } from "./session.js";
import type { VerifiedProof } from "./verified-proof.js";
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
}

export interface DeviceBinding extends ProofVerifier, DeviceRegistry {
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
    const verifier = createProofVerifier({
      ...options,
      replayStore,
      crypto: options.crypto ?? defaultCrypto(),
    });
    const registry = createRegistry({ ...options, store });

    return {
      ...verifier,
      ...registry,
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
