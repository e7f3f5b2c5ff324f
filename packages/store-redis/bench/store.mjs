// pnpm bench: register / isKnown / replay consume on Redis (loopback) with 10k devices stored.
// Needs DEVICEBOUND_TEST_REDIS_URL (the root `pnpm bench` starts a throwaway server).
import { runStoreBenchmark } from "@devicebound/server/testing";
import { Redis } from "ioredis";
import { redisStore } from "../dist/index.js";

const url = process.env.DEVICEBOUND_TEST_REDIS_URL;
if (!url) throw new Error("Set DEVICEBOUND_TEST_REDIS_URL, or run the root `pnpm bench`.");
const keyPrefix = `bench:${process.pid}:`;
await runStoreBenchmark({
  benchmark: "store-redis",
  title: "Redis 7 (loopback), 10k devices stored",
  store: redisStore({ url, keyPrefix }),
  resultsFile: new URL("./results/store.json", import.meta.url),
});
const admin = new Redis(url);
const keys = await admin.keys(`${keyPrefix}*`);
for (let i = 0; i < keys.length; i += 1000) await admin.del(...keys.slice(i, i + 1000));
await admin.quit();
