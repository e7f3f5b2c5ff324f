// Child process for the cross-process test: consumes one key when the parent says go.
import { redisStore } from "../dist/index.js";

const [url, prefix, key] = process.argv.slice(2);
const store = redisStore({ url, keyPrefix: prefix });
await store.client.ping();
console.log("ready");
await new Promise((resolve) => process.stdin.once("data", resolve));
console.log(JSON.stringify(await store.consume(key, Date.now() + 60_000)));
await store.close();
