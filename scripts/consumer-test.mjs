// The packages as users get them: pack every published package (prepack builds it), install the
// tarballs with plain npm into a fresh app outside the workspace, type-check the READMEs' code
// against the packed types (strict, node16 and bundler resolution), run an ESM and a CommonJS
// server, bundle the browser package with esbuild and sign in from Chromium. Writes one report
// that scripts/test-summary.mjs counts.
//
//   node scripts/consumer-test.mjs [--keep] [.reports/consumer.json]   (--keep: leave the temp app)
import { execFileSync, spawn } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { chromiumLaunchOptions } from "./chromium.mjs";

const root = new URL("..", import.meta.url).pathname;
const fixtures = join(root, "scripts/consumer-app");
const args = process.argv.slice(2);
const keep = args.includes("--keep");
const reportFile = args.find((a) => a !== "--keep") ?? join(root, ".reports/consumer.json");
const work = mkdtempSync(join(tmpdir(), "devicebound-consumer-"));
const app = join(work, "app");
const published = ["browser", "react", "server", "store-sqlite", "store-postgres", "store-redis"];
// What the app itself brings, beside the tarballs: the drivers at the ranges the stores' READMEs
// install, the frameworks the snippets use, and the tools the test drives.
const appDependencies = [
  "pg@8",
  "ioredis@5",
  "express@5",
  "express-session@1",
  "fastify@5",
  "hono@4",
  "react@19",
  "@types/react@19",
  "@types/express@5",
  "@types/express-session@1",
  "@types/node@20",
  "typescript@5.9.3",
  "esbuild@0.28.2",
  "playwright-core@1.65.1",
];

const results = [];
let failed = false;
let blocked = false;
/** One counted check; when a `prerequisite` fails (pack, install), the rest cannot run. */
async function check(name, fn, { prerequisite = false } = {}) {
  const started = Date.now();
  if (blocked) {
    results.push({ name, status: "skipped", ms: 0 });
    console.log(`  - ${name} (not run: packing or installing failed)`);
    return;
  }
  try {
    await fn();
    results.push({ name, status: "passed", ms: Date.now() - started });
    console.log(`  ✓ ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    failed = true;
    blocked ||= prerequisite;
    results.push({ name, status: "failed", ms: Date.now() - started, error: String(error) });
    console.log(
      `  ✗ ${name}\n${String(error?.stderr ?? "")}${String(error?.stdout ?? "")}${error}`,
    );
  }
}

const run = (cmd, args, cwd = app, env = {}) =>
  execFileSync(cmd, args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** The ```ts and ```tsx blocks of every README, one module each, as the app's own source files. */
function writeReadmeSnippets(dir) {
  const readmes = ["README.md"];
  for (const parent of ["packages", "examples"]) {
    for (const name of readdirSync(join(root, parent)))
      readmes.push(join(parent, name, "README.md"));
  }
  let count = 0;
  for (const readme of readmes) {
    let text;
    try {
      text = readFileSync(join(root, readme), "utf8");
    } catch {
      continue;
    }
    [...text.matchAll(/```(tsx?)\n([\s\S]*?)```/g)].forEach((block, i) => {
      const file = `${readme.replace(/\/?README\.md$/, "").replace(/[/.]/g, "_") || "root"}_${i + 1}.${block[1]}`;
      writeFileSync(
        join(dir, file),
        `// From ${readme}, block ${i + 1}\n${block[2]}\nexport {};\n`,
      );
      count++;
    });
  }
  return count;
}

/** Starts `node file dataDir`, resolves with its first JSON line and the child. */
function startNode(file, args) {
  const child = spawn(process.execPath, [file, ...args], {
    cwd: app,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${file}: no output in 20 s`)), 20_000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line && out.includes("\n")) {
        clearTimeout(timer);
        resolve({ child, first: JSON.parse(line), output: () => out });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (!out.includes("{")) reject(new Error(`${file} exited with ${code} before printing`));
    });
  });
}

console.log(`Consumer test in ${work}`);
const tarballs = join(work, "tarballs");
let snippetCount = 0;

await check(
  "pack every published package (prepack builds it and adds LICENSE)",
  () => {
    mkdirSync(tarballs);
    for (const name of published) {
      run("pnpm", ["pack", "--pack-destination", tarballs], join(root, "packages", name));
    }
    const files = readdirSync(tarballs);
    assert(
      files.length === published.length,
      `expected ${published.length} tarballs, got ${files}`,
    );
    for (const file of files) {
      const listing = run("tar", ["-tzf", join(tarballs, file)], work);
      for (const needed of [
        "package/LICENSE",
        "package/README.md",
        "package/dist/index.js",
        "package/dist/index.cjs",
      ]) {
        assert(listing.includes(needed), `${file} lacks ${needed}`);
      }
    }
  },
  { prerequisite: true },
);

await check(
  "npm install the tarballs into a fresh app (no force flags)",
  () => {
    mkdirSync(join(app, "src"), { recursive: true });
    writeFileSync(
      join(app, "package.json"),
      `${JSON.stringify({ name: "consumer-app", private: true, type: "module" }, null, 2)}\n`,
    );
    const packed = readdirSync(tarballs).map((file) => join(tarballs, file));
    // better-sqlite3's install script fetches a prebuilt addon from GitHub, else compiles for
    // minutes. With no GitHub here, the app takes the workspace's version of better-sqlite3, and
    // the addon pnpm built for it (same version, same Node) is offered as that prebuilt, through
    // prebuild-install's own local-prebuilds setting: the install script still runs as for users.
    const workspaceSqlite = dirname(
      createRequire(join(root, "packages/store-sqlite/package.json")).resolve(
        "better-sqlite3/package.json",
      ),
    );
    const sqliteVersion = JSON.parse(
      readFileSync(join(workspaceSqlite, "package.json"), "utf8"),
    ).version;
    const prebuilds = join(work, "prebuilds");
    mkdirSync(prebuilds);
    run(
      "tar",
      [
        "-czf",
        join(
          prebuilds,
          `better-sqlite3-v${sqliteVersion}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`,
        ),
        "build/Release/better_sqlite3.node",
      ],
      workspaceSqlite,
    );
    run(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        ...packed,
        `better-sqlite3@${sqliteVersion}`,
        ...appDependencies,
      ],
      app,
      { npm_config_better_sqlite3_local_prebuilds: prebuilds },
    );
    const require = createRequire(join(app, "package.json"));
    let vitestFound = true;
    try {
      require.resolve("vitest");
    } catch {
      vitestFound = false;
    }
    assert(
      !vitestFound,
      "vitest is installed in the app, so /testing is not shown to work without it",
    );
  },
  { prerequisite: true },
);

await check("README snippets and app code type-check (strict, node16 and bundler)", () => {
  snippetCount = writeReadmeSnippets(join(app, "src"));
  assert(snippetCount > 0, "no README snippets found");
  copyFileSync(join(fixtures, "users.ts"), join(app, "src/users.ts"));
  copyFileSync(join(fixtures, "page.ts"), join(app, "src/page.ts"));
  const base = {
    strict: true,
    noEmit: true,
    target: "ES2022",
    lib: ["ES2022", "DOM", "DOM.Iterable"],
    types: ["node"],
    jsx: "react-jsx",
    // Errors inside the packages' .d.ts files (a type import consumers lack) must show.
    skipLibCheck: false,
  };
  const configs = {
    node16: { ...base, module: "node16", moduleResolution: "node16" },
    bundler: { ...base, module: "preserve", moduleResolution: "bundler" },
  };
  for (const [name, compilerOptions] of Object.entries(configs)) {
    const file = join(app, `tsconfig.${name}.json`);
    writeFileSync(file, JSON.stringify({ compilerOptions, include: ["src"] }, null, 2));
    try {
      run(process.execPath, [join(app, "node_modules/typescript/bin/tsc"), "-p", file]);
    } catch (error) {
      throw new Error(`tsc (${name}) failed:\n${error.stdout}`);
    }
  }
  console.log(`    ${snippetCount} README blocks, as modules of the app`);
});

await check("bundle the browser package with esbuild", () => {
  run(join(app, "node_modules/.bin/esbuild"), [
    "src/page.ts",
    "--bundle",
    "--format=esm",
    "--target=es2022",
    `--outfile=${join(app, "page.js")}`,
  ]);
});

await check(
  "CommonJS server: require() every entry, signed requests from createTestDevice",
  async () => {
    copyFileSync(join(fixtures, "server.cjs"), join(app, "server.cjs"));
    const { child, first } = await startNode("server.cjs", [app]);
    await new Promise((resolve) => child.on("exit", resolve));
    assert(child.exitCode === 0, `server.cjs exited with ${child.exitCode}`);
    const [one, two] = first.results;
    assert(
      one?.status === 200 && one.newDeviceDetected === true,
      `first sign-in: ${JSON.stringify(one)}`,
    );
    assert(
      two?.status === 200 && two.newDeviceDetected === false,
      `second sign-in: ${JSON.stringify(two)}`,
    );
    assert(one.jkt === first.expectedJkt, "the server saw another key than the device's");
    assert(first.refusedStatus === 401, `a request without a proof got ${first.refusedStatus}`);
  },
);

await check("ESM server + Chromium: two signed sign-ins with one device key", async () => {
  copyFileSync(join(fixtures, "server.mjs"), join(app, "server.mjs"));
  const { child, first } = await startNode("server.mjs", [app]);
  const { chromium } = createRequire(join(app, "package.json"))("playwright-core");
  const browser = await chromium.launch(chromiumLaunchOptions);
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${first.port}/`);
    const answers = await page.waitForFunction(() => window.signInResults, null, {
      timeout: 15_000,
    });
    const [one, two] = await answers.jsonValue();
    assert(
      one?.status === 200 && one.newDeviceDetected === true,
      `first sign-in: ${JSON.stringify(one)}`,
    );
    assert(
      two?.status === 200 && two.newDeviceDetected === false && two.jkt === one.jkt,
      `second sign-in: ${JSON.stringify(two)}`,
    );
  } finally {
    await browser.close();
    child.kill();
  }
});

const count = (status) => results.filter((r) => r.status === status).length;
mkdirSync(join(reportFile, ".."), { recursive: true });
writeFileSync(
  reportFile,
  JSON.stringify(
    {
      numTotalTests: results.length,
      numPassedTests: count("passed"),
      numFailedTests: count("failed"),
      numPendingTests: count("skipped"),
      numTodoTests: 0,
      success: !failed,
      readmeSnippets: snippetCount,
      work: relative(root, work).startsWith("..") ? work : "inside the workspace!",
      results,
    },
    null,
    2,
  ),
);
if (keep) console.log(`Kept ${work}`);
else rmSync(work, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
