import { defineConfig } from "vitest/config";

// Real-browser suite: Node drives Chromium, Firefox ESR and WebKitGTK (see test-support/engines.ts)
// against the package bundled from src; every engine runs the same tests, one engine at a time.
export default defineConfig({
  test: {
    name: "browser-engines",
    include: ["src/**/*.browser.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
