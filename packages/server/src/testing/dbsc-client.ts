// A software DBSC client written from the W3C spec (and Chromium 156's observed shapes): reads
// the registration header, registers a key, keeps the bound cookie and refreshes it through the
// 403 challenge step, so DBSC servers can be tested without a browser.
import { base64urlEncode, utf8 } from "@devicebound/wire";

/** Which header names the client sends: the current `Secure-Session-*` or the older `Sec-Session-*`. */
export type DbscHeaderGeneration = "current" | "legacy";

export interface TestDbscClientOptions {
  alg?: "ES256" | "RS256";
  generation?: DbscHeaderGeneration;
  /** `header-jwk` (Chromium 156) or `claim-key` (earlier drafts: the key in the `key` claim). */
  shape?: "header-jwk" | "claim-key";
}

export interface TestDbscRegistration {
  algorithms: string[];
  path: string;
  challenge: string;
}

export interface TestDbscClient {
  readonly alg: "ES256" | "RS256";
  readonly jwk: JsonWebKey;
  /** The session id from the last configuration, or null. */
  sessionId: string | null;
  /** The session configuration JSON last received. */
  config: Record<string, unknown> | null;
  /** `name=value` of the bound cookie, or null. */
  cookie: string | null;
  /** The raw Set-Cookie of the bound cookie last received. */
  setCookie: string | null;
  /** The challenge cached from a `Secure-Session-Challenge` header. */
  cachedChallenge: string | null;
  /** Signs a DBSC JWT with this client's key (for hostile tests); `jwk` goes in the header when asked. */
  sign(claims: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
  /** Registers from a sign-in response's headers; resolves the registration endpoint's answer. */
  register(send: Send, signIn: Headers, origin: string): Promise<Response>;
  /** One refresh as a browser does it: with the cached challenge if any, else through the 403. */
  refresh(send: Send, origin: string): Promise<Response>;
  /** Builds (without sending) a refresh request: the session id, and a signed JWT for `challenge`. */
  refreshRequest(origin: string, challenge?: string): Promise<Request>;
  /** Reads a registration or refresh answer as a browser would (cookie, config, challenge). */
  absorb(response: Response): Promise<void>;
}

export type Send = (request: Request) => Promise<Response>;

const encodeJson = (value: unknown) => base64urlEncode(utf8(JSON.stringify(value)));

/** Parses `(ES256 RS256);path="...";challenge="..."` (the parts a DBSC server sends). */
export function parseRegistrationHeader(value: string): TestDbscRegistration | null {
  const match = /^\(([A-Za-z0-9 ]*)\)((?:;[a-z_]+="[^"\\]*")*)$/.exec(value.trim());
  if (!match) return null;
  const params = Object.fromEntries(
    [...(match[2] as string).matchAll(/;([a-z_]+)="([^"\\]*)"/g)].map((m) => [m[1], m[2]]),
  );
  if (typeof params.path !== "string" || typeof params.challenge !== "string") return null;
  return {
    algorithms: (match[1] as string).split(" ").filter(Boolean),
    path: params.path,
    challenge: params.challenge,
  };
}

export async function createTestDbscClient(
  options: TestDbscClientOptions = {},
): Promise<TestDbscClient> {
  const alg = options.alg ?? "ES256";
  const generation = options.generation ?? "current";
  const shape = options.shape ?? "header-jwk";
  const subtle = globalThis.crypto.subtle;
  const params =
    alg === "ES256"
      ? { name: "ECDSA", namedCurve: "P-256" }
      : {
          name: "RSASSA-PKCS1-v1_5",
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: "SHA-256",
        };
  const pair = (await subtle.generateKey(params, true, ["sign", "verify"])) as CryptoKeyPair;
  const exported = await subtle.exportKey("jwk", pair.publicKey);
  const jwk: JsonWebKey =
    alg === "ES256"
      ? { kty: "EC", crv: "P-256", x: exported.x as string, y: exported.y as string }
      : { kty: "RSA", n: exported.n as string, e: exported.e as string };
  const signParams = alg === "ES256" ? { name: "ECDSA", hash: "SHA-256" } : params;
  const names =
    generation === "current"
      ? {
          response: "Secure-Session-Response",
          id: "Sec-Secure-Session-Id",
          challenge: "Secure-Session-Challenge",
          registration: "Secure-Session-Registration",
        }
      : {
          response: "Sec-Session-Response",
          id: "Sec-Session-Id",
          challenge: "Sec-Session-Challenge",
          registration: "Sec-Session-Registration",
        };

  const client: TestDbscClient = {
    alg,
    jwk,
    sessionId: null,
    config: null,
    cookie: null,
    setCookie: null,
    cachedChallenge: null,

    async sign(claims, header = {}) {
      const input = `${encodeJson({ alg, typ: "dbsc+jwt", ...header })}.${encodeJson(claims)}`;
      const signature = new Uint8Array(await subtle.sign(signParams, pair.privateKey, utf8(input)));
      return `${input}.${base64urlEncode(signature)}`;
    },

    async absorb(response) {
      const setCookie = response.headers.getSetCookie()[0];
      if (setCookie) {
        client.setCookie = setCookie;
        const pairText = setCookie.split(";")[0] as string;
        client.cookie = /Max-Age=0(;|$)/.test(setCookie) ? null : pairText;
      }
      const challenge = response.headers.get(names.challenge);
      const cached = challenge ? /^"([^"]*)";id="([^"]*)"$/.exec(challenge) : null;
      if (cached) client.cachedChallenge = cached[1] as string;
      if (response.status === 200 && response.headers.get("content-type")?.includes("json")) {
        const config = (await response.clone().json()) as Record<string, unknown>;
        client.config = config;
        if (config.continue === false) {
          client.sessionId = null;
          client.cookie = null;
        } else client.sessionId = config.session_identifier as string;
      }
    },

    async register(send, signIn, origin) {
      const header = signIn.get(names.registration);
      const registration = header ? parseRegistrationHeader(header) : null;
      if (!registration) throw new Error(`no usable ${names.registration} header`);
      if (!registration.algorithms.includes(alg)) throw new Error(`${alg} is not offered`);
      const token =
        shape === "header-jwk"
          ? await client.sign({ jti: registration.challenge }, { jwk })
          : await client.sign({
              jti: registration.challenge,
              aud: new URL(registration.path, origin).href,
              iat: Math.floor(Date.now() / 1000),
              key: jwk,
            });
      const response = await send(
        new Request(new URL(registration.path, origin), {
          method: "POST",
          headers: { [names.response]: generation === "current" ? `"${token}"` : token },
        }),
      );
      await client.absorb(response);
      return response;
    },

    async refreshRequest(origin, challenge) {
      if (!client.sessionId || !client.config) throw new Error("no session to refresh");
      const headers: Record<string, string> = { [names.id]: client.sessionId };
      if (challenge !== undefined) headers[names.response] = await client.sign({ jti: challenge });
      if (client.cookie) headers.Cookie = client.cookie;
      return new Request(new URL(client.config.refresh_url as string, origin), {
        method: "POST",
        headers,
      });
    },

    async refresh(send, origin) {
      const cached = client.cachedChallenge ?? undefined;
      client.cachedChallenge = null;
      let response = await send(await client.refreshRequest(origin, cached));
      if (response.status === 403) {
        await client.absorb(response);
        const challenge = client.cachedChallenge;
        client.cachedChallenge = null;
        if (challenge === null) return response;
        response = await send(await client.refreshRequest(origin, challenge));
      }
      await client.absorb(response);
      return response;
    },
  };
  return client;
}
