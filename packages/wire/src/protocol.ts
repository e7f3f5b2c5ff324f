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

/** The `typ` of every action token's JOSE header. */
export const ACTION_JWT_TYP = "device-action+jwt";
/** Longest lifetime (`exp - iat`) an action token may claim, in seconds. */
export const ACTION_MAX_LIFETIME_SECONDS = 600;
/** Lifetime the browser gives an action token when the app names none, in seconds. */
export const ACTION_DEFAULT_LIFETIME_SECONDS = 120;
/** Longest action name (`act`), in characters. */
export const ACTION_NAME_MAX_LENGTH = 128;

/** The claims of an action token (`typ` `device-action+jwt`). */
export interface ActionClaims {
  /** Random, unique: the token is accepted once. */
  jti: string;
  /** Seconds since the epoch. */
  iat: number;
  /** Seconds since the epoch; `exp - iat` is at most ACTION_MAX_LIFETIME_SECONDS. */
  exp: number;
  /** A server challenge. */
  nonce: string;
  /** The action name, e.g. `"payment"`. */
  act: string;
  /** base64url SHA-256 of the action's data bytes (UTF-8 for a string); absent without data. */
  dig?: string;
  [claim: string]: unknown;
}

// DBSC (W3C Device Bound Session Credentials). Chromium 156 acts on the current names and has
// sent and read the older `Sec-Session-*` ones: servers write both and read either.
/** Response header that starts a DBSC session: `(ES256 RS256);path="...";challenge="..."`. */
export const DBSC_REGISTRATION_HEADERS = [
  "Secure-Session-Registration",
  "Sec-Session-Registration",
] as const;
/** Response header with a challenge for a session: `"<challenge>";id="<session id>"`. */
export const DBSC_CHALLENGE_HEADERS = [
  "Secure-Session-Challenge",
  "Sec-Session-Challenge",
] as const;
/** Request header that carries the signed DBSC JWT. */
export const DBSC_RESPONSE_HEADERS = ["Secure-Session-Response", "Sec-Session-Response"] as const;
/** Request header naming the session a refresh is for. */
export const DBSC_SESSION_ID_HEADERS = ["Sec-Secure-Session-Id", "Sec-Session-Id"] as const;
/** The `typ` of a DBSC registration or refresh JWT. */
export const DBSC_JWT_TYP = "dbsc+jwt";
/** Signature algorithms a DBSC key may use. */
export type DbscAlgorithm = "ES256" | "RS256";
