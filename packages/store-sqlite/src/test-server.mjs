// One app server on the SQLite store, for the crash test: it registers the signing device for
// "alice" on every request, so each accepted request writes its replay record and touches a device.
import { createServer } from "node:http";
import { createDeviceBinding } from "@devicebound/server";
import { sqliteStore } from "../dist/index.js";

const [filename] = process.argv.slice(2);
const store = sqliteStore({ filename });
const binding = createDeviceBinding({
  secret: "sqlite-crash-secret-0123456789-abcdef",
  store,
  publicOrigin: "https://app.example.com",
  lastSeenResolutionMs: 0,
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
    if (req.url === "/api/block") {
      const { device } = await binding.register("alice", proof);
      await binding.block("alice", device.id);
      return send(Response.json({ blocked: device.id }));
    }
    const { newDeviceDetected } = await binding.register("alice", proof);
    await send(Response.json({ ok: true, newDeviceDetected }));
  } catch (error) {
    await send(await binding.errorResponse(error));
  }
});
server.listen(0, "127.0.0.1", () => console.log(`port ${server.address().port}`));
