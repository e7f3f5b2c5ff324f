// The one error class and the one list of error codes, shared by browser and server.

/**
 * Every stable error code. Tests and applications branch on these, never on messages.
 * The package READMEs document each one.
 */
export const ERROR_CODES = [
  // A proof that is absent, duplicated, too large or not a well-formed compact JWS.
  "ERR_PROOF_MISSING",
  "ERR_PROOF_MULTIPLE",
  "ERR_PROOF_TOO_LARGE",
  "ERR_PROOF_MALFORMED",
  // JOSE header problems.
  "ERR_PROOF_TYP",
  "ERR_PROOF_ALG",
  "ERR_PROOF_JWK",
  "ERR_PROOF_CRIT",
  // Signature and claims.
  "ERR_PROOF_SIGNATURE",
  "ERR_PROOF_HTM",
  "ERR_PROOF_HTU",
  "ERR_PROOF_IAT",
  "ERR_PROOF_EXPIRED",
  "ERR_PROOF_JTI",
  "ERR_PROOF_ATH",
  "ERR_PROOF_REPLAYED",
  // Challenges (DPoP nonces).
  "ERR_CHALLENGE_MISSING",
  "ERR_CHALLENGE_INVALID",
  "ERR_CHALLENGE_EXPIRED",
  "ERR_CHALLENGE_BINDING",
  "ERR_CHALLENGE_USED",
  // Action tokens (`device-action+jwt`). Challenge failures in a token use the codes above.
  "ERR_ACTION_MALFORMED",
  "ERR_ACTION_TYP",
  "ERR_ACTION_SIGNATURE",
  "ERR_ACTION_LIFETIME",
  "ERR_ACTION_EXPIRED",
  "ERR_ACTION_NAME",
  "ERR_ACTION_DATA",
  "ERR_ACTION_REPLAYED",
  "ERR_ACTION_DEVICE",
  // Devices and sessions.
  "ERR_DEVICE_NOT_FOUND",
  "ERR_DEVICE_BLOCKED",
  "ERR_DEVICE_LIMIT",
  "ERR_DEVICE_MISMATCH",
  "ERR_INVALID_INPUT",
  // DBSC (Device Bound Session Credentials): a registration or refresh JWT that is refused, a
  // session that had a hardware-bound cookie arriving without it (a theft signal), a bound cookie
  // that is not valid for this session and device, and a route that requires the dbsc tier.
  "ERR_DBSC_INVALID",
  "ERR_DBSC_COOKIE_MISSING",
  "ERR_DBSC_COOKIE_INVALID",
  "ERR_DBSC_REQUIRED",
  // Storage.
  "ERR_STORE_UNAVAILABLE",
  "ERR_STORE_CORRUPT",
  // Browser side.
  "ERR_UNSUPPORTED",
  "ERR_NOT_INITIALIZED",
  "ERR_KEY_STORAGE",
  "ERR_CHALLENGE_FETCH",
  "ERR_BODY_NOT_REPLAYABLE",
] as const;

export type DeviceBindingErrorCode = (typeof ERROR_CODES)[number];

export interface DeviceBindingErrorOptions {
  cause?: unknown;
  /** Structured facts worth logging (for example `{ skewSeconds: 3600 }`). Never secrets. */
  details?: Readonly<Record<string, unknown>>;
}

/** The single error class of devicebound: branch on `code`, log `message` and `details`. */
export class DeviceBindingError extends Error {
  override readonly name = "DeviceBindingError";
  readonly code: DeviceBindingErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: DeviceBindingErrorCode,
    message: string,
    options: DeviceBindingErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }
}

/**
 * True for a `DeviceBindingError` (optionally with one of the given codes). Recognised by name and
 * a known code, never by `instanceof`: the ESM and CommonJS builds, and each bundled entry point,
 * carry their own copy of the class, and an error from one copy must classify the same in another.
 */
export function isDeviceBindingError(
  value: unknown,
  ...codes: DeviceBindingErrorCode[]
): value is DeviceBindingError {
  if (typeof value !== "object" || value === null) return false;
  if ((value as { name?: unknown }).name !== "DeviceBindingError") return false;
  const code = (value as { code?: unknown }).code;
  return (
    typeof code === "string" &&
    (ERROR_CODES as readonly string[]).includes(code) &&
    (codes.length === 0 || codes.includes(code as DeviceBindingErrorCode))
  );
}
