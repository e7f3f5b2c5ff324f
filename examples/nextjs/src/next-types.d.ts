// Next's ambient types (CSS imports, images) for `tsc` on a fresh checkout, where the generated
// next-env.d.ts does not exist yet.
/// <reference types="next" />
/// <reference types="next/image-types/global" />
