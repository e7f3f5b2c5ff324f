// End-to-end tests of the fleet: two server processes behind the round-robin proxy, sharing the
// PostgreSQL and Redis that the root test command starts.
import { defineConfig } from "@playwright/test";
import { chromiumLaunchOptions } from "../../scripts/chromium.mjs";
import { freePort } from "../../scripts/free-port.mjs";

const pg = process.env.DEVICEBOUND_TEST_PG_URL;
const redis = process.env.DEVICEBOUND_TEST_REDIS_URL;
if (!pg || !redis) {
  throw new Error(
    "DEVICEBOUND_TEST_PG_URL and DEVICEBOUND_TEST_REDIS_URL must be set: run through `npm test`.",
  );
}

async function freePortTriple(): Promise<number> {
  // The proxy takes PORT, the two servers PORT+1 and PORT+2: find a free run of three.
  for (;;) {
    const port = await freePort();
    if (port < 65000) return port;
  }
}

process.env.E2E_FLEET_PORT ??= String(await freePortTriple());
process.env.E2E_FLEET_RUN ??= `e2e${Date.now()}`;
const port = Number(process.env.E2E_FLEET_PORT);
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: "e2e",
  // Generous limits: the suite shares two cores with everything else `npm test` runs.
  timeout: 60_000,
  expect: { timeout: 10_000 },
  workers: 1,
  forbidOnly: Boolean(process.env.CI),
  use: {
    baseURL,
    launchOptions: chromiumLaunchOptions,
  },
  webServer: {
    command: "node dist/fleet.js",
    url: `${baseURL}/api/challenge`,
    env: {
      PORT: String(port),
      PUBLIC_ORIGIN: baseURL,
      DATABASE_URL: pg,
      DATABASE_SCHEMA: process.env.E2E_FLEET_RUN,
      REDIS_URL: redis,
      REDIS_PREFIX: `${process.env.E2E_FLEET_RUN}:`,
      DEVICEBOUND_SECRET: "fleet-e2e-secret-0123456789-0123456789",
    },
    reuseExistingServer: false,
    timeout: 30_000,
  },
});
