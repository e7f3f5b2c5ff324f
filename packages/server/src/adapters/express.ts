// @devicebound/server/express: Express middleware, also for Node's own http server
// (anything with an IncomingMessage and a ServerResponse).
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { isDeviceBindingError } from "@devicebound/wire";
import type { ChallengeContext } from "../challenge.js";
import type { DeviceBinding } from "../device-binding.js";
import type { Device } from "../device-store.js";
import { challengeHeaders } from "../http.js";
import type { VerifyRequestOptions } from "../verify-proof.js";
import {
  type AdapterOptions,
  checkGuardOptions,
  clientAddress,
  errorParts,
  type GuardOptions,
  type GuardResult,
  guard,
  type PlainRequest,
  requirePublicOrigin,
  responseParts,
  type SessionLookup,
  trustedHops,
  verifyPlain,
} from "./guard.js";

export type * from "./types.js";

declare global {
  // Express's own extension point: `req.devicebound` is typed in every Express app that imports
  // this adapter, without casts.
  namespace Express {
    interface Request {
      /**
       * What `requireDevice` found: `{ sessionStatus, proof, device, session,
       * newDeviceDetected }`. Set on the routes it guards; absent on every other route.
       */
      devicebound: GuardResult;
    }
  }
}

type NodeRequest = IncomingMessage & { originalUrl?: string; devicebound?: GuardResult };
type Next = (error?: unknown) => void;

/**
 * Wraps an async route handler so that a rejection reaches Express's error handling (and so
 * `errorHandler()`) on Express 4 too, where it would otherwise be an unhandled rejection that
 * stops the process. Express 5 does this itself; wrapping there changes nothing.
 */
export function handle<R extends IncomingMessage, S extends ServerResponse>(
  fn: (req: R, res: S, next: Next) => unknown,
): (req: R, res: S, next: Next) => void {
  return (req, res, next) => {
    try {
      Promise.resolve(fn(req, res, next)).catch(next);
    } catch (error) {
      next(error);
    }
  };
}

export function nodeDeviceBinding(binding: DeviceBinding, options: AdapterOptions = {}) {
  requirePublicOrigin(binding, "nodeDeviceBinding");
  const hops = trustedHops(options.trustProxy);
  function context(req: NodeRequest): ChallengeContext {
    const headers: IncomingHttpHeaders = req.headers;
    return {
      ipAddress: clientAddress(req.socket?.remoteAddress, headers["x-forwarded-for"], hops),
      userAgent: headers["user-agent"],
    };
  }
  const plain = (req: NodeRequest): PlainRequest => ({
    method: req.method ?? "GET",
    // Express rewrites req.url inside routers; originalUrl is what the client asked for.
    url: req.originalUrl ?? req.url ?? "/",
    headers: req.headers,
    context: context(req),
  });

  async function sendError(req: NodeRequest, res: ServerResponse, error: unknown): Promise<void> {
    send(res, await errorParts(binding, error, context(req)));
  }

  function send(res: ServerResponse, parts: Awaited<ReturnType<typeof responseParts>>): void {
    if (res.headersSent) return;
    res.writeHead(parts.status, parts.headers);
    res.end(parts.body);
  }

  /** A route handler answering with `respond`'s Fetch Response; failures go to `next`. */
  function fetchRoute(
    respond: (request: PlainRequest, context: ChallengeContext) => Promise<Response>,
  ) {
    return async (req: NodeRequest, res: ServerResponse, next?: Next) => {
      try {
        send(res, await responseParts(await respond(plain(req), context(req))));
      } catch (error) {
        if (next) next(error);
        else await sendError(req, res, error);
      }
    };
  }

  return {
    /** The IP address and User-Agent that challenges are bound to. */
    context,
    /** Verifies the request's DPoP proof (rejects with a DeviceBindingError). */
    verify: (req: NodeRequest, verifyOptions?: VerifyRequestOptions) =>
      verifyPlain(binding, plain(req), verifyOptions),
    /** Answers with the right status, WWW-Authenticate and DPoP-Nonce for `error`. */
    sendError,
    /** Puts a fresh challenge in the DPoP-Nonce header of the response being built. */
    async addNonce(req: NodeRequest, res: ServerResponse): Promise<void> {
      for (const [name, value] of Object.entries(
        challengeHeaders(await binding.createChallenge(context(req))),
      )) {
        res.setHeader(name, value);
      }
    },
    /** A handler for the challenge route: JSON `{ challenge, expiresAt }`, never cached. */
    challengeHandler() {
      return async (req: NodeRequest, res: ServerResponse, next?: Next) => {
        try {
          const challenge = await binding.createChallenge(context(req));
          res.writeHead(200, {
            "Content-Type": "application/json",
            "Cache-Control": "no-store",
            ...challengeHeaders(challenge),
          });
          res.end(JSON.stringify(challenge));
        } catch (error) {
          if (next) next(error);
          else await sendError(req, res, error);
        }
      };
    },
    handle,
    /**
     * At sign-in: offers a DBSC session for `device` (sets the registration headers on `res`)
     * and resolves its id, for the app's session (`dbscSessionId`).
     */
    async startDbsc(
      req: NodeRequest,
      res: ServerResponse,
      input: { userId: string; device: Device },
    ): Promise<string | null> {
      const started = await binding.dbsc.startSession(input, context(req));
      for (const [name, value] of Object.entries(started.headers)) res.setHeader(name, value);
      return started.sessionId;
    },
    /** The DBSC registration route: `app.post(binding.dbsc.registrationPath, glue.dbscRegistration())`. */
    dbscRegistration() {
      return fetchRoute((request, ctx) => binding.dbsc.handleRegistration(request, ctx));
    },
    /** The DBSC refresh route: `app.post(binding.dbsc.refreshPath, glue.dbscRefresh())`. */
    dbscRefresh() {
      return fetchRoute((request, ctx) => binding.dbsc.handleRefresh(request, ctx));
    },
    /**
     * Express error middleware (four arguments): answers a `DeviceBindingError` with its status,
     * `WWW-Authenticate` and a fresh `DPoP-Nonce` (so the browser's one automatic retry fires)
     * and passes anything else on. Install it after your routes: `app.use(glue.errorHandler())`.
     */
    errorHandler() {
      return (error: unknown, req: NodeRequest, res: ServerResponse, next: Next) => {
        if (!isDeviceBindingError(error) || res.headersSent) {
          next(error);
          return;
        }
        sendError(req, res, error).catch(next);
      };
    },
    /**
     * Middleware for API routes: the proof must come from the key bound to the session, still
     * registered and not blocked. Sets `req.devicebound = { sessionStatus, proof, device,
     * session, newDeviceDetected, tier }`. `options` bind sessions that have no device yet (SSO) and
     * let legacy sessions through during a rollout.
     */
    requireDevice<R extends NodeRequest = NodeRequest>(
      getSession: SessionLookup<R>,
      options?: GuardOptions<R>,
    ) {
      const checked = checkGuardOptions(options);
      return async (req: R, res: ServerResponse, next: Next) => {
        try {
          req.devicebound = await guard(binding, plain(req), await getSession(req), req, checked);
        } catch (error) {
          await sendError(req, res, error);
          return;
        }
        next();
      };
    },
  };
}
