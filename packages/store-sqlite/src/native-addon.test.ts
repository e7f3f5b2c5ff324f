// What a user sees when better-sqlite3's native build did not run (pnpm 10 without approval):
// the real better-sqlite3 JavaScript, copied without its build/ directory, behind the store.
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DeviceBindingError } from "@devicebound/server";
import { afterAll, expect, it, vi } from "vitest";

const require = createRequire(import.meta.url);
// better-sqlite3 13 ships its addon prebuilt inside the package: there is no build step to miss.
const prebuiltInPackage =
  Number(require("better-sqlite3/package.json").version.split(".")[0]) >= 13;
const dir = mkdtempSync(join(tmpdir(), "devicebound-no-addon-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function unbuiltBetterSqlite3(): unknown {
  const pkg = dirname(require.resolve("better-sqlite3/package.json"));
  const copy = join(dir, "node_modules/better-sqlite3");
  mkdirSync(copy, { recursive: true });
  cpSync(join(pkg, "package.json"), join(copy, "package.json"));
  cpSync(join(pkg, "lib"), join(copy, "lib"), { recursive: true });
  const pkgRequire = createRequire(join(pkg, "package.json"));
  symlinkSync(
    dirname(pkgRequire.resolve("bindings/package.json")),
    join(dir, "node_modules/bindings"),
  );
  return require(copy);
}

it.skipIf(prebuiltInPackage)(
  "names the fix when better-sqlite3's native addon was never built",
  async () => {
    const unbuilt = unbuiltBetterSqlite3();
    vi.doMock("better-sqlite3", () => ({ default: unbuilt }));
    const { sqliteStore } = await import("./sqlite-store.js");
    let error: unknown;
    try {
      sqliteStore({ filename: join(dir, "devices.db") });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DeviceBindingError);
    const e = error as DeviceBindingError;
    expect(e.code).toBe("ERR_STORE_UNAVAILABLE");
    expect(e.details).toEqual({ reason: "native-addon-missing" });
    expect(e.message).toContain("pnpm approve-builds");
    expect(e.message).toContain("npm rebuild better-sqlite3");
    expect(String((e.cause as Error).message)).toMatch(/bindings file/);
  },
);
