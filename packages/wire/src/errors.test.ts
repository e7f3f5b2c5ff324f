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

describe("isDeviceBindingError across module copies", () => {
  it("recognises an error made by another copy of the class", () => {
    // What a second bundle (CommonJS beside ESM, or another entry point) would construct.
    class DeviceBindingErrorCopy extends Error {
      override readonly name = "DeviceBindingError";
      readonly code = "ERR_DEVICE_MISMATCH";
    }
    const foreign = new DeviceBindingErrorCopy("Not signed in");
    expect(foreign instanceof DeviceBindingError).toBe(false);
    expect(isDeviceBindingError(foreign)).toBe(true);
    expect(isDeviceBindingError(foreign, "ERR_DEVICE_MISMATCH")).toBe(true);
  });

  it("refuses look-alikes with an unknown code", () => {
    const fake = Object.assign(new Error("x"), { name: "DeviceBindingError", code: "ERR_NOPE" });
    expect(isDeviceBindingError(fake)).toBe(false);
  });
});
