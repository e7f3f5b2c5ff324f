import { libraryConfig } from "../../tsup.preset";

export default libraryConfig({ external: ["better-sqlite3", "@devicebound/server"] });
