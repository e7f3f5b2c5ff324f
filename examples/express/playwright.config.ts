// End-to-end tests: the built demo on a free loopback port with a fresh data dir, driven in
// Debian's Chromium. Run by the root test command (`npm test`), or `pnpm test:e2e` after a build.
// A second instance serves HTTPS with hardware-bound sessions (DBSC) for dbsc.spec.ts, in a
// Chromium started with the DBSC switches and told to trust that instance's certificate.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "@playwright/test";
import { chromiumDbscLaunchOptions, chromiumLaunchOptions } from "../../scripts/chromium.mjs";
import { freePort } from "../../scripts/free-port.mjs";
import { demoCertificate } from "./src/tls.js";

// Workers load this file again: the environment carries the first choice to them.
process.env.E2E_PORT ??= String(await freePort());
process.env.E2E_DATA_DIR ??= mkdtempSync(join(tmpdir(), "devicebound-e2e-"));
const baseURL = `http://127.0.0.1:${process.env.E2E_PORT}`;
process.env.E2E_DBSC_PORT ??= String(await freePort());
process.env.E2E_DBSC_DATA_DIR ??= mkdtempSync(join(tmpdir(), "devicebound-e2e-dbsc-"));
// DBSC needs the host name the certificate names (localhost), not an IP address.
const dbscURL = `https://localhost:${process.env.E2E_DBSC_PORT}`;
// The demo keeps its certificate in its data dir: made here first, so the browser can be told
// its SPKI hash before the server starts (the server then finds and uses the same one).
process.env.E2E_DBSC_SPKI ??= demoCertificate(process.env.E2E_DBSC_DATA_DIR).spkiSha256;
// The bound cookie's lifetime on the DBSC instance: short, so the suite sees refreshes.
process.env.E2E_DBSC_COOKIE_SECONDS ??= "4";

export default defineConfig({
  testDir: "e2e",
  // Generous limits: the suite shares two cores with everything else `npm test` runs.
  timeout: 60_000,
  expect: { timeout: 10_000 },
  workers: 2,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  projects: [
    {
      name: "http",
      testIgnore: "dbsc.spec.ts",
      use: { baseURL, launchOptions: chromiumLaunchOptions },
    },
    {
      name: "https-dbsc",
      testMatch: "dbsc.spec.ts",
      use: {
        baseURL: dbscURL,
        launchOptions: chromiumDbscLaunchOptions(process.env.E2E_DBSC_SPKI),
      },
    },
  ],
  webServer: [
    {
      command: "node dist/server.js",
      url: `${baseURL}/api/challenge`,
      env: {
        PORT: process.env.E2E_PORT,
        HOST: "127.0.0.1",
        DATA_DIR: process.env.E2E_DATA_DIR,
        PUBLIC_ORIGIN: baseURL,
      },
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: "node dist/server.js",
      url: `${dbscURL}/api/challenge`,
      // Playwright's readiness check only; the browsers trust the certificate by its SPKI.
      ignoreHTTPSErrors: true,
      env: {
        HTTPS: "1",
        PORT: process.env.E2E_DBSC_PORT,
        HOST: "127.0.0.1",
        DATA_DIR: process.env.E2E_DBSC_DATA_DIR,
        PUBLIC_ORIGIN: dbscURL,
        DBSC_COOKIE_SECONDS: process.env.E2E_DBSC_COOKIE_SECONDS,
      },
      reuseExistingServer: false,
      timeout: 30_000,
    },
  ],
});
