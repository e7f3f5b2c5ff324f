// @devicebound/server/fastify: preHandler hooks and replies for Fastify.
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

/** The parts of a Fastify request and reply used here (structural, so Fastify stays optional). */
export interface FastifyRequestLike {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** Fastify's client address, which honours Fastify's own `trustProxy` setting. */
  ip: string;
  socket?: { remoteAddress?: string | undefined };
  devicebound?: GuardResult;
}
export interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  headers(values: Record<string, string | string[]>): FastifyReplyLike;
  send(body?: unknown): unknown;
}

/**
 * Without `trustProxy`, the client address is Fastify's `request.ip`, so configure proxies once,
 * in Fastify (`Fastify({ trustProxy })`). With `trustProxy` here, it is read the same way as in
 * the other adapters, from the socket and `X-Forwarded-For`.
 */
export function fastifyDeviceBinding(binding: DeviceBinding, options: AdapterOptions = {}) {
  requirePublicOrigin(binding, "fastifyDeviceBinding");
  const hops = options.trustProxy === undefined ? null : trustedHops(options.trustProxy);
  function context(request: FastifyRequestLike): ChallengeContext {
    const ua = request.headers["user-agent"];
    return {
      ipAddress:
        hops === null
          ? request.ip
          : clientAddress(request.socket?.remoteAddress, request.headers["x-forwarded-for"], hops),
      userAgent: Array.isArray(ua) ? ua[0] : ua,
    };
  }
  const plain = (request: FastifyRequestLike): PlainRequest => ({
    method: request.method,
    url: request.url,
    headers: request.headers,
    context: context(request),
  });

  async function sendError(request: FastifyRequestLike, reply: FastifyReplyLike, error: unknown) {
    const { status, headers, body } = await errorParts(binding, error, context(request));
    return reply.code(status).headers(headers).send(body);
  }

  return {
    context,
    verify: (request: FastifyRequestLike, verifyOptions?: VerifyRequestOptions) =>
      verifyPlain(binding, plain(request), verifyOptions),
    sendError,
    async addNonce(request: FastifyRequestLike, reply: FastifyReplyLike) {
      reply.headers(challengeHeaders(await binding.createChallenge(context(request))));
    },
    challengeHandler() {
      return async (request: FastifyRequestLike, reply: FastifyReplyLike) => {
        const challenge = await binding.createChallenge(context(request));
        return reply
          .headers({ "Cache-Control": "no-store", ...challengeHeaders(challenge) })
          .send(challenge);
      };
    },
    /**
     * At sign-in: offers a DBSC session for `device` (registration headers on `reply`) and
     * resolves its id, for the app's session (`dbscSessionId`).
     */
    async startDbsc(
      request: FastifyRequestLike,
      reply: FastifyReplyLike,
      input: { userId: string; device: Device },
    ): Promise<string | null> {
      const started = await binding.dbsc.startSession(input, context(request));
      reply.headers(started.headers);
      return started.sessionId;
    },
    /** The DBSC registration route: `fastify.post(binding.dbsc.registrationPath, glue.dbscRegistration())`. */
    dbscRegistration() {
      return async (request: FastifyRequestLike, reply: FastifyReplyLike) => {
        const { status, headers, body } = await responseParts(
          await binding.dbsc.handleRegistration(plain(request), context(request)),
        );
        return reply.code(status).headers(headers).send(body);
      };
    },
    /** The DBSC refresh route: `fastify.post(binding.dbsc.refreshPath, glue.dbscRefresh())`. */
    dbscRefresh() {
      return async (request: FastifyRequestLike, reply: FastifyReplyLike) => {
        const { status, headers, body } = await responseParts(
          await binding.dbsc.handleRefresh(plain(request), context(request)),
        );
        return reply.code(status).headers(headers).send(body);
      };
    },
    /**
     * A preHandler hook; sets `request.devicebound = { sessionStatus, proof, device, session,
     * newDeviceDetected, tier }`. `options` as for the Express adapter.
     */
    requireDevice(
      getSession: SessionLookup<FastifyRequestLike>,
      options?: GuardOptions<FastifyRequestLike>,
    ) {
      const checked = checkGuardOptions(options);
      return async (request: FastifyRequestLike, reply: FastifyReplyLike) => {
        try {
          request.devicebound = await guard(
            binding,
            plain(request),
            await getSession(request),
            request,
            checked,
          );
        } catch (error) {
          return sendError(request, reply, error);
        }
      };
    },
  };
}
