import { afterEach, describe, expect, it, vi } from "vitest";
import { browserSupportsDeviceKeys } from "./support.js";

describe("browserSupportsDeviceKeys", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("is false where there is no IndexedDB (a server)", async () => {
    vi.stubGlobal("indexedDB", undefined);
    expect(await browserSupportsDeviceKeys()).toBe(false);
  });

  it("is true with Web Crypto and an IndexedDB factory", async () => {
    vi.stubGlobal("indexedDB", {});
    expect(await browserSupportsDeviceKeys()).toBe(true);
  });

  it("is false when key generation fails", async () => {
    vi.stubGlobal("indexedDB", {});
    vi.stubGlobal("crypto", { subtle: { generateKey: () => Promise.reject(new Error("no")) } });
    expect(await browserSupportsDeviceKeys()).toBe(false);
  });
});
