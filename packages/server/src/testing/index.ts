// @devicebound/server/testing: the storage conformance suite every adapter runs, and a
// software device that signs proofs, for testing routes without a browser.

export {
  benchmarkStore,
  reportStoreBenchmark,
  type StoreBenchmarkOptions,
  type StoreBenchmarkRow,
} from "./benchmark.js";
export {
  type ConformanceOptions,
  makeDeviceRecord,
  runStoreConformanceSuite,
} from "./conformance.js";
export { createTestDevice, type TestDevice, type TestProofInput } from "./test-device.js";
