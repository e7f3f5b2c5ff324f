// @devicebound/server/testing: a software device that signs proofs, for testing routes without a
// browser, and the store benchmark. Needs no test runner: the vitest conformance suite is
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
export { lastJsonLine, type NodeChild, raceNodeScripts, spawnNodeScript } from "./child-process.js";
export {
  createTestDevice,
  type TestActionInput,
  type TestDevice,
  type TestProofInput,
} from "./test-device.js";
