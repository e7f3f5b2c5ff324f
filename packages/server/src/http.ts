// HTTP answers for the protocol: the DPoP-Nonce header, the 401 use_dpop_nonce challenge, the
// 425 JSON form, and one mapping from error code to status, shared by every framework adapter.
import {
  type ChallengeJSON,
  type DeviceBindingErrorCode,
  DPOP_NONCE_HEADER,
  INVALID_DPOP_PROOF_ERROR,
  NEW_DEVICE_CHALLENGE_REQUIRED,
  NEW_DEVICE_CHALLENGE_STATUS,
  type NewDeviceChallengeRequiredJSON,
  USE_DPOP_NONCE_ERROR,
  WWW_AUTHENTICATE_HEADER,
} from "@devicebound/wire";

export interface ErrorAnswer {
  status: number;
  /**
   * The `error` of the `WWW-Authenticate: DPoP` challenge every 401 carries; `null` when the
   * request simply had no proof (RFC 6750 section 3.1: no error code for absent credentials).
   */
  dpopError: typeof USE_DPOP_NONCE_ERROR | typeof INVALID_DPOP_PROOF_ERROR | null;
  /** True when the client should retry with the fresh challenge sent along. */
  sendChallenge: boolean;
}

/** How to answer a request that failed with `code`. */
export function errorAnswer(code: DeviceBindingErrorCode): ErrorAnswer {
  if (code === "ERR_PROOF_MISSING") {
    return { status: 401, dpopError: null, sendChallenge: true };
  }
  if (code.startsWith("ERR_CHALLENGE_")) {
    return { status: 401, dpopError: USE_DPOP_NONCE_ERROR, sendChallenge: true };
  }
  if (code.startsWith("ERR_PROOF_") || code === "ERR_DEVICE_MISMATCH") {
    return { status: 401, dpopError: INVALID_DPOP_PROOF_ERROR, sendChallenge: true };
  }
  const statuses: Partial<Record<DeviceBindingErrorCode, number>> = {
    ERR_DEVICE_BLOCKED: 403,
    ERR_DBSC_COOKIE_MISSING: 403,
    ERR_DBSC_COOKIE_INVALID: 403,
    ERR_DBSC_REQUIRED: 403,
    // An action token that cannot authorise this action: the request itself was authenticated,
    // so the answer is "forbidden", never a DPoP 401 (that would make the client retry the
    // request with the same token). A malformed one is a bad request.
    ERR_ACTION_MALFORMED: 400,
    ERR_ACTION_TYP: 403,
    ERR_ACTION_SIGNATURE: 403,
    ERR_ACTION_LIFETIME: 403,
    ERR_ACTION_EXPIRED: 403,
    ERR_ACTION_NAME: 403,
    ERR_ACTION_DATA: 403,
    ERR_ACTION_REPLAYED: 403,
    ERR_ACTION_DEVICE: 403,
    ERR_DEVICE_NOT_FOUND: 404,
    ERR_DEVICE_LIMIT: 409,
    ERR_STORE_UNAVAILABLE: 503,
    ERR_STORE_CORRUPT: 500,
  };
  return { status: statuses[code] ?? 400, dpopError: null, sendChallenge: false };
}

/** Headers that hand a fresh challenge to the client (and let cross-origin scripts read it). */
export function challengeHeaders(challenge: ChallengeJSON): Record<string, string> {
  return {
    [DPOP_NONCE_HEADER]: challenge.challenge,
    "Access-Control-Expose-Headers": `${DPOP_NONCE_HEADER}, ${WWW_AUTHENTICATE_HEADER}`,
  };
}

/**
 * The `WWW-Authenticate` value of a DPoP 401: the `algs` this server accepts, and the `error`
 * unless the request carried no proof at all.
 */
export function wwwAuthenticate(
  dpopError: string | null,
  algorithms: readonly string[] = ["ES256"],
): string {
  const algs = `algs="${algorithms.join(" ")}"`;
  return dpopError === null ? `DPoP ${algs}` : `DPoP error="${dpopError}", ${algs}`;
}

/** All headers of an error answer (JSON body, never cached). */
export function errorHeaders(
  code: DeviceBindingErrorCode,
  challenge: ChallengeJSON | null,
  algorithms: readonly string[] = ["ES256"],
): Record<string, string> {
  const answer = errorAnswer(code);
  return {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    ...(answer.status === 401
      ? { [WWW_AUTHENTICATE_HEADER]: wwwAuthenticate(answer.dpopError, algorithms) }
      : {}),
    ...(challenge && answer.sendChallenge ? challengeHeaders(challenge) : {}),
  };
}

/** A Fetch `Response` for an error: status, `WWW-Authenticate`, `DPoP-Nonce`, JSON `{ error, message }`. */
export function errorResponse(
  error: { code: DeviceBindingErrorCode; message: string },
  challenge: ChallengeJSON | null = null,
  algorithms: readonly string[] = ["ES256"],
): Response {
  return new Response(JSON.stringify({ error: error.code, message: error.message }), {
    status: errorAnswer(error.code).status,
    headers: errorHeaders(error.code, challenge, algorithms),
  });
}

/** The 425 form of "retry with this challenge", for clients that speak it. */
export function newDeviceChallengeBody(challenge: ChallengeJSON): NewDeviceChallengeRequiredJSON {
  return {
    errorType: NEW_DEVICE_CHALLENGE_REQUIRED,
    deviceChallenge: challenge.challenge,
    expiresAt: challenge.expiresAt,
  };
}

export function newDeviceChallengeResponse(challenge: ChallengeJSON): Response {
  return new Response(JSON.stringify(newDeviceChallengeBody(challenge)), {
    status: NEW_DEVICE_CHALLENGE_STATUS,
    headers: {
      "Content-Type": "application/json",
      "Cache-Control": "no-store",
      ...challengeHeaders(challenge),
    },
  });
}

/** Returns `response` with a `DPoP-Nonce` header (copying it when its headers are immutable). */
export function withChallenge(response: Response, challenge: ChallengeJSON): Response {
  const headers = challengeHeaders(challenge);
  try {
    for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    for (const [name, value] of Object.entries(headers)) copy.headers.set(name, value);
    return copy;
  }
}
