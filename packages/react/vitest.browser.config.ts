import { defineConfig } from "vitest/config";

// Real-browser suite: Node serves a page rendered on the server with React and hydrated in
// Debian's Chromium (driven through puppeteer-core), with a devicebound server verifying proofs.
export default defineConfig({
  test: {
    name: "react-chromium",
    include: ["src/**/*.browser.test.{ts,tsx}"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
