// @devicebound/server/fetch: for Web-standard Request handlers (Hono, Next.js route handlers,
// Remix, workers, Deno, Bun).
import type { ChallengeContext } from "../challenge.js";
import type { DeviceBinding } from "../device-binding.js";
import type { Device } from "../device-store.js";
import { challengeHeaders, withChallenge } from "../http.js";
import type { VerifyRequestOptions } from "../verify-proof.js";
import {
  type AdapterOptions,
  type BoundGuardResult,
  checkGuardOptions,
  clientAddress,
  type GuardOptions,
  type GuardResult,
  guard,
  type PlainRequest,
  type SessionLookup,
  trustedHops,
  verifyPlain,
} from "./guard.js";

export type {
  AdapterOptions,
  BoundGuardResult,
  DeviceSession,
  GuardOptions,
  GuardResult,
  SessionLookup,
  SessionStatus,
  UnboundGuardResult,
} from "./guard.js";

/** The Fetch guard's answer: the result, or the `Response` to send. */
export type FetchGuardAnswer<R> = ({ ok: true } & R) | { ok: false; response: Response };

/**
 * The API guard: resolves `{ ok: true, sessionStatus, proof, device, session,
 * newDeviceDetected, tier }`, or `{ ok: false, response }` with the answer to send. `options` bind
 * sessions that have no device yet and run a rollout (see `GuardOptions`); only a rollout can
 * let a session through unbound, so without one `device` and `proof` are never `null`.
 */
export interface FetchGuard {
  (
    request: Request,
    getSession: SessionLookup<Request>,
    options?: GuardOptions<Request> & { rollout?: undefined },
  ): Promise<FetchGuardAnswer<BoundGuardResult>>;
  (
    request: Request,
    getSession: SessionLookup<Request>,
    options?: GuardOptions<Request>,
  ): Promise<FetchGuardAnswer<GuardResult>>;
}

export interface FetchAdapterOptions extends AdapterOptions {
  /**
   * The client IP, which a Fetch `Request` does not carry (e.g. from Hono's `getConnInfo` or a
   * platform header). `false` says, on purpose, that challenges are not bound to an IP address.
   * One of `getIpAddress` and `trustProxy` is required.
   */
  getIpAddress?: ((request: Request) => string | undefined) | false;
}

export function fetchDeviceBinding(binding: DeviceBinding, options: FetchAdapterOptions = {}) {
  const { getIpAddress } = options;
  const hops = trustedHops(options.trustProxy);
  // Silently issuing challenges without IP binding would weaken them unseen: make it a choice.
  if (getIpAddress === undefined && hops === 0) {
    throw new TypeError(
      "fetchDeviceBinding cannot see the client's IP address: pass getIpAddress, " +
        "trustProxy (behind proxies you run), or getIpAddress: false to bind challenges to no IP",
    );
  }
  if (getIpAddress !== undefined && getIpAddress !== false && typeof getIpAddress !== "function") {
    throw new TypeError("getIpAddress must be a function or false");
  }
  function context(request: Request): ChallengeContext {
    const peer = getIpAddress ? getIpAddress(request) : undefined;
    return {
      ipAddress: clientAddress(peer, request.headers.get("x-forwarded-for"), hops),
      userAgent: request.headers.get("user-agent") ?? undefined,
    };
  }
  const plain = (request: Request): PlainRequest => ({
    method: request.method,
    url: request.url,
    headers: request.headers,
    context: context(request),
  });

  async function requireDevice(
    request: Request,
    getSession: SessionLookup<Request>,
    options?: GuardOptions<Request>,
  ): Promise<FetchGuardAnswer<GuardResult>> {
    const checked = checkGuardOptions(options);
    try {
      const session = await getSession(request);
      return { ok: true, ...(await guard(binding, plain(request), session, request, checked)) };
    } catch (error) {
      return { ok: false, response: await binding.errorResponse(error, context(request)) };
    }
  }

  return {
    context,
    verify: (request: Request, verifyOptions?: VerifyRequestOptions) =>
      verifyPlain(binding, plain(request), verifyOptions),
    /** A Response for `error`: status, WWW-Authenticate and, when useful, a fresh DPoP-Nonce. */
    errorResponse: (request: Request, error: unknown) =>
      binding.errorResponse(error, context(request)),
    /** `response` with a fresh challenge in its DPoP-Nonce header. */
    async withNonce(request: Request, response: Response): Promise<Response> {
      return withChallenge(response, await binding.createChallenge(context(request)));
    },
    /** The challenge route: JSON `{ challenge, expiresAt }`, never cached. */
    async challengeResponse(request: Request): Promise<Response> {
      const challenge = await binding.createChallenge(context(request));
      return new Response(JSON.stringify(challenge), {
        headers: {
          "Content-Type": "application/json",
          "Cache-Control": "no-store",
          ...challengeHeaders(challenge),
        },
      });
    },
    /**
     * At sign-in: offers a DBSC session for `device`. Resolves its id (for the app's session,
     * `dbscSessionId`) and the registration headers to add to the sign-in response.
     */
    startDbsc(request: Request, input: { userId: string; device: Device }) {
      return binding.dbsc.startSession(input, context(request));
    },
    /** The DBSC registration route (POST `binding.dbsc.registrationPath`). */
    dbscRegistration: (request: Request) =>
      binding.dbsc.handleRegistration(request, context(request)),
    /** The DBSC refresh route (POST `binding.dbsc.refreshPath`). */
    dbscRefresh: (request: Request) => binding.dbsc.handleRefresh(request, context(request)),
    requireDevice: requireDevice as FetchGuard,
  };
}
