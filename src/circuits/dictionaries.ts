// What an attribution graph needs from the dictionary that replaces an MLP: its active latents and reconstruction on
// the clean forward, and for each latent the vector it reads (the linear part of its pre-activation) and the vector
// it writes per unit activation. Two kinds:
//   transcoderDictionary  a probity / SAELens transcoder (Sae) from blocks.L.ln2.hook_normalized to blocks.L.hook_mlp_out
//   neuronDictionary      the MLP's own neurons (GPT-2's non-gated MLP: act = gelu(W_in x + b_in), out = W_out act +
//                         b_out), an exact "transcoder" with zero error: a check of the graph code, and the
//                         raw-neuron baseline
import { ProbityError, show } from '../errors.js';
import type { NDArray } from '../engine/ndarray.js';
import type { Model } from '../models/model.js';
import type { Sae } from '../dictionaries/sae.js';

export interface ActiveLatent {
  pos: number;
  latent: number;
  activation: number;
}

export interface LayerDictionary {
  layer: number;
  label: string;
  /** Hooks of the clean forward that encode() reads. */
  hooks: string[];
  /** Active latents per position and the reconstruction [T, D] of blocks.L.hook_mlp_out. */
  encode(cache: Record<string, NDArray>, T: number): { active: ActiveLatent[]; recon: Float32Array };
  /** The linear part of latent j's pre-activation on the dictionary's input hook. */
  encoderRow(j: number): Float32Array;
  /** What latent j writes into blocks.L.hook_mlp_out per unit activation. */
  decoderRow(j: number): Float32Array;
}

export function transcoderDictionary(model: Model, layer: number, sae: Sae, label = `transcoder L${layer}`): LayerDictionary {
  const want = { in: `blocks.${layer}.ln2.hook_normalized`, out: `blocks.${layer}.hook_mlp_out` };
  if (sae.cfg.hookName !== want.in || sae.cfg.outHookName !== want.out) {
    throw new ProbityError('GRAPH_TRANSCODER', `${label} reads ${show(sae.cfg.hookName)} and writes ${show(sae.cfg.outHookName)}; expected ${want.in} -> ${want.out}`);
  }
  const D = model.spec.dModel;
  if (sae.dIn !== D || sae.dOut !== D) throw new ProbityError('GRAPH_TRANSCODER', `${label} is ${sae.dIn} -> ${sae.dOut}; the model's d_model is ${D}`);
  if (sae.cfg.architecture === 'gated') throw new ProbityError('GRAPH_TRANSCODER', `${label} is gated: its pre-activation is not one encoder row; use topk, batchtopk, jumprelu or standard`);
  const sIn = sae.cfg.inputScale;
  const sOut = sae.cfg.outputScale ?? sae.cfg.inputScale;
  return {
    layer,
    label,
    hooks: [want.in],
    encode(cache, T) {
      const code = sae.codec().encode(cache[want.in].data as Float32Array, T);
      const active: ActiveLatent[] = [];
      for (let p = 0; p < T; p++) {
        for (let i = 0; i < code.k; i++) {
          const v = code.values[p * code.k + i];
          if (v !== 0) active.push({ pos: p, latent: code.indices[p * code.k + i], activation: v });
        }
      }
      return { active, recon: sae.decodeHost(code) };
    },
    encoderRow: (j) => Float32Array.from(sae.params.W_encT.subarray(j * D, (j + 1) * D), (v) => v * sIn),
    decoderRow: (j) => Float32Array.from(sae.params.W_dec.subarray(j * D, (j + 1) * D), (v) => v / sOut),
  };
}

/** Linear weight as [in, out] rows-of-output access: element (i, o). */
function linearAt(model: Model, name: string): (i: number, o: number) => number {
  const W = model.weights.get(name);
  const c = W.dims[1];
  return model.weights.layout(name) === 'out_in' ? (i, o) => W.data[o * c + i] : (i, o) => W.data[i * c + o];
}

/** The MLP's neurons as an exact dictionary (non-gated MLPs: gpt2). Every neuron with nonzero activation is active. */
export function neuronDictionary(model: Model, layer: number): LayerDictionary {
  if (model.spec.arch !== 'gpt2') throw new ProbityError('GRAPH_TRANSCODER', `neuron dictionary: only non-gated MLPs (gpt2) are exact dictionaries; this model is ${model.spec.arch}`);
  const b = `blocks.${layer}`;
  const D = model.spec.dModel;
  const F = model.spec.dMlp;
  const win = linearAt(model, `${b}.mlp.W_in`);
  const wout = linearAt(model, `${b}.mlp.W_out`);
  const bOut = model.weights.get(`${b}.mlp.b_out`).data;
  return {
    layer,
    label: `neurons L${layer}`,
    hooks: [`${b}.mlp.hook_post`],
    encode(cache, T) {
      const post = cache[`${b}.mlp.hook_post`].data as Float32Array;
      const active: ActiveLatent[] = [];
      const recon = new Float32Array(T * D);
      for (let p = 0; p < T; p++) {
        const acc = Float64Array.from(bOut);
        for (let j = 0; j < F; j++) {
          const a = post[p * F + j];
          if (a === 0) continue;
          active.push({ pos: p, latent: j, activation: a });
          for (let d = 0; d < D; d++) acc[d] += a * wout(j, d);
        }
        recon.set(acc, p * D);
      }
      return { active, recon };
    },
    encoderRow: (j) => Float32Array.from({ length: D }, (_, d) => win(d, j)),
    decoderRow: (j) => Float32Array.from({ length: D }, (_, d) => wout(j, d)),
  };
}
