// RFC 9449 names and the JSON shapes of challenges, as sent between browser and server.

/** Request header that carries the proof (a compact JWS). */
export const DPOP_HEADER = "DPoP";
/** Response header that carries a fresh challenge (an RFC 9449 nonce). */
export const DPOP_NONCE_HEADER = "DPoP-Nonce";
export const WWW_AUTHENTICATE_HEADER = "WWW-Authenticate";
/** The `typ` of every proof's JOSE header. */
export const DPOP_JWT_TYP = "dpop+jwt";
/** The `error` of a `WWW-Authenticate: DPoP` challenge asking the client to retry with a nonce. */
export const USE_DPOP_NONCE_ERROR = "use_dpop_nonce";
/** The `error` of a `WWW-Authenticate: DPoP` challenge for a proof that failed verification. */
export const INVALID_DPOP_PROOF_ERROR = "invalid_dpop_proof";
/** `errorType` of the 425 JSON form of "retry with this challenge". */
export const NEW_DEVICE_CHALLENGE_REQUIRED = "NewDeviceChallengeRequired";
/** HTTP status of the JSON form of "retry with this challenge". */
export const NEW_DEVICE_CHALLENGE_STATUS = 425;

/** Signature algorithms a proof may use. ES256 is the default on both sides. */
export type ProofAlgorithm = "ES256" | "EdDSA" | "Ed25519";

/** What a challenge route answers (`GET`), and what `createChallenge` returns. */
export interface ChallengeJSON {
  challenge: string;
  /** Unix time in seconds after which the challenge is refused. */
  expiresAt: number;
}

/** Body of a `425` answer asking the client to retry with a fresh challenge. */
export interface NewDeviceChallengeRequiredJSON {
  errorType: typeof NEW_DEVICE_CHALLENGE_REQUIRED;
  deviceChallenge: string;
  /** Unix time in seconds. */
  expiresAt: number;
}

/** The claims of a DPoP proof (RFC 9449 section 4.2). */
export interface ProofClaims {
  jti: string;
  htm: string;
  htu: string;
  /** Seconds since the epoch. */
  iat: number;
  nonce?: string;
  ath?: string;
  [claim: string]: unknown;
}
