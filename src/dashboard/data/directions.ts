// What a latent's decoder direction does, through compiled engine graphs (one matmul + TopK per batch of latents, so a
// 16k x 50k logit table or a 16k x 16k cosine table is never held whole):
//   * promoted / suppressed tokens: the decoder row times the final norm's weight, through the unembedding: the
//     direct logit effect per unit of activation (the later layers and the norm's 1/rms scale are ignored; the
//     direction is read as if written just before the final norm, as Neuronpedia's logit tables do);
//   * nearest latents by cosine between decoder rows.
import { Graph } from '../../engine/graph/graph.js';
import { NDArray } from '../../engine/ndarray.js';
import * as op from '../../engine/ops/index.js';
import { compile, type GraphRunner } from '../../engine/session/session.js';
import { ProbityError, show } from '../../errors.js';
import type { Model } from '../../models/model.js';
import type { Sae } from '../../dictionaries/sae.js';

/** Scores A·Mᵀ per row of A [n, D] against M [R, D]: the k largest and the k smallest (indices and values). */
export class RowTopK {
  private runner: Promise<GraphRunner>;
  constructor(
    readonly M: Float32Array,
    readonly R: number,
    readonly D: number,
    readonly k: number,
  ) {
    if (M.length !== R * D) throw new ProbityError('INTERNAL', `RowTopK: matrix has ${M.length} values, expected ${R} x ${D}`);
    const kk = Math.min(k, R);
    const g = new Graph('dashboard_row_topk');
    const a = g.input('a', 'float32', ['B', D]);
    const m = g.input('m', 'float32', [R, D]);
    const scores = op.matmul(a, op.transpose(m, [1, 0])); // [B, R]
    const [hv, hi] = op.topk(scores, kk, -1, true);
    const [lv, li] = op.topk(scores, kk, -1, false);
    g.output(hv, 'hv');
    g.output(hi, 'hi');
    g.output(lv, 'lv');
    g.output(li, 'li');
    this.runner = compile(g);
  }

  async run(a: Float32Array, n: number): Promise<{ high: { index: number; value: number }[][]; low: { index: number; value: number }[][] }> {
    const sess = await this.runner;
    const out = await sess.run({ a: new NDArray(a, [n, this.D]), m: new NDArray(this.M, [this.R, this.D]) });
    const kk = out.hv.dims[1];
    const rows = (v: NDArray, i: NDArray) =>
      Array.from({ length: n }, (_, r) =>
        Array.from({ length: kk }, (_, j) => ({ index: Number((i.data as BigInt64Array)[r * kk + j]), value: (v.data as Float32Array)[r * kk + j] })),
      );
    return { high: rows(out.hv, out.hi), low: rows(out.lv, out.li) };
  }
}

/** The unembedding [V, D] and the final norm's weight as it multiplies the normalised residual (1 + w for Gemma HF). */
export function unembedding(model: Model): { W: Float32Array; V: number; D: number; normWeight: Float32Array | null; how: string } {
  const { spec, weights } = model;
  const name = spec.tied ? 'embed.W_E' : 'unembed.W_U';
  const W = weights.get(name);
  const [V, D] = W.dims;
  if (V !== spec.vocab || D !== spec.dModel) throw new ProbityError('WEIGHT_SHAPE', `${name} has dims ${show(W.dims)}, expected [${spec.vocab}, ${spec.dModel}]`);
  let normWeight: Float32Array | null = null;
  let how = `decoder row through ${name} (no final norm weight found)`;
  if (weights.has('ln_final.w')) {
    const w = weights.get('ln_final.w').data;
    normWeight = spec.normPlusOne ? Float32Array.from(w, (x) => 1 + x) : Float32Array.from(w);
    how = `decoder row times the final norm's weight (ln_final.w${spec.normPlusOne ? ', as 1 + w' : ''}), through ${name}: the direct logit effect per unit of activation; later layers and the norm's 1/rms scale are ignored`;
  }
  return { W: W.data, V, D, normWeight, how };
}

/** Decoder rows of latents [from, to) as [n, dOut], optionally multiplied elementwise by `scale` [dOut]. */
export function decoderRows(sae: Sae, from: number, to: number, scale: Float32Array | null = null, unit = false): Float32Array {
  const D = sae.dOut;
  const out = Float32Array.from(sae.params.W_dec.subarray(from * D, to * D));
  for (let r = 0; r < to - from; r++) {
    const row = out.subarray(r * D, (r + 1) * D);
    if (scale) for (let d = 0; d < D; d++) row[d] *= scale[d];
    if (unit) {
      let s = 0;
      for (let d = 0; d < D; d++) s += row[d] * row[d];
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let d = 0; d < D; d++) row[d] *= inv;
    }
  }
  return out;
}
