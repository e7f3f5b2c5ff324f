// @devicebound/store-postgres: devices and replay records on PostgreSQL, for a fleet of servers.
export { migrate, SCHEMA_VERSION } from "./migrate.js";
export { type PostgresStore, type PostgresStoreOptions, postgresStore } from "./postgres-store.js";
