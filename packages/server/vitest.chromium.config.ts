import { defineConfig } from "vitest/config";

// Real Chromium doing DBSC against the adapters over HTTPS (`*.chromium.test.ts`); one browser at
// a time, so the suite stays light on a shared machine.
export default defineConfig({
  test: {
    name: "server-chromium",
    include: ["src/**/*.chromium.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
