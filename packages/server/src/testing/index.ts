// @devicebound/server/testing: the storage conformance suite every adapter runs, and a
// software device that signs proofs, for testing routes without a browser.

export {
  benchmarkStore,
  runStoreBenchmark,
  type StoreBenchmarkOptions,
  type StoreBenchmarkReport,
  type StoreBenchmarkRow,
} from "./benchmark.js";
export { lastJsonLine, type NodeChild, raceNodeScripts, spawnNodeScript } from "./child-process.js";
export {
  type ConformanceOptions,
  makeDbscSessionRecord,
  makeDeviceRecord,
  runStoreConformanceSuite,
} from "./conformance.js";
export {
  createTestDbscClient,
  type DbscHeaderGeneration,
  parseRegistrationHeader,
  type Send,
  type TestDbscClient,
  type TestDbscClientOptions,
  type TestDbscRegistration,
} from "./dbsc-client.js";
export { createTestDevice, type TestDevice, type TestProofInput } from "./test-device.js";
