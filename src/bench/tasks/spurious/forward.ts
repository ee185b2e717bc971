// The spurious suite's model-facing parts: forward passes over stories (mean-pooled activations at the probe's hook,
// token rows kept when asked, and latent ablation at any hook inside the forward by an `fn` intervention), SAE codes
// of token rows, pooled latents and the exact pooled ablation they allow at the probe's hook, per-latent token AUROC
// for the weather label, and a latent's top contexts.
import type { Model } from '../../../models/model.js';
import type { Sae } from '../../../dictionaries/sae.js';
import { NDArray } from '../../../engine/ndarray.js';
import { B as BITS } from '../../../organism/concepts.js';
import { organismTokenizer } from '../../../organism/tokenizer.js';
import { auroc } from '../../../stats/index.js';
import type { Pooled } from './core.js';
import type { Story } from './data.js';


/** Latent ablation at a hook: subtract a_i(x) d_i for the chosen latents at every story token (codes precomputed). */
export interface Ablation {
  hook: string;
  /** [dSae, D] decoder rows in activation units. */
  dec: Float32Array;
  D: number;
  k: number;
  indices: Int32Array;
  values: Float32Array;
  /** Token-row start of each story of the collected list in the code arrays. */
  rowStart: Int32Array;
  latents: Set<number>;
}

export interface Collected {
  pooled: Pooled;
  /** Token rows at the probe hook (story tokens, no <bos>/<eos>), when kept. */
  tokens: Float32Array | null;
  /** Token rows at the early hook, when asked. */
  early: Float32Array | null;
  /** [n + 1] first token row of each story. */
  offsets: Int32Array;
  rows: number;
  /** Concept masks of the token rows. */
  labels: Uint32Array;
}

export function offsetsOf(stories: readonly Story[]): Int32Array {
  const off = new Int32Array(stories.length + 1);
  stories.forEach((s, i) => (off[i + 1] = off[i] + Math.max(0, s.tokens.length - 2)));
  return off;
}

export async function collect(model: Model, hook: string, stories: readonly Story[], o: { keep?: boolean; early?: string | null; ablate?: Ablation; batchRows: number }): Promise<Collected> {
  const D = model.spec.dModel;
  const n = stories.length;
  const offsets = offsetsOf(stories);
  const rows = offsets[n];
  const keep = o.keep ?? false;
  const tokens = keep ? new Float32Array(rows * D) : null;
  const early = o.early ? new Float32Array(rows * D) : null;
  const labels = new Uint32Array(rows);
  const x = new Float32Array(n * D);
  const weatherTok = new Float32Array(n * D);
  const weatherCount = new Int32Array(n);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => stories[b].tokens.length - stories[a].tokens.length);
  const names = [hook, ...(o.early ? [o.early] : [])];
  for (let b0 = 0; b0 < n; b0 += o.batchRows) {
    const batch = order.slice(b0, b0 + o.batchRows);
    const ab = o.ablate;
    const interventions = ab
      ? {
          [ab.hook]: [{
            kind: 'fn' as const,
            fn: (t: NDArray) => {
              const [Bn, T, Dd] = t.dims as number[];
              const data = Float32Array.from(t.data as Float32Array);
              for (let bi = 0; bi < Bn; bi++) {
                const j = batch[bi];
                const L = stories[j].tokens.length;
                const off = T - L;
                for (let r = 0; r < L - 2; r++) {
                  const row = ab.rowStart[j] + r;
                  const at = (bi * T + off + 1 + r) * Dd;
                  for (let e = 0; e < ab.k; e++) {
                    const v = ab.values[row * ab.k + e];
                    if (v === 0) continue;
                    const li = ab.indices[row * ab.k + e];
                    if (!ab.latents.has(li)) continue;
                    for (let q = 0; q < Dd; q++) data[at + q] -= v * ab.dec[li * ab.D + q];
                  }
                }
              }
              return new NDArray(data, t.dims as number[]);
            },
          }],
        }
      : undefined;
    const res = await model.runWithCache(batch.map((j) => Array.from(stories[j].tokens)), { names, logits: 'none', interventions });
    const act = res.cache[hook];
    const [Bn, T] = act.dims as number[];
    const data = act.data as Float32Array;
    const eData = o.early ? (res.cache[o.early].data as Float32Array) : null;
    for (let bi = 0; bi < Bn; bi++) {
      const j = batch[bi];
      const s = stories[j];
      const L = s.tokens.length;
      const off = T - L;
      const m = L - 2;
      for (let r = 0; r < m; r++) {
        const src = (bi * T + off + 1 + r) * D;
        const row = offsets[j] + r;
        const lab = s.labels[1 + r];
        labels[row] = lab;
        const isW = (lab & BITS['entity:weather']) !== 0;
        if (isW) weatherCount[j]++;
        for (let q = 0; q < D; q++) {
          const v = data[src + q];
          x[j * D + q] += v / m;
          if (isW) weatherTok[j * D + q] += v;
        }
        if (tokens) tokens.set(data.subarray(src, src + D), row * D);
        if (early && eData) early.set(eData.subarray(src, src + D), row * D);
      }
      if (weatherCount[j]) for (let q = 0; q < D; q++) weatherTok[j * D + q] /= weatherCount[j];
    }
  }
  const pooled: Pooled = {
    n, d: D, x, weatherTok, weatherCount, tone: Uint8Array.from(stories, (s) => s.tone), weather: Uint8Array.from(stories, (s) => s.weather),
  };
  return { pooled, tokens, early, offsets, rows, labels };
}

export interface Code {
  k: number;
  indices: Int32Array;
  values: Float32Array;
}

export async function encodeRows(sae: Sae, x: Float32Array, n: number): Promise<Code> {
  const parts: { k: number; indices: Int32Array; values: Float32Array }[] = [];
  const d = sae.dIn;
  for (let t0 = 0; t0 < n; t0 += 4096) {
    const b = Math.min(4096, n - t0);
    const c = await sae.encode(x.subarray(t0 * d, (t0 + b) * d), b);
    parts.push({ k: c.k, indices: c.indices, values: c.values });
  }
  const k = Math.max(1, ...parts.map((p) => p.k));
  const indices = new Int32Array(n * k);
  const values = new Float32Array(n * k);
  let row = 0;
  for (const p of parts) {
    const m = p.indices.length / Math.max(1, p.k);
    for (let r = 0; r < m; r++) {
      for (let e = 0; e < p.k; e++) {
        indices[(row + r) * k + e] = p.indices[r * p.k + e];
        values[(row + r) * k + e] = p.values[r * p.k + e];
      }
    }
    row += m;
  }
  return { k, indices, values };
}

/** Decoder rows in activation units ([dSae, D]). */
export function decoderRows(sae: Sae): Float32Array {
  const s = sae.cfg.outputScale ?? sae.cfg.inputScale;
  const W = sae.params.W_dec;
  return s === 1 ? W : Float32Array.from(W, (v) => v / s);
}

/** [n, |latents|] mean activation of each listed latent over each story's token rows. */
export function pooledLatents(code: Code, offsets: Int32Array, latents: readonly number[]): Float64Array {
  const n = offsets.length - 1;
  const col = new Map(latents.map((l, i) => [l, i] as const));
  const out = new Float64Array(n * latents.length);
  for (let j = 0; j < n; j++) {
    const m = offsets[j + 1] - offsets[j];
    for (let r = offsets[j]; r < offsets[j + 1]; r++) {
      for (let e = 0; e < code.k; e++) {
        const c = col.get(code.indices[r * code.k + e]);
        if (c !== undefined) out[j * latents.length + c] += code.values[r * code.k + e] / m;
      }
    }
  }
  return out;
}

/** Pooled activations with the listed latents' pooled contributions removed (exact: pooling is linear). */
export function ablatePooled(p: Pooled, plat: Float64Array, latents: readonly number[], all: readonly number[], dec: Float32Array): Pooled {
  const { n, d } = p;
  const x = Float32Array.from(p.x);
  const cols = latents.map((l) => all.indexOf(l));
  for (let j = 0; j < n; j++) {
    for (let c = 0; c < latents.length; c++) {
      const a = plat[j * all.length + cols[c]];
      if (a === 0) continue;
      const o = latents[c] * d;
      for (let q = 0; q < d; q++) x[j * d + q] -= a * dec[o + q];
    }
  }
  return { ...p, x };
}

export function tokenAuroc(code: Code, rows: number, labels: Uint32Array, latent: number): number {
  const s = new Float64Array(rows);
  for (let r = 0; r < rows; r++) for (let e = 0; e < code.k; e++) if (code.indices[r * code.k + e] === latent) s[r] = code.values[r * code.k + e];
  const y = Uint8Array.from(labels, (l) => ((l & BITS['entity:weather']) !== 0 ? 1 : 0));
  return auroc(s, y);
}

export function topContexts(code: Code, stories: readonly Story[], offsets: Int32Array, latent: number, count: number): { story: string; activation: number; text: string; weather_token: boolean }[] {
  if (count === 0) return [];
  const hits: { j: number; r: number; v: number }[] = [];
  for (let j = 0; j < stories.length; j++) {
    let best = { r: -1, v: 0 };
    for (let r = offsets[j]; r < offsets[j + 1]; r++) {
      for (let e = 0; e < code.k; e++) if (code.indices[r * code.k + e] === latent && code.values[r * code.k + e] > best.v) best = { r: r - offsets[j], v: code.values[r * code.k + e] };
    }
    if (best.r >= 0) hits.push({ j, r: best.r, v: best.v });
  }
  hits.sort((a, b) => b.v - a.v);
  const tok = organismTokenizer();
  return hits.slice(0, count).map(({ j, r, v }) => {
    const ids = Array.from(stories[j].tokens);
    const t = r + 1;
    const text = `${tok.decode(ids.slice(Math.max(1, t - 8), t))}[[${tok.decode([ids[t]])}]]${tok.decode(ids.slice(t + 1, Math.min(ids.length - 1, t + 4)))}`;
    return { story: stories[j].id, activation: v, text, weather_token: (stories[j].labels[t] & BITS['entity:weather']) !== 0 };
  });
}
