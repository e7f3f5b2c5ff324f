// The glue for every adapter whose requests wrap a Fetch `Request` (plain Fetch handlers, Hono's
// context): `Req` is what the app's callbacks receive, `toRequest` finds the Request inside it.
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

export interface WebAdapterOptions<Req> extends AdapterOptions {
  /**
   * The client IP, which a Fetch `Request` does not carry (e.g. from Hono's `getConnInfo` or a
   * platform header). `false` says, on purpose, that challenges are not bound to an IP address.
   * One of `getIpAddress` and `trustProxy` is required.
   */
  getIpAddress?: ((request: Req) => string | undefined) | false;
}

/** The guard's answer: the result, or the `Response` to send instead. */
export type GuardAnswer<R> = ({ ok: true } & R) | { ok: false; response: Response };

/**
 * The API guard: resolves `{ ok: true, sessionStatus, proof, device, session,
 * newDeviceDetected }`, or `{ ok: false, response }` with the answer to send. `options` bind
 * sessions that have no device yet and run a rollout (see `GuardOptions`); only a rollout can
 * let a session through unbound, so without one `device` and `proof` are never `null`.
 */
export interface WebGuard<Req> {
  (
    request: Req,
    getSession: SessionLookup<Req>,
    options?: GuardOptions<Req> & { rollout?: undefined },
  ): Promise<GuardAnswer<BoundGuardResult>>;
  (
    request: Req,
    getSession: SessionLookup<Req>,
    options?: GuardOptions<Req>,
  ): Promise<GuardAnswer<GuardResult>>;
}

export function webDeviceBinding<Req>(
  binding: DeviceBinding,
  options: WebAdapterOptions<Req>,
  toRequest: (request: Req) => Request,
  adapter: string,
) {
  const { getIpAddress } = options;
  const hops = trustedHops(options.trustProxy);
  // Silently issuing challenges without IP binding would weaken them unseen: make it a choice.
  if (getIpAddress === undefined && hops === 0) {
    throw new TypeError(
      `${adapter} cannot see the client's IP address: pass getIpAddress, ` +
        "trustProxy (behind proxies you run), or getIpAddress: false to bind challenges to no IP",
    );
  }
  if (getIpAddress !== undefined && getIpAddress !== false && typeof getIpAddress !== "function") {
    throw new TypeError("getIpAddress must be a function or false");
  }
  function context(request: Req): ChallengeContext {
    const { headers } = toRequest(request);
    const peer = getIpAddress ? getIpAddress(request) : undefined;
    return {
      ipAddress: clientAddress(peer, headers.get("x-forwarded-for"), hops),
      userAgent: headers.get("user-agent") ?? undefined,
    };
  }
  const plain = (request: Req): PlainRequest => {
    const { method, url, headers } = toRequest(request);
    return { method, url, headers, context: context(request) };
  };

  async function requireDevice(
    request: Req,
    getSession: SessionLookup<Req>,
    guardOptions?: GuardOptions<Req>,
  ): Promise<GuardAnswer<GuardResult>> {
    const checked = checkGuardOptions(guardOptions);
    try {
      const session = await getSession(request);
      return { ok: true, ...(await guard(binding, plain(request), session, request, checked)) };
    } catch (error) {
      return { ok: false, response: await binding.errorResponse(error, context(request)) };
    }
  }

  return {
    /** The IP address and User-Agent that challenges are bound to. */
    context,
    /** Verifies the request's DPoP proof (rejects with a DeviceBindingError). */
    verify: (request: Req, verifyOptions?: VerifyRequestOptions) =>
      verifyPlain(binding, plain(request), verifyOptions),
    /** A Response for `error`: status, WWW-Authenticate and, when useful, a fresh DPoP-Nonce. */
    errorResponse: (request: Req, error: unknown) => binding.errorResponse(error, context(request)),
    /** `response` with a fresh challenge in its DPoP-Nonce header. */
    async withNonce(request: Req, response: Response): Promise<Response> {
      return withChallenge(response, await binding.createChallenge(context(request)));
    },
    /** The challenge route: JSON `{ challenge, expiresAt }`, never cached. */
    async challengeResponse(request: Req): Promise<Response> {
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
    startDbsc(request: Req, input: { userId: string; device: Device }) {
      return binding.dbsc.startSession(input, context(request));
    },
    /** The DBSC registration route (POST `binding.dbsc.registrationPath`). */
    dbscRegistration: (request: Req) =>
      binding.dbsc.handleRegistration(plain(request), context(request)),
    /** The DBSC refresh route (POST `binding.dbsc.refreshPath`). */
    dbscRefresh: (request: Req) => binding.dbsc.handleRefresh(plain(request), context(request)),
    requireDevice: requireDevice as WebGuard<Req>,
  };
}
