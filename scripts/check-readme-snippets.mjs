// Type-checks every ```ts and ```tsx block of the READMEs against the packages' sources, so documented
// code cannot drift from the API. App-side names the snippets assume (app, request, checkPassword,
// ...) are declared in scripts/readme-snippets.d.ts.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const out = join(root, ".reports/snippets");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const readmes = ["README.md"];
for (const dir of ["packages", "examples"]) {
  for (const name of readdirSync(join(root, dir))) readmes.push(join(dir, name, "README.md"));
}
let count = 0;
for (const readme of readmes) {
  let text;
  try {
    text = readFileSync(join(root, readme), "utf8");
  } catch {
    continue;
  }
  const blocks = [...text.matchAll(/```(tsx?)\n([\s\S]*?)```/g)];
  blocks.forEach((block, i) => {
    const file = `${readme.replace(/[/.]/g, "_")}_${i + 1}.${block[1]}`;
    writeFileSync(join(out, file), `// From ${readme}, block ${i + 1}\n${block[2]}\nexport {};\n`);
    count++;
  });
}
console.log(`README snippets: type-checking ${count} TypeScript blocks`);
try {
  execFileSync(
    process.execPath,
    [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.snippets.json")],
    {
      stdio: "inherit",
    },
  );
} catch {
  console.error("README snippets: the code blocks above do not type-check against the packages.");
  process.exit(1);
}
console.log("README snippets: ok");
