// @devicebound/server/testing: a software device that signs proofs and a software DBSC client,
// for testing routes without a browser, a localhost certificate for testing DBSC in Chromium,
// and the store benchmark. Needs no test runner: the vitest conformance suite is
// @devicebound/server/testing/conformance.

export {
  benchmarkListAll,
  benchmarkStore,
  type ListAllBenchmarkOptions,
  runStoreBenchmark,
  type StoreBenchmarkOptions,
  type StoreBenchmarkReport,
  type StoreBenchmarkRow,
} from "./benchmark.js";
export { createTestCertificate, spkiSha256, type TestCertificate } from "./certificate.js";
export { lastJsonLine, type NodeChild, raceNodeScripts, spawnNodeScript } from "./child-process.js";
export {
  createTestDbscClient,
  type DbscHeaderGeneration,
  parseRegistrationHeader,
  type Send,
  type TestDbscClient,
  type TestDbscClientOptions,
  type TestDbscRegistration,
} from "./dbsc-client.js";
export {
  createTestDevice,
  type TestActionInput,
  type TestDevice,
  type TestProofInput,
} from "./test-device.js";
