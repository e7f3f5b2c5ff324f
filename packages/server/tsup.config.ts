import { libraryConfig } from "../../tsup.preset";

export default libraryConfig({
  entry: {
    index: "src/index.ts",
    "index.node": "src/index.node.ts",
    testing: "src/testing/index.ts",
  },
  external: ["vitest", "node:crypto"],
});
