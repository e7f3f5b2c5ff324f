// Gathers every package's benchmark results (packages/*/bench/results/*.json) into one
// machine-readable file, a Markdown table and an SVG chart of the verification comparison:
// docs/benchmarks.json, docs/benchmarks.md, docs/verify-throughput.svg.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const results = [];
for (const dir of ["packages", "examples"]) {
  for (const pkg of readdirSync(join(root, dir)).sort()) {
    const folder = join(root, dir, pkg, "bench", "results");
    if (!existsSync(folder)) continue;
    for (const file of readdirSync(folder).sort()) {
      if (file.endsWith(".json"))
        results.push({
          package: `${dir}/${pkg}`,
          ...JSON.parse(readFileSync(join(folder, file), "utf8")),
        });
    }
  }
}
if (results.length === 0) {
  console.error("No benchmark results found: run `pnpm bench` first.");
  process.exit(1);
}

const machine = {
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  node: process.version,
  date: new Date().toISOString().slice(0, 10),
};
mkdirSync(join(root, "docs"), { recursive: true });
writeFileSync(
  join(root, "docs/benchmarks.json"),
  `${JSON.stringify({ machine, results }, null, 2)}\n`,
);

const md = [
  "# Benchmarks",
  "",
  `Written by \`pnpm bench\` on ${machine.date}: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}.`,
  "Each section names the package that measured it; the raw figures are in `benchmarks.json`.",
  "",
  "![Verified proofs per second](verify-throughput.svg)",
  "",
  "![Guarded GET as a share of plain GET throughput, per stack](guarded-vs-plain.svg)",
];
for (const r of results) {
  md.push("", `## ${r.title}`, "", `\`${r.package}\` (${r.benchmark})`, "");
  const columns = [...new Set(r.rows.flatMap((row) => Object.keys(row)))];
  md.push(
    `| ${columns.join(" | ")} |`,
    // Numbers to the right, words to the left.
    `| ${columns.map((c) => (r.rows.every((row) => typeof (row[c] ?? 0) === "number") ? "---:" : "---")).join(" | ")} |`,
  );
  for (const row of r.rows) md.push(`| ${columns.map((c) => row[c] ?? "").join(" | ")} |`);
}
writeFileSync(join(root, "docs/benchmarks.md"), `${md.join("\n")}\n`);

const xml = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");
const footer = (r, y) =>
  `<text x="10" y="${y}" font-size="11" fill="#666">${xml(`${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}`)}</text>`;

// The guarded route's share of the plain route's throughput, per stack, against the 50% target.
const http = results.find((r) => r.benchmark === "demo-http");
if (http) {
  const stacks = [...new Set(http.rows.map((r) => r.stack))].map((stack) => {
    const [plain, guarded] = http.rows.filter((r) => r.stack === stack);
    return { stack, plain, guarded, ratio: guarded.rps / plain.rps };
  });
  const width = 860;
  const bar = 720;
  const left = 10;
  const height = 64 + stacks.length * 76 + 16;
  const target = left + bar * 0.5;
  const rows = stacks
    .map(({ stack, plain, guarded, ratio }, i) => {
      const y = 48 + i * 76;
      const w = Math.max(2, Math.round(ratio * bar));
      const color = ratio >= 0.5 ? "#2e7d32" : "#c62828";
      return (
        `<text x="${left}" y="${y + 14}" font-size="13" font-weight="bold">${xml(stack)}</text>` +
        `<text x="${left}" y="${y + 31}" font-size="11" fill="#555">${xml(`guarded ${guarded.rps.toLocaleString("en-US")} vs plain ${plain.rps.toLocaleString("en-US")} requests/s; server CPU ${guarded.serverCpuUsPerRequest} vs ${plain.serverCpuUsPerRequest} µs per request; ${guarded.storeCallsPerRequest} store calls per guarded request`)}</text>` +
        `<rect x="${left}" y="${y + 40}" width="${bar}" height="20" rx="4" fill="#eef0f4"/>` +
        `<rect x="${left}" y="${y + 40}" width="${w}" height="20" rx="4" fill="${color}"/>` +
        `<text x="${left + bar + 8}" y="${y + 55}" font-size="13">${Math.round(ratio * 100)}%</text>` +
        `<line x1="${target}" y1="${y + 38}" x2="${target}" y2="${y + 64}" stroke="#333" stroke-dasharray="4 3"/>`
      );
    })
    .join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui, sans-serif" role="img"><title>Guarded GET as a share of plain GET throughput, per stack</title><rect width="100%" height="100%" fill="#fff"/><text x="10" y="26" font-size="16" font-weight="bold">Guarded GET as a share of the plain GET's requests/s, per stack (dashed: the 50% target)</text>${rows}${footer(http, height - 8)}</svg>\n`;
  writeFileSync(join(root, "docs/guarded-vs-plain.svg"), svg);
}

// A plain horizontal bar chart of the verification throughput comparison.
const verify = results.find((r) => r.benchmark === "server-verify");
if (verify) {
  const rows = verify.rows;
  const max = Math.max(...rows.map((r) => r.opsPerSec));
  const width = 840;
  const bar = 420;
  const height = 60 + rows.length * 44;
  const bars = rows
    .map((r, i) => {
      const y = 48 + i * 44;
      const w = Math.max(2, Math.round((r.opsPerSec / max) * bar));
      const color = r.name.startsWith("devicebound") ? "#3d5afe" : "#9aa3b5";
      return `<text x="10" y="${y + 20}" font-size="14">${xml(r.name)}</text><rect x="250" y="${y + 4}" width="${w}" height="24" rx="4" fill="${color}"/><text x="${258 + w}" y="${y + 21}" font-size="13">${r.opsPerSec.toLocaleString("en-US")}/s</text>`;
    })
    .join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="system-ui, sans-serif" role="img"><title>${xml(verify.title)}</title><rect width="100%" height="100%" fill="#fff"/><text x="10" y="26" font-size="16" font-weight="bold">${xml(verify.title)}</text>${bars}${footer(verify, height - 8)}</svg>\n`;
  writeFileSync(join(root, "docs/verify-throughput.svg"), svg);
}
console.log(
  `\nWrote docs/benchmarks.json, docs/benchmarks.md${verify ? ", docs/verify-throughput.svg" : ""}${http ? ", docs/guarded-vs-plain.svg" : ""} (${results.length} result sets).`,
);
