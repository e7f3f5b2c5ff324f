// @devicebound/server/fastify: a Fastify plugin. It decorates the instance with the glue
// (`fastify.devicebound`) and every request with its guard result (`request.devicebound`); errors
// carry `statusCode` and `headers`, so Fastify's own error handling answers them.
import { isDeviceBindingError } from "@devicebound/wire";
import type {
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
  RouteHandlerMethod,
} from "fastify";
import fp from "fastify-plugin";
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

declare module "fastify" {
  interface FastifyRequest {
    /**
     * What `requireDevice` found: `{ sessionStatus, proof, device, session, newDeviceDetected }`.
     * Set on the routes it guards; `null` on every other route.
     */
    devicebound: GuardResult;
  }
  interface FastifyInstance {
    /** The device-binding glue, registered by the devicebound plugin. */
    devicebound: FastifyDeviceBinding;
  }
}

/** A `DeviceBindingError` as Fastify's error handling answers it. */
export type FastifyDeviceError = Error & {
  code: string;
  statusCode: number;
  headers: Record<string, string>;
};

/**
 * Without `trustProxy`, the client address is Fastify's `request.ip`, so configure proxies once,
 * in Fastify (`Fastify({ trustProxy })`). With `trustProxy` here, it is read the same way as in
 * the other adapters, from the socket and `X-Forwarded-For`.
 */
export function fastifyDeviceBinding(binding: DeviceBinding, options: AdapterOptions = {}) {
  requirePublicOrigin(binding, "fastifyDeviceBinding");
  const hops = options.trustProxy === undefined ? null : trustedHops(options.trustProxy);
  function context(request: FastifyRequest): ChallengeContext {
    const ua = request.headers["user-agent"];
    return {
      ipAddress:
        hops === null
          ? request.ip
          : clientAddress(request.socket?.remoteAddress, request.headers["x-forwarded-for"], hops),
      userAgent: Array.isArray(ua) ? ua[0] : ua,
    };
  }
  const plain = (request: FastifyRequest): PlainRequest => ({
    method: request.method,
    url: request.url,
    headers: request.headers,
    context: context(request),
  });

  /**
   * `error` with the `statusCode` and headers (`WWW-Authenticate`, a fresh `DPoP-Nonce`) that
   * Fastify's error handler answers with; anything but a DeviceBindingError is left alone.
   */
  async function httpError(request: FastifyRequest, error: unknown): Promise<unknown> {
    if (!isDeviceBindingError(error) || "statusCode" in error) return error;
    const { status, headers } = await errorParts(binding, error, context(request));
    // Fastify serializes the body itself; its content type is Fastify's to choose.
    const { "content-type": _, ...rest } = headers;
    return Object.assign(error, { statusCode: status, headers: rest }) as FastifyDeviceError;
  }
  const rethrow = async <T>(request: FastifyRequest, work: Promise<T>): Promise<T> => {
    try {
      return await work;
    } catch (error) {
      throw await httpError(request, error);
    }
  };

  return {
    /** The IP address and User-Agent that challenges are bound to. */
    context,
    /**
     * Verifies the request's DPoP proof. Rejects with a DeviceBindingError that carries
     * `statusCode` and `headers`, so a route can simply let it propagate.
     */
    verify: (request: FastifyRequest, verifyOptions?: VerifyRequestOptions) =>
      rethrow(request, verifyPlain(binding, plain(request), verifyOptions)),
    /** Gives a DeviceBindingError from your own code the `statusCode` and headers to answer with. */
    httpError,
    /** Puts a fresh challenge in the DPoP-Nonce header of the reply. */
    async addNonce(request: FastifyRequest, reply: FastifyReply): Promise<void> {
      reply.headers(challengeHeaders(await binding.createChallenge(context(request))));
    },
    /** The challenge route's handler: JSON `{ challenge, expiresAt }`, never cached. */
    challengeHandler(): RouteHandlerMethod {
      return async (request, reply) => {
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
      request: FastifyRequest,
      reply: FastifyReply,
      input: { userId: string; device: Device },
    ): Promise<string | null> {
      const started = await rethrow(request, binding.dbsc.startSession(input, context(request)));
      reply.headers(started.headers);
      return started.sessionId;
    },
    /** The DBSC registration route: `fastify.post(binding.dbsc.registrationPath, glue.dbscRegistration())`. */
    dbscRegistration(): RouteHandlerMethod {
      return async (request, reply) => {
        const { status, headers, body } = await responseParts(
          await binding.dbsc.handleRegistration(plain(request), context(request)),
        );
        return reply.code(status).headers(headers).send(body);
      };
    },
    /** The DBSC refresh route: `fastify.post(binding.dbsc.refreshPath, glue.dbscRefresh())`. */
    dbscRefresh(): RouteHandlerMethod {
      return async (request, reply) => {
        const { status, headers, body } = await responseParts(
          await binding.dbsc.handleRefresh(plain(request), context(request)),
        );
        return reply.code(status).headers(headers).send(body);
      };
    },
    /**
     * A `preHandler` for protected routes: sets `request.devicebound`, or throws the error
     * Fastify answers (401/403/503 with `WWW-Authenticate` and `DPoP-Nonce`). `options` bind
     * sessions that have no device yet (SSO) and let legacy sessions through during a rollout.
     */
    requireDevice(
      getSession: SessionLookup<FastifyRequest>,
      guardOptions?: GuardOptions<FastifyRequest>,
    ): preHandlerAsyncHookHandler {
      const checked = checkGuardOptions(guardOptions);
      return async (request) => {
        request.devicebound = await rethrow(
          request,
          (async () =>
            guard(binding, plain(request), await getSession(request), request, checked))(),
        );
      };
    },
  };
}

export type FastifyDeviceBinding = ReturnType<typeof fastifyDeviceBinding>;

export interface DeviceboundPluginOptions extends AdapterOptions {
  binding: DeviceBinding;
}

/**
 * The plugin: `fastify.register(devicebound, { binding })`. It escapes its encapsulation context
 * (fastify-plugin), so `fastify.devicebound`, `request.devicebound` and its error hook apply to
 * the context it is registered in and every context below; the guard itself is a `preHandler` you
 * add where it belongs, on a route or as a hook of an encapsulated plugin with the protected routes.
 */
const plugin: FastifyPluginAsync<DeviceboundPluginOptions> = async (
  fastify,
  { binding, ...options },
) => {
  const glue = fastifyDeviceBinding(binding, options);
  fastify.decorate("devicebound", glue);
  // Null until requireDevice runs; declared non-null because only guarded routes read it.
  fastify.decorateRequest("devicebound", null as never);
  // A DeviceBindingError thrown by any route (binding.register at sign-in, binding.block, ...)
  // gets its status and headers before the error handler, Fastify's or the app's, answers it.
  fastify.addHook("onError", async (request, _reply, error) => {
    await glue.httpError(request, error);
  });
};
export const devicebound = fp(plugin, { name: "@devicebound/server/fastify", fastify: ">=4" });
