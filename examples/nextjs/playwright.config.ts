// End-to-end tests: the production build (`next build`, run by the root build) served by
// `next start` on a free loopback port with a fresh data dir, driven in Debian's Chromium.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "@playwright/test";
import { chromiumLaunchOptions } from "../../scripts/chromium.mjs";
import { freePort } from "../../scripts/free-port.mjs";

// Workers load this file again: the environment carries the first choice to them.
process.env.E2E_PORT ??= String(await freePort());
process.env.E2E_DATA_DIR ??= mkdtempSync(join(tmpdir(), "devicebound-nextjs-e2e-"));
const baseURL = `http://127.0.0.1:${process.env.E2E_PORT}`;

export default defineConfig({
  testDir: "e2e",
  timeout: 30_000,
  workers: 2,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  use: { baseURL, launchOptions: chromiumLaunchOptions },
  webServer: {
    command: `node node_modules/next/dist/bin/next start --port ${process.env.E2E_PORT} --hostname 127.0.0.1`,
    url: `${baseURL}/api/challenge`,
    env: {
      DATA_DIR: process.env.E2E_DATA_DIR,
      PUBLIC_ORIGIN: baseURL,
      NEXT_TELEMETRY_DISABLED: "1",
    },
    reuseExistingServer: false,
    timeout: 60_000,
  },
});
