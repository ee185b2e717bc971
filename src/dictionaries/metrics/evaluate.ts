// One accumulator for everything that needs only (x, xhat, code), and a driver that runs a codec over data in batches.
import { type Code, type Codec } from './codes.js';
import { ReconstructionStats, type ReconstructionMetrics } from './reconstruction.js';
import { SparsityStats, type DensityHistogram, type SparsityMetrics } from './sparsity.js';

export type CodecMetrics = ReconstructionMetrics & SparsityMetrics;

export class CodecStats {
  readonly reconstruction: ReconstructionStats;
  readonly sparsity: SparsityStats;

  constructor(dIn: number, dSae: number) {
    this.reconstruction = new ReconstructionStats(dIn);
    this.sparsity = new SparsityStats(dSae);
  }

  /** x, xhat: [code.n, dIn]. */
  add(x: ArrayLike<number>, xhat: ArrayLike<number>, code: Code): this {
    this.reconstruction.add(x, xhat, code.n);
    this.sparsity.add(code);
    return this;
  }

  /** fve, mse_per_token, cosine, l2_ratio, shrinkage, n_tokens, l0, l1, dead_fraction, dense_fraction. */
  metrics(): CodecMetrics {
    return { ...this.reconstruction.metrics(), ...this.sparsity.metrics() };
  }

  densityHistogram(opts?: { lo?: number; hi?: number; nBins?: number }): DensityHistogram {
    return this.sparsity.densityHistogram(opts);
  }
}

/** Encodes and decodes x [n, codec.dIn] in batches of `batchSize` tokens and accumulates every metric. */
export function evaluateCodec(codec: Codec, x: Float32Array, n: number, batchSize = 4096, stats = new CodecStats(codec.dIn, codec.dSae)): CodecStats {
  const d = codec.dIn;
  for (let t0 = 0; t0 < n; t0 += batchSize) {
    const b = Math.min(batchSize, n - t0);
    const xb = x.subarray(t0 * d, (t0 + b) * d);
    const code = codec.encode(xb, b);
    stats.add(xb, codec.decode(code), code);
  }
  return stats;
}
