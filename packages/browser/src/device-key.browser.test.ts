import { describe, expect, it } from "vitest";
import { commands } from "vitest/browser";
import type { DevicePagesResult, VerifiedInNode } from "../test-support/browser-commands.js";
import {
  fetchWithDevice,
  forgetDevice,
  getDeviceThumbprint,
  initFetchWithDevice,
} from "./index.js";
import { loadDeviceKey } from "./key-store.js";

declare module "vitest/browser" {
  interface BrowserCommands {
    verifyProofInNode(proof: string): Promise<VerifiedInNode>;
    openDevicePages(options: {
      count: number;
      reload?: boolean;
      db: string;
    }): Promise<DevicePagesResult>;
  }
}

let n = 0;
function init() {
  const databaseName = `chromium-${Date.now()}-${++n}`;
  const sent: Headers[] = [];
  initFetchWithDevice({
    databaseName,
    fetchChallenge: async () => ({
      challenge: "browser-challenge",
      expiresAt: new Date(Date.now() + 60_000),
    }),
    // The page's own origin is the Vitest server: answer locally and keep what would be sent.
    fetch: async (_input, requestInit) => {
      sent.push(new Headers(requestInit?.headers));
      return new Response("ok");
    },
  });
  return { databaseName, sent };
}

describe("device key in Chromium", () => {
  it("keeps the private key non-extractable in IndexedDB", async () => {
    const { databaseName } = init();
    await getDeviceThumbprint();
    // Read back what IndexedDB holds (the generator must not run: the key exists).
    const stored = await loadDeviceKey(databaseName, crypto.subtle, []);
    expect(stored.status).toBe("restored");
    const privateKey = (stored as unknown as { key: StoredDeviceKey }).key?.keyPair.privateKey;
    expect(privateKey).toBeInstanceOf(CryptoKey);
    expect(privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey("jwk", privateKey)).rejects.toThrow();
    await expect(crypto.subtle.exportKey("pkcs8", privateKey)).rejects.toThrow();
  });

  it("signs a proof in the browser that jose verifies in Node", async () => {
    const { sent } = init();
    await fetchWithDevice("/orders?id=7", { method: "POST", body: "{}" });
    const proof = sent[0]?.get("dpop");
    expect(proof).toBeTypeOf("string");
    const { claims, jkt } = await commands.verifyProofInNode(proof as string);
    expect(claims).toMatchObject({
      htm: "POST",
      htu: `${location.origin}/orders`,
      nonce: "browser-challenge",
    });
    expect(jkt).toBe(await getDeviceThumbprint());
  });

  it("makes a new key after forgetDevice", async () => {
    init();
    const before = await getDeviceThumbprint();
    await forgetDevice();
    expect(await getDeviceThumbprint()).not.toBe(before);
  });

  it("reports a key that vanished from IndexedDB as missing", async () => {
    const { databaseName } = init();
    const before = await getDeviceThumbprint();
    // Storage cleared under the page (eviction, or a user clearing IndexedDB only).
    await new Promise((resolve, reject) => {
      const request = indexedDB.deleteDatabase(databaseName);
      request.onsuccess = resolve;
      request.onerror = () => reject(request.error);
    });
    const status = new Promise<string>((resolve) =>
      initFetchWithDevice({
        databaseName,
        fetchChallenge: async () => ({ challenge: "c" }),
        onDeviceKey: (event) => resolve(event.status),
      }),
    );
    expect(await getDeviceThumbprint()).not.toBe(before);
    expect(await status).toBe("missing");
  });

  it("uses the same key after a real page reload", async () => {
    const result = await commands.openDevicePages({
      count: 1,
      reload: true,
      db: `reload-${Date.now()}`,
    });
    expect(result.statuses).toEqual(["created"]);
    expect(result.afterReload).toBe(result.thumbprints[0]);
    expect(result.afterReloadStatus).toBe("restored");
  });

  it("ends with one key when pages open at once", async () => {
    for (let round = 0; round < 3; round++) {
      const result = await commands.openDevicePages({
        count: 3,
        db: `tabs-${Date.now()}-${round}`,
      });
      expect(new Set(result.thumbprints).size).toBe(1);
      expect(result.statuses.filter((s) => s === "created")).toHaveLength(1);
    }
  });
});
