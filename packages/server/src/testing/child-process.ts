// Cross-process testing for store adapters: run a script in a child Node process, wait until it
// prints a word, then release it, so several processes race at the same moment.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface NodeChild {
  proc: ChildProcess;
  /** Resolves with the output so far once the child printed `readyWord`. */
  ready: Promise<string>;
  /** Resolves with all output when the child exits (or is killed); rejects on a non-zero exit. */
  done: Promise<string>;
  /** Ends the child's stdin: the go signal for children waiting on it. */
  go(): void;
}

export function spawnNodeScript(script: URL, args: string[], readyWord = ""): NodeChild {
  const proc = spawn(process.execPath, [fileURLToPath(script), ...args], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  let out = "";
  const ready = new Promise<string>((resolve) => {
    proc.stdout?.on("data", (chunk) => {
      out += chunk;
      if (out.includes(readyWord)) resolve(out);
    });
  });
  const done = new Promise<string>((resolve, reject) => {
    proc.on("exit", (code, signal) =>
      code === 0 || signal ? resolve(out) : reject(new Error(`child exited with ${code}`)),
    );
  });
  return { proc, ready, done, go: () => proc.stdin?.end("go\n") };
}

/** The last line a child printed, parsed as JSON. */
export function lastJsonLine(output: string): unknown {
  return JSON.parse(output.trim().split("\n").at(-1) ?? "null");
}

/**
 * Starts `count` children of `script`, waits until each printed "ready", releases them at the
 * same moment, and returns what each printed last (parsed JSON): for cross-process races.
 */
export async function raceNodeScripts(script: URL, args: string[], count = 2): Promise<unknown[]> {
  const kids = Array.from({ length: count }, () => spawnNodeScript(script, args, "ready"));
  await Promise.all(kids.map((k) => k.ready));
  for (const k of kids) k.go();
  return (await Promise.all(kids.map((k) => k.done))).map(lastJsonLine);
}
