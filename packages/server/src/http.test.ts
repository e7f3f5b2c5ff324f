import { ERROR_CODES } from "@devicebound/wire";
import { describe, expect, it } from "vitest";
import { errorAnswer, errorResponse, newDeviceChallengeResponse, withChallenge } from "./http.js";

const challenge = { challenge: "abc", expiresAt: 1_800_000_000 };

describe("http answers", () => {
  it("maps every code to a status", () => {
    for (const code of ERROR_CODES) expect(errorAnswer(code).status).toBeGreaterThanOrEqual(400);
    expect(errorAnswer("ERR_CHALLENGE_EXPIRED")).toEqual({
      status: 401,
      dpopError: "use_dpop_nonce",
      sendChallenge: true,
    });
    expect(errorAnswer("ERR_PROOF_SIGNATURE")).toEqual({
      status: 401,
      dpopError: "invalid_dpop_proof",
      sendChallenge: true,
    });
    expect(errorAnswer("ERR_DEVICE_BLOCKED").status).toBe(403);
    expect(errorAnswer("ERR_STORE_UNAVAILABLE").status).toBe(503);
  });

  it("builds the use_dpop_nonce 401 with a fresh challenge", async () => {
    const response = errorResponse({ code: "ERR_CHALLENGE_MISSING", message: "none" }, challenge);
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe(
      'DPoP error="use_dpop_nonce", algs="ES256"',
    );
    expect(response.headers.get("DPoP-Nonce")).toBe("abc");
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(await response.json()).toEqual({ error: "ERR_CHALLENGE_MISSING", message: "none" });
  });

  it("answers a missing proof with a 401 that names no error code (RFC 6750 section 3.1)", () => {
    const response = errorResponse({ code: "ERR_PROOF_MISSING", message: "none" }, challenge);
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe('DPoP algs="ES256"');
    expect(response.headers.get("DPoP-Nonce")).toBe("abc");
  });

  it("advertises the configured algorithms, not always ES256", () => {
    const response = errorResponse({ code: "ERR_PROOF_ALG", message: "alg" }, challenge, [
      "ES256",
      "EdDSA",
    ]);
    expect(response.headers.get("WWW-Authenticate")).toBe(
      'DPoP error="invalid_dpop_proof", algs="ES256 EdDSA"',
    );
  });

  it("sends no challenge with a 403", () => {
    const response = errorResponse({ code: "ERR_DEVICE_BLOCKED", message: "blocked" }, challenge);
    expect(response.status).toBe(403);
    expect(response.headers.get("DPoP-Nonce")).toBeNull();
    expect(response.headers.get("WWW-Authenticate")).toBeNull();
  });

  it("builds the 425 NewDeviceChallengeRequired form", async () => {
    const response = newDeviceChallengeResponse(challenge);
    expect(response.status).toBe(425);
    expect(await response.json()).toEqual({
      errorType: "NewDeviceChallengeRequired",
      deviceChallenge: "abc",
      expiresAt: 1_800_000_000,
    });
  });

  it("adds DPoP-Nonce to any response, copying immutable ones", async () => {
    expect(withChallenge(new Response("ok"), challenge).headers.get("DPoP-Nonce")).toBe("abc");
    const immutable = Response.redirect("https://a.example/", 302);
    const copy = withChallenge(immutable, challenge);
    expect(copy.headers.get("DPoP-Nonce")).toBe("abc");
    expect(copy.status).toBe(302);
  });
});
