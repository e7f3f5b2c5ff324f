import { libraryConfig } from "../../tsup.preset";

export default libraryConfig({
  entry: {
    index: "src/index.ts",
    "index.node": "src/index.node.ts",
    express: "src/adapters/express.ts",
    fastify: "src/adapters/fastify.ts",
    fetch: "src/adapters/fetch.ts",
    hono: "src/adapters/hono.ts",
    testing: "src/testing/index.ts",
    "testing-conformance": "src/testing/conformance.ts",
  },
  external: ["vitest", "hono", /^node:/],
});
