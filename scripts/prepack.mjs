// Runs before `pnpm pack` / `pnpm publish` in a published package: builds it (turbo, so an
// unchanged build is a cache hit) and copies the repository's LICENSE in, so every tarball ships
// fresh dist/ and the licence its package.json names.
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const { name } = JSON.parse(readFileSync("package.json", "utf8"));
// Inside a turbo task (attw --pack in `lint`, which depends on `build`) the build is already done.
// biome-ignore lint/suspicious/noUndeclaredEnvVars: turbo sets it in every task it runs
if (!process.env.TURBO_HASH) {
  execFileSync(
    process.execPath,
    [
      join(root, "node_modules/turbo/bin/turbo"),
      "run",
      "build",
      `--filter=${name}`,
      "--output-logs=errors-only",
    ],
    { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
  );
}
copyFileSync(join(root, "LICENSE"), "LICENSE");
