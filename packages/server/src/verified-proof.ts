// The result of a successful verification: what the registry and session checks build on.
import type { ProofAlgorithm, ProofClaims } from "@devicebound/wire";
import type { PublicJwk } from "./device-store.js";

export interface VerifiedProof {
  /** RFC 7638 SHA-256 thumbprint of `jwk` (base64url): the device's identity. */
  jkt: string;
  /** The proof's public key, canonical members only. */
  jwk: PublicJwk;
  alg: ProofAlgorithm;
  claims: ProofClaims;
  /** The request's User-Agent, as given to verifyProof (`null` when none was given). */
  userAgent: string | null;
  /** The request's IP address, as given to verifyProof (`null` when none was given). */
  ipAddress: string | null;
}
