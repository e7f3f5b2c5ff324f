import { libraryConfig } from "../../tsup.preset";

export default libraryConfig();
