// Launches the three browser engines the real-browser suite runs in, behind one small interface:
// Chromium (Debian's build, CDP) and Firefox ESR (WebDriver BiDi) through puppeteer-core, and
// WebKitGTK's MiniBrowser through WebKitWebDriver (classic WebDriver) under a private Xvfb.
// A missing browser is an error naming what to install, never a skip.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { chromiumLaunchOptions } from "../../../scripts/chromium.mjs";
import { freePort } from "../../../scripts/free-port.mjs";

export type EngineName = "chromium" | "firefox" | "webkit";
export const ENGINES: readonly EngineName[] = ["chromium", "firefox", "webkit"];

/** One tab. Every tab of an engine shares one browser profile, as tabs of one browser do. */
export interface EngineTab {
  /** Evaluates a JavaScript expression in the page and resolves its (awaited, JSON) value. */
  run<T>(expression: string): Promise<T>;
  goto(url: string): Promise<void>;
  reload(): Promise<void>;
}

export interface Engine {
  name: EngineName;
  /** Browser name and version as the engine reports them. */
  version: string;
  openTab(url: string): Promise<EngineTab>;
  close(): Promise<void>;
}

const FIREFOX = process.env.DEVICEBOUND_FIREFOX ?? "/usr/bin/firefox-esr";
const WEBKIT_DRIVER = process.env.DEVICEBOUND_WEBKIT_DRIVER ?? "/usr/bin/WebKitWebDriver";
const MINIBROWSER =
  process.env.DEVICEBOUND_MINIBROWSER ?? "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

function required(path: string, what: string): string {
  if (!existsSync(path)) {
    throw new Error(
      `${what} not found at ${path}: run \`bash scripts/dev.sh test\` (installs it from apt), or install it and set the environment variable named in packages/browser/test-support/engines.ts`,
    );
  }
  return path;
}

export async function launchEngine(name: EngineName): Promise<Engine> {
  if (name === "webkit") return launchWebKit();
  const browser =
    name === "chromium"
      ? await puppeteer.launch({
          ...chromiumLaunchOptions,
          executablePath: required(chromiumLaunchOptions.executablePath, "Chromium"),
        })
      : await puppeteer.launch({
          browser: "firefox",
          executablePath: required(FIREFOX, "Firefox ESR (apt: firefox-esr)"),
          headless: true,
          extraPrefsFirefox: {
            // persist() otherwise waits on a permission prompt that headless never shows.
            "dom.storageManager.prompt.testing": true,
            "dom.storageManager.prompt.testing.allow": true,
          },
        });
  return puppeteerEngine(name, browser);
}

async function puppeteerEngine(name: EngineName, browser: Browser): Promise<Engine> {
  const tab = (page: Page): EngineTab => ({
    run: <T>(expression: string) => page.evaluate(expression) as Promise<T>,
    goto: async (url) => void (await page.goto(url)),
    reload: async () => void (await page.reload()),
  });
  return {
    name,
    version: await browser.version(),
    async openTab(url) {
      const page = await browser.newPage();
      await page.goto(url);
      return tab(page);
    },
    close: () => browser.close(),
  };
}

// Xvfb picks a free display itself and writes its number to the given descriptor.
function startXvfb(): Promise<{ display: string; process: ChildProcess }> {
  const xvfb = spawn(
    required("/usr/bin/Xvfb", "Xvfb (apt: xvfb)"),
    ["-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
    { stdio: ["ignore", "ignore", "pipe", "pipe"] },
  );
  return new Promise((resolve, reject) => {
    let stderr = "";
    xvfb.stderr?.on("data", (chunk) => {
      stderr += chunk;
    });
    xvfb.stdio[3]?.once("data", (chunk) =>
      resolve({ display: `:${String(chunk).trim()}`, process: xvfb }),
    );
    xvfb.once("exit", (code) => reject(new Error(`Xvfb exited (${code}): ${stderr}`)));
  });
}

async function launchWebKit(): Promise<Engine> {
  required(MINIBROWSER, "WebKitGTK MiniBrowser (apt: webkit2gtk-driver)");
  const xvfb = await startXvfb();
  const port = await freePort();
  const driver = spawn(
    required(WEBKIT_DRIVER, "WebKitWebDriver (apt: webkit2gtk-driver)"),
    [`--port=${port}`],
    {
      env: { ...process.env, DISPLAY: xvfb.display },
      stdio: "ignore",
      // Its own process group, so MiniBrowser and its helpers go with it even after a crash.
      detached: true,
    },
  );
  const stop = () => {
    try {
      process.kill(-(driver.pid as number));
    } catch {
      // Already gone.
    }
    xvfb.process.kill();
  };
  const base = `http://127.0.0.1:${port}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const { value } = (await response.json()) as { value: { error?: string; message?: string } };
    if (!response.ok)
      throw new Error(`WebDriver ${method} ${path}: ${value.error}: ${value.message}`);
    return value as unknown;
  };
  try {
    for (let i = 0; ; i++) {
      try {
        await call("GET", "/status");
        break;
      } catch (error) {
        if (i > 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const session = (await call("POST", "/session", {
      capabilities: {
        alwaysMatch: {
          "webkitgtk:browserOptions": {
            binary: MINIBROWSER,
            // These replace MiniBrowser's defaults: --automation is what lets the driver in;
            // navigator.storage is behind a feature flag in WebKitGTK.
            args: ["--automation", "--features=+StorageAPI"],
          },
        },
      },
    })) as { sessionId: string; capabilities: { browserName: string; browserVersion: string } };
    const path = `/session/${session.sessionId}`;
    // WebDriver talks to one window at a time: commands run one by one, each switching first.
    let queue: Promise<unknown> = Promise.resolve();
    const serial = <T>(command: () => Promise<T>): Promise<T> => {
      const next = queue.then(command);
      queue = next.catch(() => {});
      return next;
    };
    const inWindow = <T>(handle: string, command: () => Promise<T>) =>
      serial(async () => {
        await call("POST", `${path}/window`, { handle });
        return command();
      });
    let spare = (await call("GET", `${path}/window`)) as string | undefined;
    return {
      name: "webkit",
      version: `${session.capabilities.browserName} (WebKitGTK) ${session.capabilities.browserVersion}`,
      async openTab(url) {
        const handle =
          spare ??
          (
            (await serial(() => call("POST", `${path}/window/new`, { type: "tab" }))) as {
              handle: string;
            }
          ).handle;
        spare = undefined;
        const tab: EngineTab = {
          run: <T>(expression: string) =>
            inWindow(handle, async () => {
              const result = (await call("POST", `${path}/execute/async`, {
                script: `const done = arguments[0];
                  Promise.resolve().then(() => (${expression})).then(
                    (value) => done({ value }),
                    (error) => done({ error: String(error && error.stack || error) }));`,
                args: [],
              })) as { value?: T; error?: string };
              if (result.error) throw new Error(result.error);
              return result.value as T;
            }),
          goto: (target) =>
            inWindow(handle, async () => void (await call("POST", `${path}/url`, { url: target }))),
          reload: () =>
            inWindow(handle, async () => void (await call("POST", `${path}/refresh`, {}))),
        };
        await tab.goto(url);
        return tab;
      },
      async close() {
        await call("DELETE", path).catch(() => {});
        stop();
      },
    };
  } catch (error) {
    stop();
    throw error;
  }
}
