// @devicebound/server/hono: Hono middleware over the Fetch adapter. Imports only Hono's types, so
// it runs wherever Hono does (Node, Bun, Deno, workers) with the Web Crypto backend.
import { isDeviceBindingError } from "@devicebound/wire";
import type { Context, ErrorHandler, Handler, MiddlewareHandler } from "hono";
import type { DeviceBinding } from "../device-binding.js";
import type { Device } from "../device-store.js";
import { challengeHeaders } from "../http.js";
import type { VerifyRequestOptions } from "../verify-proof.js";
import {
  type BoundGuardResult,
  checkGuardOptions,
  type GuardOptions,
  type GuardResult,
  type SessionLookup,
} from "./guard.js";
import { type WebAdapterOptions, webDeviceBinding } from "./web.js";

export type * from "./types.js";

/**
 * `getIpAddress(c)` reads the client address from the context, e.g. `getConnInfo(c).remote.address`
 * (`@hono/node-server/conninfo`, `hono/bun`, `hono/deno`, `hono/cloudflare-workers`).
 */
export type HonoAdapterOptions = WebAdapterOptions<Context>;

/**
 * The variables `requireDevice` sets: `c.get("devicebound")`. Give it to `new Hono<...>()` when
 * the middleware is installed with `app.use`, so routes registered later see the type;
 * `DeviceboundEnv<GuardResult>` where a `rollout` may let a session through without a device.
 */
export interface DeviceboundEnv<R extends GuardResult = BoundGuardResult> {
  Variables: { devicebound: R };
}

/** `requireDevice`: without a `rollout`, `device` and `proof` are never `null`. */
export interface HonoGuard {
  (
    getSession: SessionLookup<Context>,
    options?: GuardOptions<Context> & { rollout?: undefined },
  ): MiddlewareHandler<DeviceboundEnv>;
  (
    getSession: SessionLookup<Context>,
    options?: GuardOptions<Context>,
  ): MiddlewareHandler<DeviceboundEnv<GuardResult>>;
}

export function honoDeviceBinding(binding: DeviceBinding, options: HonoAdapterOptions = {}) {
  const glue = webDeviceBinding(binding, options, (c: Context) => c.req.raw, "honoDeviceBinding");
  return {
    /** The IP address and User-Agent that challenges are bound to. */
    context: glue.context,
    /** Verifies the request's DPoP proof (rejects with a DeviceBindingError for `errorHandler`). */
    verify: (c: Context, verifyOptions?: VerifyRequestOptions) => glue.verify(c, verifyOptions),
    /** A Response for `error`: status, WWW-Authenticate and, when useful, a fresh DPoP-Nonce. */
    errorResponse: glue.errorResponse,
    /** Puts a fresh challenge in the DPoP-Nonce header of the response being built. */
    async addNonce(c: Context): Promise<void> {
      const headers = challengeHeaders(await binding.createChallenge(glue.context(c)));
      for (const [name, value] of Object.entries(headers)) c.header(name, value);
    },
    /** The challenge route: JSON `{ challenge, expiresAt }`, never cached. */
    challengeHandler(): Handler {
      return (c) => glue.challengeResponse(c);
    },
    /**
     * At sign-in: offers a DBSC session for `device` (registration headers on the response being
     * built) and resolves its id, for the app's session (`dbscSessionId`).
     */
    async startDbsc(c: Context, input: { userId: string; device: Device }): Promise<string | null> {
      const started = await glue.startDbsc(c, input);
      for (const [name, value] of Object.entries(started.headers)) c.header(name, value);
      return started.sessionId;
    },
    /** The DBSC registration route: `app.post(binding.dbsc.registrationPath, glue.dbscRegistration())`. */
    dbscRegistration(): Handler {
      return (c) => glue.dbscRegistration(c);
    },
    /** The DBSC refresh route: `app.post(binding.dbsc.refreshPath, glue.dbscRefresh())`. */
    dbscRefresh(): Handler {
      return (c) => glue.dbscRefresh(c);
    },
    /**
     * Middleware for API routes: the proof must come from the key bound to the session, still
     * registered and not blocked. Sets `c.get("devicebound")` to `{ sessionStatus, proof, device,
     * session, newDeviceDetected, tier }` and answers failures itself (401/403/503 with the RFC 9449
     * headers). `options` bind sessions that have no device yet (SSO) and let legacy sessions
     * through during a rollout, as in every adapter.
     */
    requireDevice: ((getSession: SessionLookup<Context>, guardOptions?: GuardOptions<Context>) => {
      // Misuse fails at start-up, not on the first request.
      const options = checkGuardOptions(guardOptions);
      const middleware: MiddlewareHandler<DeviceboundEnv<GuardResult>> = async (c, next) => {
        const result = await glue.requireDevice(c, getSession, options);
        if (!result.ok) return result.response;
        const { ok: _, ...devicebound } = result;
        c.set("devicebound", devicebound);
        await next();
      };
      return middleware;
    }) as HonoGuard,
    /**
     * For `app.onError`: a `DeviceBindingError` thrown by a route (`verify` at sign-in) becomes its
     * 401/403/503 with `WWW-Authenticate` and a fresh `DPoP-Nonce`, so the browser's one retry
     * fires. Anything else goes to `fallback`, or is answered as Hono's default handler does.
     */
    errorHandler(fallback?: ErrorHandler): ErrorHandler {
      return (error, c) => {
        if (isDeviceBindingError(error)) return glue.errorResponse(c, error);
        if (fallback) return fallback(error, c);
        if ("getResponse" in error && typeof error.getResponse === "function") {
          return error.getResponse() as Response;
        }
        console.error(error);
        return c.text("Internal Server Error", 500);
      };
    },
  };
}
