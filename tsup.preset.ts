// The one build setup for every published package: ESM + CJS + .d.ts, with the private
// @devicebound/wire package bundled in (code and types) so users never install it.
import { defineConfig, type Options } from "tsup";

const wire = "@devicebound/wire";

export function libraryConfig(options: Options = {}) {
  return defineConfig({
    entry: ["src/index.ts"],
    format: ["esm", "cjs"],
    target: "es2022",
    platform: "neutral",
    noExternal: [wire],
    dts: {
      resolve: [wire],
      // The d.ts bundler only inlines a workspace package reached through a path mapping.
      compilerOptions: { paths: { [wire]: ["../wire/src/index.ts"] } },
    },
    clean: true,
    sourcemap: true,
    treeshake: true,
    ...options,
  });
}
