// The device key in three real engines (Chromium, Firefox ESR, WebKitGTK), with the same
// assertions in each: storage across reloads, algorithms, Web Locks, tabs, and planted keys.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DevicePageServer,
  type PageKey,
  type StoredRecord,
  serveDevicePage,
  thumbprint,
  verifyProof,
} from "../test-support/device-page.ts";
import { ENGINES, type Engine, type EngineTab, launchEngine } from "../test-support/engines.ts";

let site: DevicePageServer;
beforeAll(async () => {
  site = await serveDevicePage();
});
afterAll(() => site?.close());

describe.each(ENGINES)("device key in %s", (name) => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await launchEngine(name);
    console.log(`${name}: ${engine.version}`);
  }, 120_000);
  afterAll(() => engine?.close());

  let n = 0;
  const open = (query: string) =>
    engine.openTab(`${site.origin}/?db=${name}-${Date.now()}-${++n}${query}`);
  const ready = (tab: EngineTab) => tab.run<PageKey>("window.page.start()");
  const sign = (tab: EngineTab) => tab.run<string>('window.page.sign("/orders?id=7")');

  it("keeps a non-extractable P-256 key in IndexedDB, the same after a reload", async () => {
    const tab = await open("");
    const first = await ready(tab);
    expect(first.event).toMatchObject({ status: "created", jkt: first.jkt, previousJkt: null });
    const stored = await tab.run<StoredRecord>("window.page.stored()");
    expect(stored).toEqual({
      alg: "ES256",
      privateIsCryptoKey: true,
      extractable: false,
      algorithm: { name: "ECDSA", namedCurve: "P-256" },
      privateUsages: ["sign"],
      publicUsages: ["verify"],
      exportRejected: true,
    });
    await tab.reload();
    const again = await ready(tab);
    expect(again.jkt).toBe(first.jkt);
    expect(again.event.status).toBe("restored");
    const { claims, jkt } = await verifyProof(await sign(tab), "ES256");
    expect(jkt).toBe(first.jkt);
    expect(claims).toMatchObject({
      htm: "POST",
      htu: `${site.origin}/orders`,
      nonce: "engine-challenge",
    });
  });

  it("has Web Locks and navigator.storage, and persist() settles", async () => {
    const tab = await open("");
    expect(await tab.run("window.page.features()")).toEqual({
      locks: true,
      persist: true,
      secure: true,
    });
    // onDeviceKey fires once persist() settles: a prompt nobody answers would hang it.
    const { event } = await ready(tab);
    expect(typeof event.persisted).toBe("boolean");
    // Firefox grants it through the suite's test prefs; headless Chromium and MiniBrowser refuse.
    if (name === "firefox") expect(event.persisted).toBe(true);
  });

  it("signs with a non-extractable Ed25519 key that survives a reload", async () => {
    const tab = await open("&alg=EdDSA");
    const first = await ready(tab);
    const stored = await tab.run<StoredRecord>("window.page.stored()");
    expect(stored).toMatchObject({ alg: "EdDSA", extractable: false, exportRejected: true });
    expect(stored.algorithm.name).toBe("Ed25519");
    await tab.reload();
    expect((await ready(tab)).jkt).toBe(first.jkt);
    expect((await verifyProof(await sign(tab), "EdDSA")).jkt).toBe(first.jkt);
  });

  it("ends with one key when tabs of one profile start at once", async () => {
    const db = `${name}-tabs-${Date.now()}`;
    const tabs: EngineTab[] = [];
    for (let i = 0; i < 3; i++) tabs.push(await engine.openTab(`${site.origin}/?db=${db}&wait`));
    // One message wakes every tab together (timers in background tabs may be throttled).
    await tabs[0]?.run("void window.page.go()");
    // Wait for what the message started, without starting anything from here.
    const started = (tab: EngineTab) =>
      tab.run<PageKey>(
        "new Promise((resolve) => { const poll = () => window.ready ? resolve(window.ready) : setTimeout(poll, 10); poll(); })",
      );
    const keys = await Promise.all(tabs.map(started));
    expect(new Set(keys.map((k) => k.jkt)).size).toBe(1);
    expect(keys.map((k) => k.event.status).sort()).toEqual(["created", "restored", "restored"]);
  });

  it("reports a planted extractable key as replaced after a reload, and never signs with it", async () => {
    const tab = await open("");
    const original = await ready(tab);
    const planted = await thumbprint(await tab.run("window.page.plant()"));
    await tab.reload();
    const after = await ready(tab);
    expect(after.event).toMatchObject({ status: "replaced", previousJkt: original.jkt });
    expect([original.jkt, planted]).not.toContain(after.jkt);
    expect((await verifyProof(await sign(tab), "ES256")).jkt).toBe(after.jkt);
    expect(await tab.run<StoredRecord>("window.page.stored()")).toMatchObject({
      extractable: false,
      exportRejected: true,
    });
    // The replacement is this profile's key from now on.
    await tab.reload();
    expect((await ready(tab)).event).toMatchObject({ status: "restored", jkt: after.jkt });
  });

  it("makes a new key after forgetDevice", async () => {
    const tab = await open("");
    const before = await ready(tab);
    await tab.run("window.page.forget()");
    await tab.reload();
    const after = await ready(tab);
    expect(after.jkt).not.toBe(before.jkt);
    expect(after.event.status).toBe("created");
  });
});
