// Adds up the JSON reports of every runner in one test run (vitest, Playwright) and prints one
// closing line, so a run that executed nothing, or lost a suite, is visible at a glance.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2] ?? ".reports";
const totals = { passed: 0, failed: 0, skipped: 0 };
const lines = [];

for (const file of existsSync(dir) ? readdirSync(dir).sort() : []) {
  if (!file.endsWith(".json")) continue;
  const report = JSON.parse(readFileSync(join(dir, file), "utf8"));
  let passed;
  let failed;
  let skipped;
  if (report.stats && "expected" in report.stats) {
    // Playwright: flaky tests passed on retry, which we count as failures to keep them visible.
    passed = report.stats.expected;
    failed = report.stats.unexpected + report.stats.flaky;
    skipped = report.stats.skipped;
  } else {
    passed = report.numPassedTests;
    failed =
      report.numFailedTests + (report.success === false && report.numFailedTests === 0 ? 1 : 0);
    skipped = report.numPendingTests + report.numTodoTests;
    // Tests a crashed worker never reported are neither passed nor skipped: count them as failed.
    failed += Math.max(0, report.numTotalTests - passed - failed - skipped);
  }
  totals.passed += passed;
  totals.failed += failed;
  totals.skipped += skipped;
  lines.push(
    `  ${file.replace(/\.json$/, "").padEnd(28)} ${passed} passed, ${failed} failed, ${skipped} skipped`,
  );
}

console.log("\nTest summary");
for (const line of lines) console.log(line);
console.log(`Total: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
if (totals.passed === 0) {
  console.error("No test ran: treat this run as failed.");
  process.exit(1);
}
process.exit(totals.failed > 0 ? 1 : 0);
