// Child process for the cross-process test: consumes one key when the parent says go.
import { postgresStore } from "../dist/index.js";

const [connectionString, schema, key] = process.argv.slice(2);
const store = postgresStore({ connectionString, schema });
await store.listDevices("warm-up"); // connect and migrate before the race
console.log("ready");
await new Promise((resolve) => process.stdin.once("data", resolve));
console.log(JSON.stringify(await store.consume(key, Date.now() + 60_000)));
await store.close();
