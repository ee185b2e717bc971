export { type Code, type Codec, type DenseCode, type SparseCode, topKIndices } from './codes.js';
export { ReconstructionStats, type ReconstructionMetrics } from './reconstruction.js';
export { SparsityStats, DENSE_THRESHOLD, type DensityHistogram, type SparsityMetrics } from './sparsity.js';
export { CodecStats, evaluateCodec, type CodecMetrics } from './evaluate.js';
export { ceLossScore, klScore, logSoftmaxRow, CrossEntropyStats, KLStats } from './downstream.js';
export { symmetricEigen, solveSpd, type SymmetricEigen } from './linalg.js';
export {
  PcaCodec,
  fitPca,
  KMeansCodec,
  fitKMeans,
  RandomDictionaryCodec,
  fitRandomDictionary,
  columnMean,
  type KMeansFit,
  type RandomDecoder,
} from './baselines.js';
