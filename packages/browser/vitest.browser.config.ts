import { playwright } from "@vitest/browser-playwright";
import { defineConfig } from "vitest/config";
import { chromiumLaunchOptions } from "../../scripts/chromium.mjs";
import { browserCommands } from "./test-support/browser-commands.ts";

// Real-browser suite: Debian's Chromium, headless, through Vitest browser mode. Commands run in
// Node and drive extra pages with Playwright for reloads and tabs opened at once.
export default defineConfig({
  test: {
    name: "browser-chromium",
    include: ["src/**/*.browser.test.ts"],
    testTimeout: 20_000,
    browser: {
      enabled: true,
      headless: true,
      provider: playwright({
        launchOptions: chromiumLaunchOptions,
      }),
      instances: [{ browser: "chromium" }],
      commands: browserCommands,
    },
  },
});
