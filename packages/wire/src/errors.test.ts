import { describe, expect, it } from "vitest";
import { DeviceBindingError, ERROR_CODES, isDeviceBindingError } from "./errors.js";

describe("DeviceBindingError", () => {
  it("keeps code, cause and details", () => {
    const cause = new Error("low level");
    const err = new DeviceBindingError("ERR_PROOF_IAT", "clock off by 3600 s", {
      cause,
      details: { skewSeconds: 3600 },
    });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("DeviceBindingError");
    expect(err.code).toBe("ERR_PROOF_IAT");
    expect(err.cause).toBe(cause);
    expect(err.details).toEqual({ skewSeconds: 3600 });
  });

  it("is recognised by code", () => {
    const err = new DeviceBindingError("ERR_PROOF_REPLAYED", "seen before");
    expect(isDeviceBindingError(err)).toBe(true);
    expect(isDeviceBindingError(err, "ERR_PROOF_REPLAYED")).toBe(true);
    expect(isDeviceBindingError(err, "ERR_PROOF_MISSING")).toBe(false);
    expect(isDeviceBindingError(new Error("x"))).toBe(false);
    expect(isDeviceBindingError("ERR_PROOF_REPLAYED")).toBe(false);
  });

  it("has unique codes", () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });
});
