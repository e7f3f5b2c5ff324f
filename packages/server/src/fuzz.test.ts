// Seeded fuzzing: 100k random mutations of valid proofs. Only DeviceBindingErrors may come out,
// and nothing may be accepted.
import {
  base64urlDecode,
  base64urlEncode,
  ERROR_CODES,
  isDeviceBindingError,
} from "@devicebound/wire";
import { describe, expect, it } from "vitest";
import { b64json, decode, GET, setup } from "./test-fixtures.js";

const MUTATIONS = 100_000;
const SEED = 0x5eed1234;

/** mulberry32: a small, fast, seedable PRNG so failures replay exactly. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ,{}"é\u0000';
const VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1e21,
  "",
  "x",
  "none",
  [],
  {},
  [1],
  { a: 1 },
  "GET",
  "https://app.example.com/api/items",
];

describe("fuzz", () => {
  it(`refuses ${MUTATIONS} random mutations of valid proofs with DeviceBindingErrors only`, async () => {
    const f = await setup();
    const valid = await Promise.all(Array.from({ length: 8 }, () => f.proof()));
    const random = prng(SEED);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    const codes = new Map<string, number>();
    const accepted: string[] = [];

    function mutate(proof: string): string {
      const parts = proof.split(".");
      switch (Math.floor(random() * 9)) {
        case 0: {
          const i = Math.floor(random() * proof.length);
          return proof.slice(0, i) + pick([...CHARS]) + proof.slice(i + 1);
        }
        case 1: {
          const i = Math.floor(random() * proof.length);
          return proof.slice(0, i) + proof.slice(i + 1 + Math.floor(random() * 4));
        }
        case 2: {
          const i = Math.floor(random() * proof.length);
          return proof.slice(0, i) + pick([...CHARS]) + proof.slice(i);
        }
        case 3:
          return proof.slice(0, Math.floor(random() * proof.length));
        case 4: {
          const [a, b] = [Math.floor(random() * 3), Math.floor(random() * 3)];
          [parts[a], parts[b]] = [parts[b] as string, parts[a] as string];
          return parts.join(".");
        }
        case 5: {
          // Flip one bit of one decoded segment and re-encode it canonically.
          const seg = Math.floor(random() * 3);
          const bytes = base64urlDecode(parts[seg] as string) as Uint8Array;
          const i = Math.floor(random() * bytes.length);
          bytes[i] = (bytes[i] as number) ^ (1 << Math.floor(random() * 8));
          parts[seg] = base64urlEncode(bytes);
          return parts.join(".");
        }
        case 6: {
          // Change, add or drop one claim, keeping the old signature.
          const d = decode(proof);
          const key = pick([...Object.keys(d.claims), "extra", "nonce", "ath"]);
          const claims = { ...d.claims };
          if (random() < 0.3) delete claims[key];
          else claims[key] = pick(VALUES);
          return `${d.h}.${b64json(claims)}.${d.s}`;
        }
        case 7: {
          // Change, add or drop one header member, keeping the old signature.
          const d = decode(proof);
          const key = pick([...Object.keys(d.header), "crit", "kid", "jku", "x5c", "b64"]);
          const header = { ...d.header };
          if (random() < 0.3) delete header[key];
          else header[key] = pick(VALUES);
          return `${b64json(header)}.${d.p}.${d.s}`;
        }
        default: {
          // Splice segments from two different proofs.
          const other = pick(valid).split(".");
          const seg = Math.floor(random() * 3);
          parts[seg] = other[seg] as string;
          return parts.join(".");
        }
      }
    }

    for (let i = 0; i < MUTATIONS; i++) {
      const original = pick(valid);
      const mutated = mutate(original);
      if (mutated === original) continue;
      try {
        await f.binding.verifyProof(mutated, GET);
        accepted.push(mutated);
      } catch (error) {
        if (!isDeviceBindingError(error) || !ERROR_CODES.includes(error.code)) {
          throw new Error(
            `mutation ${i} threw a non-DeviceBindingError: ${String(error)}\n${mutated}`,
          );
        }
        codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
      }
    }
    expect(accepted).toEqual([]);
    // The mutations reach deep checks, not only the parser.
    for (const code of [
      "ERR_PROOF_MALFORMED",
      "ERR_PROOF_SIGNATURE",
      "ERR_PROOF_TYP",
      "ERR_PROOF_JWK",
    ]) {
      expect(codes.get(code) ?? 0, code).toBeGreaterThan(100);
    }
  }, 120_000);
});
