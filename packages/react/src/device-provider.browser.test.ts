// useDevice() in Chromium on a page rendered on the server and hydrated: the key's status through
// a page's life (created, restored, missing, replaced, forgotten), its jkt, and the bound fetch,
// whose proofs the devicebound server verifies.
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumLaunchOptions } from "../../../scripts/chromium.mjs";
import { type PageServer, servePage } from "../test-support/server.js";

let site: PageServer;
let browser: Browser;
beforeAll(async () => {
  site = await servePage();
  browser = await puppeteer.launch(chromiumLaunchOptions);
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
});

interface Shown {
  status: string;
  jkt: string;
  previous: string;
}
let n = 0;

async function open(db = `db-${Date.now()}-${++n}`): Promise<{ page: Page; db: string }> {
  const page = await browser.newPage();
  await page.goto(`${site.origin}/?db=${db}`);
  return { page, db };
}
async function settled(page: Page): Promise<Shown> {
  await page.waitForFunction(
    () => document.getElementById("device")?.dataset.status !== "pending",
    { timeout: 20_000 },
  );
  return page.$eval("#device", (el) => {
    const { status = "", jkt = "", previous = "" } = (el as HTMLElement).dataset;
    return { status, jkt, previous };
  });
}

describe("DeviceProvider in Chromium", () => {
  it("server-renders pending, hydrates without a mismatch, then reports a created key", async () => {
    const { page } = await open();
    // What the server sent, before any script ran:
    const html = await (await fetch(`${site.origin}/?db=ssr`)).text();
    expect(html).toContain('data-status="pending"');
    const shown = await settled(page);
    expect(shown.status).toBe("created");
    expect(shown.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await page.evaluate(() => window.recoverable)).toEqual([]);
    await page.close();
  });

  it("signs the bound fetch with the key it reports, and restores that key after a reload", async () => {
    const { page } = await open();
    const first = await settled(page);
    const me = await page.evaluate(() => window.probe?.me());
    expect(me).toEqual({ status: 200, jkt: first.jkt });
    await page.reload();
    const again = await settled(page);
    expect(again).toMatchObject({ status: "restored", jkt: first.jkt });
    expect(await page.evaluate(() => window.probe?.me())).toEqual({ status: 200, jkt: first.jkt });
    await page.close();
  });

  it("reports missing when IndexedDB lost the key, and replaced when another key was planted", async () => {
    const { page, db } = await open();
    const first = await settled(page);
    await page.evaluate(
      (name) =>
        new Promise((resolve, reject) => {
          const request = indexedDB.deleteDatabase(name);
          request.onsuccess = resolve;
          request.onerror = reject;
        }),
      db,
    );
    await page.reload();
    const missing = await settled(page);
    expect(missing.status).toBe("missing");
    expect(missing.previous).toBe(first.jkt);
    expect(missing.jkt).not.toBe(first.jkt);

    // An XSS writes a key it can export (extractable) in place of the device key.
    await page.evaluate(
      (name) =>
        new Promise((resolve, reject) => {
          const open = indexedDB.open(name);
          open.onerror = reject;
          open.onsuccess = async () => {
            const keyPair = await crypto.subtle.generateKey(
              { name: "ECDSA", namedCurve: "P-256" },
              true,
              ["sign", "verify"],
            );
            const tx = open.result.transaction("keys", "readwrite");
            tx.objectStore("keys").put({ keyPair, alg: "ES256" }, "device");
            tx.oncomplete = () => {
              open.result.close();
              resolve(null);
            };
            tx.onerror = reject;
          };
        }),
      db,
    );
    await page.reload();
    const replaced = await settled(page);
    expect(replaced.status).toBe("replaced");
    expect(replaced.previous).toBe(missing.jkt);
    expect(await page.evaluate(() => window.probe?.me())).toEqual({
      status: 200,
      jkt: replaced.jkt,
    });
    await page.close();
  });

  it("forgetDevice gives a new key, and the page shows it", async () => {
    const { page } = await open();
    const first = await settled(page);
    await page.evaluate(() => window.probe?.forget());
    await page.waitForFunction(
      (old) => {
        const el = document.getElementById("device");
        return el?.dataset.status !== "pending" && el?.dataset.jkt !== old;
      },
      { timeout: 20_000 },
      first.jkt,
    );
    const after = await settled(page);
    expect(after.jkt).not.toBe(first.jkt);
    expect(await page.evaluate(() => window.probe?.me())).toEqual({ status: 200, jkt: after.jkt });
    await page.close();
  });
});
