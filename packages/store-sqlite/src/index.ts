// @devicebound/store-sqlite: the embedded default store.

export { SCHEMA_VERSION } from "./schema.js";
export { type SqliteStore, type SqliteStoreOptions, sqliteStore } from "./sqlite-store.js";
