import { libraryConfig } from "../../tsup.preset";

// shims: the migrations read sql/ relative to the module, in both the ESM and the CJS build.
export default libraryConfig({ external: ["pg", "@devicebound/server"], shims: true });
