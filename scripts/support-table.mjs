// The README's support table, produced from what the last `npm test` ran (.reports/): each row is
// listed only with the tests that back it, and marked ✗ if any of them failed.
//
//   node scripts/support-table.mjs           print the table from .reports/
//   node scripts/support-table.mjs --write   also write it into README.md between the markers
//                                            (dev.sh test does this after a run where all passed)
//   node scripts/support-table.mjs --check   lint: the README block exists, lists exactly the Node
//                                            majors that `engines` names (the same in every
//                                            published package), and no row is failing
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const reports = join(root, ".reports");
const readmeFile = join(root, "README.md");
const START = "<!-- support-table:start (scripts/support-table.mjs --write) -->";
const END = "<!-- support-table:end -->";
const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));
const engines = readJson(join(root, "package.json")).engines.node;
const majors = [...engines.matchAll(/\^(\d+)/g)].map((m) => Number(m[1]));

// What backs each row: vitest tests chosen by file or describe title, Playwright suites (whole
// reports) and the consumer test's checks chosen by name.
const ROWS = [
  [
    "Browser engine",
    "Chromium",
    { title: /\bchromium\b/i, file: /\.browser\.test\.ts$/, consumer: /Chromium/ },
  ],
  ["Browser engine", "Firefox ESR", { title: /\bfirefox\b/i, file: /\.browser\.test\.ts$/ }],
  [
    "Browser engine",
    "WebKitGTK (a WebKit signal, not Safari)",
    { title: /\bwebkit\b/i, file: /\.browser\.test\.ts$/ },
  ],
  [
    "Framework",
    "Express",
    { title: /^Express adapter/, playwright: "playwright-express.json", consumer: /server/ },
  ],
  ["Framework", "Node `http`", { title: /^Node http adapter/ }],
  ["Framework", "Fastify", { title: /^Fastify adapter/ }],
  [
    "Framework",
    "Fetch handlers (Hono, Next.js, workers)",
    { title: /^Fetch adapter/, playwright: "playwright-hono-fleet.json" },
  ],
  ["Store", "SQLite (better-sqlite3)", { file: /packages\/store-sqlite\//, consumer: /server/ }],
  ["Store", "PostgreSQL (pg)", { file: /packages\/store-postgres\// }],
  ["Store", "Redis (ioredis)", { file: /packages\/store-redis\// }],
  ["Store", "In-memory (`memoryStore`)", { file: /memory-store\.test\.ts$/ }],
];

function vitestAssertions(file) {
  if (!existsSync(file)) return [];
  return readJson(file).testResults.flatMap((t) =>
    t.assertionResults.map((a) => ({
      file: t.name,
      title: a.ancestorTitles.join(" "),
      status: a.status,
    })),
  );
}

function table() {
  const main = vitestAssertions(join(reports, "vitest.json"));
  const consumer = existsSync(join(reports, "consumer.json"))
    ? readJson(join(reports, "consumer.json")).results
    : [];
  const rows = [];
  const runs = existsSync(join(reports, "runs")) ? readdirSync(join(reports, "runs")).sort() : [];
  for (const run of runs.sort((a, b) => parseInt(a.slice(5), 10) - parseInt(b.slice(5), 10))) {
    const { node, report, betterSqlite3 } = readJson(join(reports, "runs", run));
    // The packages' Node suites only (the main run's report also holds the browser engines).
    const results = vitestAssertions(join(reports, report)).filter(
      (r) => r.file.includes("/packages/") && !r.file.endsWith(".browser.test.ts"),
    );
    // Tests a crashed worker never reported count as failed (as in test-summary.mjs).
    const r = readJson(join(reports, report));
    const unreported = Math.max(
      0,
      r.numTotalTests - r.numPassedTests - r.numFailedTests - r.numPendingTests - r.numTodoTests,
    );
    const passed = results.filter((a) => a.status === "passed").length;
    const failed = results.filter((a) => a.status === "failed").length + unreported;
    rows.push(
      row(
        "Node.js",
        `${node} (better-sqlite3 ${betterSqlite3})`,
        passed + failed,
        failed,
        "library suites",
      ),
    );
  }
  for (const [area, name, by] of ROWS) {
    const hits = main.filter(
      (a) => (!by.file || by.file.test(a.file)) && (!by.title || by.title.test(a.title)),
    );
    let passed = hits.filter((a) => a.status === "passed").length;
    let failed = hits.filter((a) => a.status === "failed").length;
    const sources = hits.length ? ["unit/integration"] : [];
    if (by.playwright && existsSync(join(reports, by.playwright))) {
      const { stats } = readJson(join(reports, by.playwright));
      passed += stats.expected;
      failed += stats.unexpected + stats.flaky;
      sources.push("e2e");
    }
    const checks = by.consumer ? consumer.filter((c) => by.consumer.test(c.name)) : [];
    if (checks.length) {
      passed += checks.filter((c) => c.status === "passed").length;
      failed += checks.filter((c) => c.status !== "passed").length;
      sources.push("packed tarballs");
    }
    if (passed + failed > 0)
      rows.push(row(area, name, passed + failed, failed, sources.join(" + ")));
  }
  return [
    "| area | supported | tests in the last `npm test` |",
    "| --- | --- | --- |",
    ...rows,
  ].join("\n");
}

function row(area, name, total, failed, sources) {
  const mark = failed ? `✗ ${failed} of ${total} failed` : `✓ ${total} passed`;
  return `| ${area} | ${name} | ${mark} (${sources}) |`;
}

function readmeBlock() {
  const text = readFileSync(readmeFile, "utf8");
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) return null;
  return { text, start, end, block: text.slice(start + START.length, end).trim() };
}

const mode = process.argv[2];
if (mode === "--check") {
  const problems = [];
  const current = readmeBlock();
  if (!current) problems.push(`README.md has no support table between ${START} and ${END}`);
  const listed = current
    ? [...current.block.matchAll(/^\| Node\.js \| (\d+)\./gm)].map((m) => Number(m[1]))
    : [];
  if (listed.join() !== majors.join()) {
    problems.push(
      `the table lists Node ${listed.join(", ") || "none"}, engines names ${majors.join(", ")}: run npm test`,
    );
  }
  if (current?.block.includes("✗"))
    problems.push("the table has a failing row: run npm test until it passes");
  for (const name of readdirSync(join(root, "packages"))) {
    const pkg = readJson(join(root, "packages", name, "package.json"));
    if (!pkg.private && pkg.engines?.node !== engines) {
      problems.push(
        `${pkg.name}: engines.node is ${pkg.engines?.node}, the repository's is ${engines}`,
      );
    }
  }
  for (const problem of problems) console.error(`support table: ${problem}`);
  process.exit(problems.length ? 1 : 0);
}

const generated = table();
console.log(generated);
if (mode === "--write") {
  const current = readmeBlock();
  if (!current) throw new Error(`README.md has no ${START} ... ${END} block`);
  writeFileSync(
    readmeFile,
    `${current.text.slice(0, current.start + START.length)}\n\n${generated}\n\n${current.text.slice(current.end)}`,
  );
}
