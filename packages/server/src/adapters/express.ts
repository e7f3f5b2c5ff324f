// @devicebound/server/express: Express middleware, also for Node's own http server
// (anything with an IncomingMessage and a ServerResponse).
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { ChallengeContext } from "../challenge.js";
import type { DeviceBinding } from "../device-binding.js";
import { challengeHeaders } from "../http.js";
import type { VerifyRequestOptions } from "../verify-proof.js";
import {
  type AdapterOptions,
  errorParts,
  firstForwardedFor,
  type GuardResult,
  guard,
  type PlainRequest,
  type SessionLookup,
  verifyPlain,
} from "./guard.js";

export type { AdapterOptions, DeviceSession, GuardResult, SessionLookup } from "./guard.js";

type NodeRequest = IncomingMessage & { originalUrl?: string; devicebound?: GuardResult };
type Next = (error?: unknown) => void;

export function nodeDeviceBinding(binding: DeviceBinding, options: AdapterOptions = {}) {
  function context(req: NodeRequest): ChallengeContext {
    const headers: IncomingHttpHeaders = req.headers;
    return {
      ipAddress:
        (options.trustProxy ? firstForwardedFor(headers["x-forwarded-for"]) : undefined) ??
        req.socket?.remoteAddress,
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
    const { status, headers, body } = await errorParts(binding, error, context(req));
    if (res.headersSent) return;
    res.writeHead(status, headers);
    res.end(body);
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
      return async (req: NodeRequest, res: ServerResponse) => {
        const challenge = await binding.createChallenge(context(req));
        res.writeHead(200, {
          "Content-Type": "application/json",
          "Cache-Control": "no-store",
          ...challengeHeaders(challenge),
        });
        res.end(JSON.stringify(challenge));
      };
    },
    /**
     * Middleware for API routes: the proof must come from the key bound to the session, still
     * registered and not blocked. Sets `req.devicebound = { proof, device, session }`.
     */
    requireDevice<R extends NodeRequest = NodeRequest>(getSession: SessionLookup<R>) {
      return async (req: R, res: ServerResponse, next: Next) => {
        try {
          req.devicebound = await guard(binding, plain(req), await getSession(req));
        } catch (error) {
          await sendError(req, res, error);
          return;
        }
        next();
      };
    },
  };
}
