// Test-only helpers shared by the verifier's test files (not part of any entry point).
import { base64urlDecode, base64urlEncode, utf8 } from "@devicebound/wire";
import type { CryptoBackend } from "./crypto-backend.js";
import { nodeCrypto } from "./crypto-node.js";
import type { DeviceBindingOptions } from "./device-binding.js";
import { createDeviceBinding } from "./index.node.js";
import { memoryStore } from "./memory-store.js";
import { createTestDevice, type TestDevice, type TestProofInput } from "./testing/test-device.js";

export const ORIGIN = "https://app.example.com";
export const API_URL = `${ORIGIN}/api/items`;
export const SECRET = "test-secret-0123456789abcdef-0123456789";
export const START_MS = Date.UTC(2026, 10, 24, 12, 0, 0);

export interface Fixture {
  binding: ReturnType<typeof createDeviceBinding>;
  store: ReturnType<typeof memoryStore>;
  device: TestDevice;
  now(): number;
  advance(ms: number): void;
  /** A fresh valid proof for GET API_URL with a fresh challenge, unless overridden. */
  proof(input?: Partial<TestProofInput>): Promise<string>;
  challenge(context?: { ipAddress?: string; userAgent?: string }): Promise<string>;
}

export async function setup(
  options: Partial<DeviceBindingOptions> = {},
  crypto: CryptoBackend = nodeCrypto(),
  device?: TestDevice,
): Promise<Fixture> {
  let nowMs = START_MS;
  const store = memoryStore({ now: () => nowMs });
  const binding = createDeviceBinding({
    secret: SECRET,
    store,
    publicOrigin: ORIGIN,
    now: () => nowMs,
    crypto,
    ...options,
  });
  const key = device ?? (await createTestDevice());
  const fixture: Fixture = {
    binding,
    store,
    device: key,
    now: () => nowMs,
    advance(ms) {
      nowMs += ms;
    },
    async challenge(context = {}) {
      return (await binding.createChallenge(context)).challenge;
    },
    async proof(input = {}) {
      return key.proof({
        method: "GET",
        url: API_URL,
        iat: Math.floor(nowMs / 1000),
        nonce: input.nonce ?? (await fixture.challenge()),
        ...input,
      });
    },
  };
  return fixture;
}

export const GET = { method: "GET", url: API_URL } as const;

/** Splits a compact JWS into its decoded parts. */
export function decode(proof: string) {
  const [h, p, s] = proof.split(".") as [string, string, string];
  const text = (b64: string) => new TextDecoder().decode(base64urlDecode(b64) as Uint8Array);
  return {
    header: JSON.parse(text(h)) as Record<string, unknown>,
    claims: JSON.parse(text(p)) as Record<string, unknown>,
    h,
    p,
    s,
    signature: base64urlDecode(s) as Uint8Array,
  };
}

export const b64json = (value: unknown) => base64urlEncode(utf8(JSON.stringify(value)));
export const b64text = (text: string) => base64urlEncode(utf8(text));

/** The P-256 group order: s and n - s are both valid ECDSA signatures (malleability). */
export const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

export function highS(signature: Uint8Array): Uint8Array {
  const r = signature.subarray(0, 32);
  const s = BigInt(`0x${Buffer.from(signature.subarray(32)).toString("hex")}`);
  const flipped = Buffer.from((P256_N - s).toString(16).padStart(64, "0"), "hex");
  return Uint8Array.from([...r, ...flipped]);
}
