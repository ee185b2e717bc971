// The model side of the conditional suite: one per-row intervention that expresses every method (constant steering,
// a conditional SAE clamp, a probe-triggered DiffMean push, nothing), sampling with it in full batches, greedy fact
// answers, KL on neutral text, and the triggers (SAE latent pre-activation, probe logit, DiffMean projection) with
// thresholds chosen on train tokens.
//
// The intervention, per batch row b (every value a graph input of shape [B, 1, D] or [B, 1, 1]):
//   y    = x + v[b]                                   constant steering (v = 0: none)
//   trig = x . tw[b] + tc[b]                          trigger score minus its threshold (tw = 0, tc = -1: never fires)
//   pre  = x . ew[b] + ec[b]                          the clamped latent's pre-activation (ew = 0, ec = 0: none)
//   out  = where(trig > 0, y + (val[b] - relu(pre)) * dvec[b], y)
// So where the trigger does not fire the hook value is `y`, which is x itself (x + 0) for a conditional row: the
// conditional methods are exactly a no-op there (tested bit for bit against the unsteered model). The SAE clamp sets
// the latent's contribution relu(pre) * W_dec[i] to val * W_dec[i]; the probe-triggered DiffMean row has ew = 0, so
// it adds val * u where the probe fires.
import type { Model } from '../../../models/model.js';
import { generate } from '../../../models/generate.js';
import type { Intervention } from '../../../models/hooks/interventions.js';
import { NDArray } from '../../../engine/ndarray.js';
import * as op from '../../../engine/ops/index.js';
import { ProbityError, show } from '../../../errors.js';
import type { Sae } from '../../../dictionaries/sae.js';
import { cutReply } from '../../../organism/labeller.js';
import { stopIds } from '../steer-targets.js';

/** What one batch row does at the hook (null in a batch: nothing). */
export interface RowSpec {
  /** Constant vector added at every position. */
  add?: Float32Array;
  /** Conditional part: trigger weights/bias (fires where x . w + c > 0). */
  trigger?: { w: Float32Array; c: number };
  /** The clamped latent's pre-activation (x . w + c); absent: no current contribution is removed. */
  pre?: { w: Float32Array; c: number };
  /** Value the conditional part sets (with `pre`) or adds (without) along `dvec` where the trigger fires. */
  value?: number;
  dvec?: Float32Array;
}

/** The one intervention for a batch of rows (a null row adds zeros and never fires). Unsteered batches run it too,
 *  so every output comes from the same graph (weights as inputs; ORT's prepacked path rounds differently). */
export function rowsIntervention(specs: readonly (RowSpec | null)[], d: number): Intervention {
  const B = specs.length;
  const v = new Float32Array(B * d);
  const tw = new Float32Array(B * d);
  const tc = new Float32Array(B).fill(-1);
  const ew = new Float32Array(B * d);
  const ec = new Float32Array(B);
  const val = new Float32Array(B);
  const dv = new Float32Array(B * d);
  specs.forEach((s, b) => {
    if (!s) return;
    if (s.add) v.set(s.add, b * d);
    if (s.trigger) {
      if (!s.dvec || s.value === undefined) throw new ProbityError('INTERNAL', 'a conditional row needs value and dvec');
      tw.set(s.trigger.w, b * d);
      tc[b] = s.trigger.c;
      dv.set(s.dvec, b * d);
      val[b] = s.value;
      if (s.pre) {
        ew.set(s.pre.w, b * d);
        ec[b] = s.pre.c;
      }
    }
  });
  return {
    kind: 'graph',
    key: `conditional-rows:${B}x${d}`,
    build: (x0, input) => {
      // The hook's batch dim is symbolic; these inputs have the concrete B of this batch, so view x with it.
      const x = op.reshape(x0, [B, x0.shape[1], d]);
      const t = (name: string, data: Float32Array, last: number) => input(name, new NDArray(data, [B, 1, last]));
      const dot = (w: ReturnType<typeof t>) => op.reduceSum(op.mul(x, w), -1, true);
      const y = op.add(x, t('v', v, d));
      const trig = op.add(dot(t('tw', tw, d)), t('tc', tc, 1));
      const pre = op.add(dot(t('ew', ew, d)), t('ec', ec, 1));
      const delta = op.mul(op.sub(t('val', val, 1), op.relu(pre)), t('dvec', dv, d));
      return op.reshapeLike(op.where(op.greater(trig, 0), op.add(y, delta), y), x0);
    },
  };
}

/** The pre-activation of SAE latent i as x . w + c on raw activations (input scale and b_dec folded in, float64). */
export function saePreActivation(sae: Sae, latent: number): { w: Float32Array; c: number } {
  const D = sae.dIn;
  if (!(Number.isInteger(latent) && latent >= 0 && latent < sae.dSae)) throw new ProbityError('BENCH_INPUT', `SAE latent ${show(latent)} is not in 0 .. ${sae.dSae - 1}`);
  if (sae.dOut !== D) throw new ProbityError('BENCH_INPUT', 'conditional clamping needs an SAE (d_out = d_in), not a transcoder');
  const arch = sae.cfg.architecture;
  if (arch !== 'topk' && arch !== 'standard' && arch !== 'batchtopk') {
    throw new ProbityError('BENCH_INPUT', `conditional clamping supports topk, batchtopk and standard SAEs (pre-activation x W_enc + b_enc), got ${show(arch)}`);
  }
  const W = sae.params.W_encT;
  const s = sae.cfg.inputScale;
  const w = new Float32Array(D);
  let c = sae.params.b_enc[latent];
  for (let j = 0; j < D; j++) {
    w[j] = W[latent * D + j] * s;
    if (sae.cfg.applyBDecToInput) c -= sae.params.b_dec[j] * W[latent * D + j];
  }
  return { w, c };
}

/** Decoder row i as it adds to the hook (divided by the output scale). */
export function saeDecoderRow(sae: Sae, latent: number): Float32Array {
  const D = sae.dOut;
  const s = sae.cfg.outputScale ?? sae.cfg.inputScale;
  return Float32Array.from(sae.params.W_dec.subarray(latent * D, (latent + 1) * D), (x) => x / s);
}

export interface Gen {
  reply: string;
  truncated: boolean;
  /** Generated tokens (forward passes after the prompt's). */
  tokens: number;
}

/** Generates every (prompt, spec) row in batches; temperature 0 is greedy. */
export async function sampleRows(
  model: Model, hook: string, rows: readonly { prompt: string; spec: RowSpec | null }[],
  o: { maxTokens: number; stop: string[]; temperature: number; stream: number; batch: number; cut?: boolean },
): Promise<Gen[]> {
  const stop = [...stopIds(model, o.stop), ...(model.tokenizer.eos !== null ? [model.tokenizer.eos] : [])];
  const out: Gen[] = [];
  const d = model.spec.dModel;
  for (let i = 0; i < rows.length; i += o.batch) {
    const chunk = rows.slice(i, i + o.batch);
    const iv = rowsIntervention(chunk.map((r) => r.spec), d);
    const gens = await generate(model, chunk.map((r) => model.tokenizer.encode(r.prompt)), {
      maxTokens: o.maxTokens, temperature: o.temperature, seed: o.stream * 7919 + i, stop, interventions: { [hook]: [iv] },
    });
    for (const g of gens) {
      const text = model.tokenizer.decode(g.tokens);
      out.push({ reply: o.cut === false ? text : cutReply(text), truncated: g.finishReason === 'length', tokens: g.tokens.length });
    }
  }
  return out;
}

/** x . w + c per token row of x [n, d] (float64 accumulation). */
export function linearScores(x: Float32Array, n: number, d: number, w: ArrayLike<number>, c: number): Float64Array {
  const out = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    let s = c;
    for (let j = 0; j < d; j++) s += x[t * d + j] * w[j];
    out[t] = s;
  }
  return out;
}

/**
 * The threshold maximising F1 of (score > threshold) against the labels: the midpoint between the cut score and the
 * next lower distinct score (so a score equal to a train score is classified as on train). Throws without positives.
 */
export function f1Threshold(scores: ArrayLike<number>, labels: ArrayLike<number>): { threshold: number; f1: number; precision: number; recall: number } {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let P = 0;
  for (let i = 0; i < n; i++) P += labels[i] ? 1 : 0;
  if (P === 0 || P === n) throw new ProbityError('BENCH_INPUT', `a trigger threshold needs positive and negative train tokens, got ${P} of ${n} positive`);
  let tp = 0;
  let fp = 0;
  let best = { threshold: Infinity, f1: 0, precision: NaN, recall: 0 };
  for (let k = 0; k < n; k++) {
    if (labels[order[k]]) tp++;
    else fp++;
    const s = scores[order[k]];
    const next = k + 1 < n ? scores[order[k + 1]] : -Infinity;
    if (next === s) continue; // cut only between distinct scores
    const prec = tp / (tp + fp);
    const rec = tp / P;
    const f1 = (2 * prec * rec) / (prec + rec);
    if (f1 > best.f1) best = { threshold: Number.isFinite(next) ? (s + next) / 2 : s - 1, f1, precision: prec, recall: rec };
  }
  return best;
}
