import { describe, expect, it } from "vitest";
import { memoryStore } from "./memory-store.js";
import { runStoreConformanceSuite } from "./testing/conformance.js";

runStoreConformanceSuite({
  name: "memory",
  createStore: () => memoryStore(),
  devicesVersion: true,
});

describe("memoryStore", () => {
  it("sweeps expired replay keys so memory does not grow without bound", async () => {
    let now = 1_000_000;
    const store = memoryStore({ now: () => now });
    for (let i = 0; i < 5000; i++) await store.consume(`k${i}`, now + 10);
    now += 1000;
    // The next sweep runs within 1024 consumes; afterwards old keys are gone and reusable.
    for (let i = 0; i < 1100; i++) await store.consume(`fresh${i}`, now + 10);
    expect(await store.consume("k1", now + 10)).toBe(true);
  });
});
