// Preloaded (NODE_OPTIONS=--require) when the library suites run on a Node other than the one that
// installed the workspace: better-sqlite3's addon in node_modules is built for that Node's ABI, so
// every load of it is pointed at the copy built for the running Node (scripts/node-matrix.mjs).
const addon = process.env.DEVICEBOUND_BETTER_SQLITE3_ADDON;
if (!addon) throw new Error("DEVICEBOUND_BETTER_SQLITE3_ADDON is not set");
const dlopen = process.dlopen;
process.dlopen = function redirectedDlopen(module, filename, ...rest) {
  const target = filename.endsWith("better_sqlite3.node") ? addon : filename;
  return dlopen.call(this, module, target, ...rest);
};
