import { libraryConfig } from "../../tsup.preset";

export default libraryConfig({ external: ["ioredis", "@devicebound/server"] });
