import { libraryConfig } from "../../tsup.preset";

export default libraryConfig({
  external: ["react", "@devicebound/browser"],
  // Next.js and other React Server Components hosts run hooks only in client modules. Rollup's
  // tree shaking would drop the directive, and there is nothing here for it to shake.
  banner: { js: '"use client";' },
  treeshake: false,
});
