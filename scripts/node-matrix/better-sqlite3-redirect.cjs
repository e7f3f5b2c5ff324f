// Preloaded (NODE_OPTIONS=--require) when the library suites run on a Node other than the one that
// installed the workspace. The workspace's better-sqlite3 is built for that Node, so every load of
// it goes to the copy scripts/node-matrix.mjs installed for the running Node: on Node 22+ the
// newest better-sqlite3 (12 aborts on Node 24.19+, nodejs/node#65446), through a resolve hook; on
// Node 20, which lacks module.registerHooks, the same version built for its ABI, through dlopen.
const { registerHooks } = require("node:module");
const { join } = require("node:path");
const { pathToFileURL } = require("node:url");

const from = process.env.DEVICEBOUND_BETTER_SQLITE3_FROM;
const to = process.env.DEVICEBOUND_BETTER_SQLITE3_TO;
if (!from || !to) throw new Error("DEVICEBOUND_BETTER_SQLITE3_FROM / _TO are not set");

if (registerHooks) {
  const fromUrl = `${pathToFileURL(from).href}/`;
  const toUrl = `${pathToFileURL(to).href}/`;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      if (!resolved.url?.startsWith(fromUrl)) return resolved;
      return { ...resolved, url: toUrl + resolved.url.slice(fromUrl.length) };
    },
  });
} else {
  const addon = join(to, "build/Release/better_sqlite3.node");
  const dlopen = process.dlopen;
  process.dlopen = function redirectedDlopen(module, filename, ...rest) {
    const target = filename.endsWith("better_sqlite3.node") ? addon : filename;
    return dlopen.call(this, module, target, ...rest);
  };
}
