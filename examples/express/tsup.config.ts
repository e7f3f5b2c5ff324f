import { defineConfig } from "tsup";

// The server runs on Node; the page script is bundled (with @devicebound/browser) for browsers.
export default defineConfig([
  {
    entry: { server: "src/server.ts" },
    format: ["esm"],
    platform: "node",
    target: "node20",
    outDir: "dist",
    clean: true,
    sourcemap: true,
  },
  {
    entry: { app: "src/client/app.ts" },
    format: ["esm"],
    platform: "browser",
    target: "es2022",
    outDir: "dist/public",
    noExternal: [/.*/],
    minify: true,
    sourcemap: true,
  },
]);
