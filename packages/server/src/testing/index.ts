// @devicebound/server/testing: the storage conformance suite every adapter runs.
export {
  type ConformanceOptions,
  makeTestDevice,
  runStoreConformanceSuite,
} from "./conformance.js";
