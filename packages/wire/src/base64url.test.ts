import { describe, expect, it } from "vitest";
import { base64urlDecode, base64urlEncode } from "./base64url.js";

// Reference: the platform's base64, turned into base64url by hand.
function reference(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

describe("base64url", () => {
  it("encodes like the platform's base64 for every length 0..64", () => {
    for (let len = 0; len <= 64; len++) {
      const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 97 + len * 31) & 0xff);
      const text = base64urlEncode(bytes);
      expect(text).toBe(reference(bytes));
      expect(base64urlDecode(text)).toEqual(bytes);
    }
  });

  it("refuses padding, standard-alphabet characters and whitespace", () => {
    for (const bad of ["AA==", "AAA=", "a+b/", "ab cd", "ab\ncd", "é", "A"]) {
      expect(base64urlDecode(bad)).toBeNull();
    }
  });

  it("refuses non-zero pad bits so one byte string has one spelling", () => {
    expect(base64urlDecode("AA")).toEqual(new Uint8Array([0]));
    expect(base64urlDecode("AB")).toBeNull();
    expect(base64urlDecode("AAB")).toBeNull();
  });
});
