// End to end on the server side: real proofs through verification, registration, the session
// guard and error answers.
import { describe, expect, it } from "vitest";
import { GET, setup } from "./test-fixtures.js";
import { createTestDevice } from "./testing/test-device.js";

describe("createDeviceBinding", () => {
  it("takes a proof from verification to a registered, known, guarded device", async () => {
    const f = await setup();
    const verified = await f.binding.verifyProof(await f.proof(), {
      ...GET,
      userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0",
    });
    const { device, newDeviceDetected } = await f.binding.register("alice", verified);
    expect(newDeviceDetected).toBe(true);
    expect(device.displayName).toBe("Chrome on Linux");
    expect(device.jkt).toBe(f.device.jkt);

    const next = await f.binding.verifyProof(await f.proof(), GET);
    expect((await f.binding.isKnown("alice", next)).status).toBe("active");
    expect((await f.binding.requireDevice("alice", next, device.jkt)).id).toBe(device.id);
  });

  it("refuses a stolen session from another key, a blocked device and a deleted one", async () => {
    const f = await setup();
    const verified = await f.binding.verifyProof(await f.proof(), GET);
    const { device } = await f.binding.register("alice", verified);

    const thief = await createTestDevice();
    const stolen = await f.binding.verifyProof(
      await thief.proof({ ...GET, iat: Math.floor(f.now() / 1000), nonce: await f.challenge() }),
      GET,
    );
    await expect(f.binding.requireDevice("alice", stolen, device.jkt)).rejects.toMatchObject({
      code: "ERR_DEVICE_MISMATCH",
    });
    await expect(f.binding.requireDevice("alice", verified, undefined)).rejects.toMatchObject({
      code: "ERR_DEVICE_MISMATCH",
    });

    await f.binding.block("alice", device.id);
    const blocked = await f.binding.requireDevice("alice", verified, device.jkt).catch((e) => e);
    expect(blocked.code).toBe("ERR_DEVICE_BLOCKED");
    expect((await f.binding.errorResponse(blocked)).status).toBe(403);

    await f.binding.delete("alice", device.id);
    await expect(f.binding.requireDevice("alice", verified, device.jkt)).rejects.toMatchObject({
      code: "ERR_DEVICE_MISMATCH",
    });
  });

  it("uses a separate replay store when given one, and defaults to the store", async () => {
    const consumed: string[] = [];
    const f = await setup({
      replayStore: {
        consume: async (key) => {
          consumed.push(key);
          return true;
        },
      },
    });
    await f.binding.verifyProof(await f.proof(), GET);
    expect(consumed).toHaveLength(1);
  });

  it("answers unexpected errors with a 400 that leaks nothing", async () => {
    const f = await setup();
    const response = await f.binding.errorResponse(new Error("internal detail"));
    expect(response.status).toBe(400);
    expect(await response.text()).not.toContain("internal detail");
  });
});
