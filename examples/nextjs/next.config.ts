import type { NextConfig } from "next";

const config: NextConfig = {
  // better-sqlite3 is a native module: loaded by Node at run time, never bundled.
  serverExternalPackages: ["better-sqlite3", "@devicebound/store-sqlite"],
  poweredByHeader: false,
  // `pnpm typecheck` (tsc) checks the types once for the whole repo; the build need not again.
  typescript: { ignoreBuildErrors: true },
};

export default config;
