import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "server",
    include: ["src/**/*.test.ts"],
    exclude: ["src/**/*.browser.test.ts", "src/**/*.chromium.test.ts"],
    environment: "node",
  },
});
