import { defineConfig } from "vitest/config";

// One run over every package and example: each has its own vitest config (unit tests in Node,
// `*.browser.test.ts` in Chromium, `*.pg.test.ts` / `*.redis.test.ts` against real servers).
export default defineConfig({
  test: {
    projects: ["packages/*/vitest*.config.ts", "examples/*/vitest*.config.ts"],
  },
});
