// probity/bench: the concept methods (fit on labelled activations -> per-token scores and a steering direction), the
// detection and steering tasks, and the whole `probity bench` run. The public entry point of this area.
export {
  diffMean, probe, fitLogistic, pcaMethod, kmeansMethod, randomDirection, saeBestLatent, saeTopKProbe, latentStats, standardMethods, getMethod, METHOD_NAMES,
  type ConceptData, type FittedMethod, type Method, type MethodName,
} from './methods/index.js';
export { collectConceptActivations, conceptData, splitDocuments, runDetection, type ConceptActivations, type DetectOptions, type DetectResult } from './tasks/detect.js';
export { runSteering, type SteerOptions, type SteerResult } from './tasks/steer.js';
export { steerTarget, STEER_TARGET_NAMES, type SteerTarget } from './tasks/steer-targets.js';
export { runBench, BENCH_PRESETS, SUITES, DEFAULT_SUITES, type BenchConfig, type BenchRunOptions, type Suite } from './suite.js';
export type { BenchResults, ResultRow } from './results.js';
export { renderBenchReport } from '../report/bench-report.js';
