import { defineConfig } from "tsup";

export default defineConfig({
  entry: { server: "src/server.ts", fleet: "src/fleet.ts" },
  format: ["esm"],
  platform: "node",
  target: "node20",
  outDir: "dist",
  clean: true,
  sourcemap: true,
});
