import { describe, expect, it } from "vitest";
import * as server from "./index.js";

describe("@devicebound/server entry", () => {
  it("exports the shared error class and wire names", () => {
    expect(new server.DeviceBindingError("ERR_PROOF_MISSING", "none").code).toBe(
      "ERR_PROOF_MISSING",
    );
    expect(server.DPOP_HEADER).toBe("DPoP");
    expect(server.DPOP_NONCE_HEADER).toBe("DPoP-Nonce");
  });
});
