import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "react",
    include: ["src/**/*.test.{ts,tsx}"],
    exclude: ["src/**/*.browser.test.{ts,tsx}"],
    environment: "node",
  },
});
