// @devicebound/store-redis: replay records and devices on Redis, for a fleet of servers.
export { type RedisStore, type RedisStoreOptions, redisStore } from "./redis-store.js";
