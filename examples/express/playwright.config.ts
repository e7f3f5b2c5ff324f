// End-to-end tests: the built demo on a free loopback port with a fresh data dir, driven in
// Debian's Chromium. Run by the root test command (`npm test`), or `pnpm test:e2e` after a build.
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "@playwright/test";
import { chromiumLaunchOptions } from "../../scripts/chromium.mjs";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

// Workers load this file again: the environment carries the first choice to them.
process.env.E2E_PORT ??= String(await freePort());
process.env.E2E_DATA_DIR ??= mkdtempSync(join(tmpdir(), "devicebound-e2e-"));
const baseURL = `http://127.0.0.1:${process.env.E2E_PORT}`;

export default defineConfig({
  testDir: "e2e",
  // Generous limits: the suite shares two cores with everything else `npm test` runs.
  timeout: 60_000,
  expect: { timeout: 10_000 },
  workers: 2,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  use: {
    baseURL,
    launchOptions: chromiumLaunchOptions,
  },
  webServer: {
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
});
