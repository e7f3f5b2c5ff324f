// A software device for tests: a key pair that signs DPoP proofs and action tokens the way a
// browser does, so apps can test their routes (and we can test the verifiers) without a browser.
import {
  ACTION_DEFAULT_LIFETIME_SECONDS,
  ACTION_JWT_TYP,
  base64urlEncode,
  DPOP_JWT_TYP,
  utf8,
} from "@devicebound/wire";

export interface TestProofInput {
  method: string;
  url: string;
  nonce?: string;
  accessToken?: string;
  /** Seconds; default now. */
  iat?: number;
  jti?: string;
  /** Extra or replacement claims (set one to `undefined` to drop it). */
  claims?: Record<string, unknown>;
  /** Extra or replacement JOSE header members (set one to `undefined` to drop it). */
  header?: Record<string, unknown>;
}

export interface TestActionInput {
  /** The action name (`act`). */
  action: string;
  /** The server challenge (`nonce`). */
  nonce: string;
  /** Signed as `dig`, the base64url SHA-256 of its bytes (UTF-8 for a string). */
  data?: string | Uint8Array | undefined;
  /** Seconds; default now. */
  iat?: number;
  /** Seconds after iat; default 120. */
  expiresIn?: number;
  jti?: string;
  /** Extra or replacement claims (set one to `undefined` to drop it). */
  claims?: Record<string, unknown>;
  /** Extra or replacement JOSE header members (set one to `undefined` to drop it). */
  header?: Record<string, unknown>;
}

export interface TestDevice {
  alg: "ES256" | "EdDSA";
  /** The public JWK (kty, crv, x[, y]). */
  jwk: Record<string, string>;
  /** RFC 7638 thumbprint. */
  jkt: string;
  /** Signs a proof for a request. */
  proof(input: TestProofInput): Promise<string>;
  /** Signs an action token (`typ` `device-action+jwt`). */
  action(input: TestActionInput): Promise<string>;
  /** Signs `header.payload` given as base64url segments (for hostile tests). */
  signSegments(headerB64: string, payloadB64: string): Promise<string>;
}

const encodeJson = (value: unknown) => base64urlEncode(utf8(JSON.stringify(value)));

export async function createTestDevice(alg: "ES256" | "EdDSA" = "ES256"): Promise<TestDevice> {
  const subtle = globalThis.crypto.subtle;
  const params = alg === "ES256" ? { name: "ECDSA", namedCurve: "P-256" } : { name: "Ed25519" };
  const pair = (await subtle.generateKey(params, true, ["sign", "verify"])) as CryptoKeyPair;
  const exported = await subtle.exportKey("jwk", pair.publicKey);
  const jwk: Record<string, string> =
    alg === "ES256"
      ? { kty: "EC", crv: "P-256", x: exported.x as string, y: exported.y as string }
      : { kty: "OKP", crv: "Ed25519", x: exported.x as string };
  const canonical =
    alg === "ES256"
      ? `{"crv":"P-256","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`
      : `{"crv":"Ed25519","kty":"OKP","x":"${jwk.x}"}`;
  const jkt = base64urlEncode(new Uint8Array(await subtle.digest("SHA-256", utf8(canonical))));
  const signParams = alg === "ES256" ? { name: "ECDSA", hash: "SHA-256" } : { name: "Ed25519" };

  async function signSegments(headerB64: string, payloadB64: string): Promise<string> {
    const input = `${headerB64}.${payloadB64}`;
    const signature = new Uint8Array(await subtle.sign(signParams, pair.privateKey, utf8(input)));
    return `${input}.${base64urlEncode(signature)}`;
  }

  const randomJti = () => base64urlEncode(globalThis.crypto.getRandomValues(new Uint8Array(16)));
  const sha256 = async (bytes: Uint8Array<ArrayBuffer>) =>
    base64urlEncode(new Uint8Array(await subtle.digest("SHA-256", bytes)));

  return {
    alg,
    jwk,
    jkt,
    signSegments,
    async action(input) {
      const header = { typ: ACTION_JWT_TYP, alg, jwk, ...input.header };
      const iat = input.iat ?? Math.floor(Date.now() / 1000);
      const data = typeof input.data === "string" ? utf8(input.data) : input.data;
      const claims: Record<string, unknown> = {
        jti: input.jti ?? randomJti(),
        iat,
        exp: iat + (input.expiresIn ?? ACTION_DEFAULT_LIFETIME_SECONDS),
        nonce: input.nonce,
        act: input.action,
        ...(data === undefined ? {} : { dig: await sha256(Uint8Array.from(data)) }),
        ...input.claims,
      };
      return signSegments(encodeJson(header), encodeJson(claims));
    },
    async proof(input) {
      const header: Record<string, unknown> = { typ: DPOP_JWT_TYP, alg, jwk, ...input.header };
      const url = new URL(input.url);
      const claims: Record<string, unknown> = {
        jti: input.jti ?? randomJti(),
        htm: input.method,
        htu: `${url.origin}${url.pathname}`,
        iat: input.iat ?? Math.floor(Date.now() / 1000),
        ...(input.nonce === undefined ? {} : { nonce: input.nonce }),
        ...(input.accessToken === undefined
          ? {}
          : {
              ath: await sha256(utf8(input.accessToken)),
            }),
        ...input.claims,
      };
      return signSegments(encodeJson(header), encodeJson(claims));
    },
  };
}
