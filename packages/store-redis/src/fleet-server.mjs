// One server of a fleet, for the fleet test: devices in PostgreSQL, replay in Redis, both shared.
import { createServer } from "node:http";
import { createDeviceBinding } from "@devicebound/server";
import { postgresStore } from "@devicebound/store-postgres";
import { redisStore } from "../dist/index.js";

const [pgUrl, schema, redisUrl, prefix] = process.argv.slice(2);
const store = postgresStore({ connectionString: pgUrl, schema });
const replay = redisStore({ url: redisUrl, keyPrefix: prefix });
const binding = createDeviceBinding({
  secret: "fleet-shared-secret-0123456789-abcdef",
  store,
  replayStore: replay,
  publicOrigin: "https://app.example.com",
});

const server = createServer(async (req, res) => {
  const send = async (response) => {
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(await response.text());
  };
  if (req.url === "/challenge") return send(Response.json(await binding.createChallenge()));
  try {
    const proof = await binding.verifyRequest({
      method: req.method,
      url: req.url,
      headers: req.headers,
    });
    const { newDeviceDetected } = await binding.register("alice", proof);
    await send(Response.json({ ok: true, newDeviceDetected, pid: process.pid }));
  } catch (error) {
    await send(await binding.errorResponse(error));
  }
});
server.listen(0, "127.0.0.1", () => console.log(`port ${server.address().port}`));
process.on("SIGTERM", async () => {
  server.close();
  await Promise.all([store.close(), replay.close()]);
  process.exit(0);
});
