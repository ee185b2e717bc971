// An independent float64 reference of the GPT-2, Llama (+ Qwen2, Qwen3, Mistral), GPT-NeoX and Gemma-2/3 forward
// passes: plain loops over one token row, written from the Hugging Face modeling code (modeling_gpt2.py,
// modeling_llama.py, modeling_qwen2.py, modeling_qwen3.py, modeling_mistral.py, modeling_gpt_neox.py,
// modeling_gemma2.py, modeling_gemma3.py), reading weights by their Hugging Face names and layouts. Nothing here touches probity's graph code, so agreement with it means something.
//
// Every intermediate value is offered to an optional `hook(name, x, shape)` callback under its TransformerLens name
// (the same names probity exposes); the callback may change `x` in place, which is how tests mirror interventions.
// The value after the callback is recorded in `acts`. Shapes are per row: [T, ...] (scores/pattern: [H, T, T]).

export type RefWeights = Record<string, Float32Array | Float64Array>;
export type RefHook = (name: string, x: Float64Array, shape: number[]) => void;

export interface RefResult {
  /** [T][V] */
  logits: Float64Array[];
  acts: Map<string, { data: Float64Array; shape: number[] }>;
}

export interface Gpt2RefConfig {
  nEmbd: number;
  nHead: number;
  nLayer: number;
  nInner: number;
  vocab: number;
  eps: number;
  /** 'gelu_new' (tanh approximation) or 'gelu' (erf). */
  act?: 'gelu_new' | 'gelu';
}

export interface LlamaRefConfig {
  hidden: number;
  nHeads: number;
  nKvHeads: number;
  nLayers: number;
  intermediate: number;
  vocab: number;
  eps: number;
  theta: number;
  /** 'half': HF rotate_half; 'interleaved': pairs (x0, x1), (x2, x3), ... as llama2.c / GGUF. */
  rope: 'half' | 'interleaved';
  tied: boolean;
  /** Explicit head_dim (Qwen3, Mistral); hidden / nHeads when absent. */
  headDim?: number;
  /** Qwen2: q_proj/k_proj/v_proj carry biases; Qwen3 attention_bias: o_proj too. */
  qkvBias?: boolean;
  oBias?: boolean;
  /** Qwen3: q_norm/k_norm, RMSNorm over head_dim of each head, after the projection and before RoPE. */
  qkNorm?: boolean;
  /** Per layer sliding window (Mistral sliding_window, Qwen use_sliding_window) or null. */
  windows?: (number | null)[];
}

export interface NeoxRefConfig {
  hidden: number;
  nHeads: number;
  nLayers: number;
  intermediate: number;
  vocab: number;
  eps: number;
  theta: number;
  /** rotary_ndims = int(head_size * rotary_pct). */
  rotaryDims: number;
  parallel: boolean;
  act: 'gelu' | 'gelu_new';
}

export interface GemmaRefConfig {
  version: 2 | 3;
  hidden: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  nLayers: number;
  intermediate: number;
  vocab: number;
  eps: number;
  /** Global layers: rope_theta with linear rope_scaling factor; local (sliding) layers: rope_local_base_freq. */
  theta: number;
  ropeFactor: number;
  localTheta: number;
  queryPreAttnScalar: number;
  attnSoftcap: number | null;
  finalSoftcap: number | null;
  /** Per layer: sliding window or null (full attention). */
  windows: (number | null)[];
  /** Where the decoder's weights live: "model." or, in multimodal Gemma-3 checkpoints, "language_model.model.". */
  prefix: string;
}

// ---------------------------------------------------------------------------------------------------------------------
// Building blocks

function get(W: RefWeights, names: string[]): Float32Array | Float64Array {
  for (const n of names) if (W[n]) return W[n];
  throw new Error(`reference: no weight ${names.join(' / ')}`);
}

/** GPT-2 Conv1D: y = x @ W + b with W stored [in, out]. */
function conv1d(x: ArrayLike<number>, W: ArrayLike<number>, b: ArrayLike<number>, nIn: number, nOut: number): Float64Array {
  const y = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let s = b[o];
    for (let i = 0; i < nIn; i++) s += x[i] * W[i * nOut + o];
    y[o] = s;
  }
  return y;
}

/** torch.nn.Linear without bias: y = W x with W stored [out, in]. */
function linear(x: ArrayLike<number>, W: ArrayLike<number>, nIn: number, nOut: number): Float64Array {
  const y = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let s = 0;
    for (let i = 0; i < nIn; i++) s += W[o * nIn + i] * x[i];
    y[o] = s;
  }
  return y;
}

/** torch.nn.Linear with bias: y = W x + b. */
function linearB(x: ArrayLike<number>, W: ArrayLike<number>, b: ArrayLike<number> | null, nIn: number, nOut: number): Float64Array {
  const y = linear(x, W, nIn, nOut);
  if (b) for (let o = 0; o < nOut; o++) y[o] += b[o];
  return y;
}

/** Gemma's RMSNorm: x * rsqrt(mean(x^2) + eps) * (1 + w) (Gemma2RMSNorm / Gemma3RMSNorm). */
function gemmaRmsNorm(x: ArrayLike<number>, w: ArrayLike<number>, eps: number): Float64Array {
  const one = Float64Array.from(w as ArrayLike<number>, (v) => 1 + v);
  return rmsNormRef(x, one, eps);
}

/** RMSNorm applied to each Dh-long head of a [T, n, Dh] array. */
function perHead(x: Float64Array, Dh: number, norm: (v: Float64Array) => Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += Dh) out.set(norm(x.slice(o, o + Dh)), o);
  return out;
}

export function layerNormRef(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>, eps: number): Float64Array {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i] - mean) ** 2;
  v /= n; // biased variance, as torch.nn.LayerNorm
  const r = 1 / Math.sqrt(v + eps);
  return Float64Array.from({ length: n }, (_, i) => (x[i] - mean) * r * w[i] + b[i]);
}

export function rmsNormRef(x: ArrayLike<number>, w: ArrayLike<number>, eps: number): Float64Array {
  const n = x.length;
  let ms = 0;
  for (let i = 0; i < n; i++) ms += x[i] * x[i];
  ms /= n;
  const r = 1 / Math.sqrt(ms + eps);
  return Float64Array.from({ length: n }, (_, i) => w[i] * (x[i] * r));
}

const geluNew = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
/** erf to double precision: a series for |x| < 3, a continued fraction beyond. */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let sum = ax;
    let term = ax;
    for (let n = 1; n < 200; n++) {
      term *= (2 * ax * ax) / (2 * n + 1);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    const r = (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
    return x < 0 ? -r : r;
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return x < 0 ? -r : r;
}
const geluErf = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
const silu = (x: number) => x / (1 + Math.exp(-x));

/** Concatenate per-position vectors into one [T * n] array. */
function stack(rows: Float64Array[]): Float64Array {
  const n = rows[0]?.length ?? 0;
  const out = new Float64Array(rows.length * n);
  rows.forEach((r, t) => out.set(r, t * n));
  return out;
}
function unstack(x: Float64Array, T: number): Float64Array[] {
  const n = x.length / T;
  return Array.from({ length: T }, (_, t) => x.slice(t * n, (t + 1) * n));
}

class Recorder {
  readonly acts = new Map<string, { data: Float64Array; shape: number[] }>();
  constructor(private readonly hook?: RefHook) {}
  /** Offer x (flat, shape) to the hook, record the result, return it. */
  at(name: string, x: Float64Array, shape: number[]): Float64Array {
    this.hook?.(name, x, shape);
    this.acts.set(name, { data: x.slice(), shape });
    return x;
  }
  rows(name: string, rows: Float64Array[]): Float64Array[] {
    const T = rows.length;
    return unstack(this.at(name, stack(rows), [T, rows[0].length]), T);
  }
}

/**
 * Causal multi-head attention for one row. q [T, H, Dh], k/v [T, K, Dh]; query head h reads kv head
 * floor(h / (H / K)) (HF repeat_kv: kv head j serves query heads j*G .. (j+1)*G - 1). Returns z [T, H, Dh].
 */
interface AttendOptions {
  /** Multiplies q.k (default 1 / sqrt(Dh)). */
  scale?: number;
  /** Gemma-2: scores = cap * tanh(scores / cap), after scaling, before the mask. */
  softcap?: number | null;
  /** Sliding window: key j visible from query i only when i - j < window (HF sliding_window_overlay). */
  window?: number | null;
}

function attend(rec: Recorder, b: string, q: Float64Array, k: Float64Array, v: Float64Array, T: number, H: number, K: number, Dh: number, o: AttendOptions = {}): Float64Array {
  const G = H / K;
  const scale = o.scale ?? 1 / Math.sqrt(Dh);
  const scores = new Float64Array(H * T * T);
  for (let h = 0; h < H; h++) {
    const kvh = Math.floor(h / G);
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        let s = -Infinity;
        if (j <= i && (o.window == null || i - j < o.window)) {
          s = 0;
          for (let d = 0; d < Dh; d++) s += q[(i * H + h) * Dh + d] * k[(j * K + kvh) * Dh + d];
          s *= scale;
          if (o.softcap) s = o.softcap * Math.tanh(s / o.softcap);
        }
        scores[(h * T + i) * T + j] = s;
      }
    }
  }
  rec.at(`${b}.attn.hook_attn_scores`, scores, [H, T, T]);
  const pattern = new Float64Array(H * T * T);
  for (let r = 0; r < H * T; r++) {
    let max = -Infinity;
    for (let j = 0; j < T; j++) max = Math.max(max, scores[r * T + j]);
    let sum = 0;
    for (let j = 0; j < T; j++) sum += Math.exp(scores[r * T + j] - max);
    for (let j = 0; j < T; j++) pattern[r * T + j] = Math.exp(scores[r * T + j] - max) / sum;
  }
  rec.at(`${b}.attn.hook_pattern`, pattern, [H, T, T]);
  const z = new Float64Array(T * H * Dh);
  for (let h = 0; h < H; h++) {
    const kvh = Math.floor(h / G);
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        const p = pattern[(h * T + i) * T + j];
        for (let d = 0; d < Dh; d++) z[(i * H + h) * Dh + d] += p * v[(j * K + kvh) * Dh + d];
      }
    }
  }
  return rec.at(`${b}.attn.hook_z`, z, [T, H, Dh]);
}

const add = (a: Float64Array, b: Float64Array) => Float64Array.from(a, (x, i) => x + b[i]);

// ---------------------------------------------------------------------------------------------------------------------
// GPT-2 (HF GPT2LMHeadModel; weights named with or without the "transformer." prefix)

export function gpt2Reference(cfg: Gpt2RefConfig, W: RefWeights, tokens: readonly number[], hook?: RefHook): RefResult {
  const { nEmbd: D, nHead: H, nLayer: L, nInner: F, vocab: V, eps } = cfg;
  const Dh = D / H;
  const T = tokens.length;
  const w = (n: string) => get(W, [`transformer.${n}`, n]);
  const act = cfg.act === 'gelu' ? geluErf : geluNew;
  const rec = new Recorder(hook);

  const wte = w('wte.weight');
  const wpe = w('wpe.weight');
  const tok = rec.rows('hook_embed', tokens.map((id) => Float64Array.from(wte.subarray(id * D, (id + 1) * D))));
  const pos = rec.rows('hook_pos_embed', tokens.map((_, t) => Float64Array.from(wpe.subarray(t * D, (t + 1) * D))));
  let x: Float64Array[] = tok.map((e, t) => add(e, pos[t]));

  for (let l = 0; l < L; l++) {
    const b = `blocks.${l}`;
    const p = (n: string) => w(`h.${l}.${n}`);
    x = rec.rows(`${b}.hook_resid_pre`, x);
    const h = rec.rows(`${b}.ln1.hook_normalized`, x.map((r) => layerNormRef(r, p('ln_1.weight'), p('ln_1.bias'), eps)));
    const qkv = h.map((r) => conv1d(r, p('attn.c_attn.weight'), p('attn.c_attn.bias'), D, 3 * D));
    // split(D, dim=2) of the fused output: q, k, v in that order; heads are contiguous Dh slices.
    const q = rec.at(`${b}.attn.hook_q`, stack(qkv.map((r) => r.slice(0, D))), [T, H, Dh]);
    const k = rec.at(`${b}.attn.hook_k`, stack(qkv.map((r) => r.slice(D, 2 * D))), [T, H, Dh]);
    const v = rec.at(`${b}.attn.hook_v`, stack(qkv.map((r) => r.slice(2 * D, 3 * D))), [T, H, Dh]);
    const z = unstack(attend(rec, b, q, k, v, T, H, H, Dh), T);
    const attnOut = rec.rows(`${b}.hook_attn_out`, z.map((r) => conv1d(r, p('attn.c_proj.weight'), p('attn.c_proj.bias'), D, D)));
    const mid = rec.rows(`${b}.hook_resid_mid`, x.map((r, t) => add(r, attnOut[t])));
    const h2 = rec.rows(`${b}.ln2.hook_normalized`, mid.map((r) => layerNormRef(r, p('ln_2.weight'), p('ln_2.bias'), eps)));
    const pre = rec.rows(`${b}.mlp.hook_pre`, h2.map((r) => conv1d(r, p('mlp.c_fc.weight'), p('mlp.c_fc.bias'), D, F)));
    const post = rec.rows(`${b}.mlp.hook_post`, pre.map((r) => r.map(act)));
    const mlpOut = rec.rows(`${b}.hook_mlp_out`, post.map((r) => conv1d(r, p('mlp.c_proj.weight'), p('mlp.c_proj.bias'), F, D)));
    x = rec.rows(`${b}.hook_resid_post`, mid.map((r, t) => add(r, mlpOut[t])));
  }
  const hf = rec.rows('ln_final.hook_normalized', x.map((r) => layerNormRef(r, w('ln_f.weight'), w('ln_f.bias'), eps)));
  // Tied head: logits = h @ wte^T.
  const logits = hf.map((r) => linear(r, wte, D, V));
  return { logits, acts: rec.acts };
}

// ---------------------------------------------------------------------------------------------------------------------
// Llama (HF LlamaForCausalLM; weights named with or without the "model." prefix)

/** Rotate x [T, n, Dh] in place for positions 0..T-1. */
export function ropeRef(
  x: Float64Array, T: number, n: number, Dh: number, theta: number, layout: 'half' | 'interleaved',
  /** GPT-NeoX: rotate only the first `rotDims` dims of each head (the rest pass through); linear scaling `factor`. */
  rotDims = Dh, factor = 1,
): Float64Array {
  const half = rotDims / 2;
  const out = Float64Array.from(x);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < n; h++) {
      const o = (t * n + h) * Dh;
      for (let i = 0; i < half; i++) {
        // inv_freq = 1 / theta^(arange(0, dim, 2) / dim), divided by the factor for linear rope_scaling
        const ang = t / factor / theta ** ((2 * i) / rotDims);
        const c = Math.cos(ang);
        const s = Math.sin(ang);
        if (layout === 'half') {
          // q * cos + rotate_half(q) * sin, rotate_half(x) = cat(-x2, x1), cos/sin = cat(freqs, freqs)
          const a = x[o + i];
          const bb = x[o + i + half];
          out[o + i] = a * c - bb * s;
          out[o + i + half] = bb * c + a * s;
        } else {
          const a = x[o + 2 * i];
          const bb = x[o + 2 * i + 1];
          out[o + 2 * i] = a * c - bb * s;
          out[o + 2 * i + 1] = a * s + bb * c;
        }
      }
    }
  }
  return out;
}

export function llamaReference(cfg: LlamaRefConfig, W: RefWeights, tokens: readonly number[], hook?: RefHook): RefResult {
  const { hidden: D, nHeads: H, nKvHeads: K, nLayers: L, intermediate: F, vocab: V, eps } = cfg;
  const Dh = cfg.headDim ?? D / H;
  const T = tokens.length;
  const w = (n: string) => get(W, [`model.${n}`, n]);
  const rec = new Recorder(hook);

  const emb = w('embed_tokens.weight');
  let x: Float64Array[] = rec.rows('hook_embed', tokens.map((id) => Float64Array.from(emb.subarray(id * D, (id + 1) * D))));
  for (let l = 0; l < L; l++) {
    const b = `blocks.${l}`;
    const p = (n: string) => w(`layers.${l}.${n}.weight`);
    const bias = (n: string, on?: boolean) => (on ? w(`layers.${l}.${n}.bias`) : null);
    x = rec.rows(`${b}.hook_resid_pre`, x);
    const h = rec.rows(`${b}.ln1.hook_normalized`, x.map((r) => rmsNormRef(r, p('input_layernorm'), eps)));
    let q = rec.at(`${b}.attn.hook_q`, stack(h.map((r) => linearB(r, p('self_attn.q_proj'), bias('self_attn.q_proj', cfg.qkvBias), D, H * Dh))), [T, H, Dh]);
    let k = rec.at(`${b}.attn.hook_k`, stack(h.map((r) => linearB(r, p('self_attn.k_proj'), bias('self_attn.k_proj', cfg.qkvBias), D, K * Dh))), [T, K, Dh]);
    const v = rec.at(`${b}.attn.hook_v`, stack(h.map((r) => linearB(r, p('self_attn.v_proj'), bias('self_attn.v_proj', cfg.qkvBias), D, K * Dh))), [T, K, Dh]);
    if (cfg.qkNorm) {
      // Qwen3Attention: q_norm(q_proj(x).view(..., head_dim)), likewise k, then RoPE.
      q = rec.at(`${b}.attn.q_norm.hook_normalized`, perHead(q, Dh, (r) => rmsNormRef(r, p('self_attn.q_norm'), eps)), [T, H, Dh]);
      k = rec.at(`${b}.attn.k_norm.hook_normalized`, perHead(k, Dh, (r) => rmsNormRef(r, p('self_attn.k_norm'), eps)), [T, K, Dh]);
    }
    const qr = rec.at(`${b}.attn.hook_rot_q`, ropeRef(q, T, H, Dh, cfg.theta, cfg.rope), [T, H, Dh]);
    const kr = rec.at(`${b}.attn.hook_rot_k`, ropeRef(k, T, K, Dh, cfg.theta, cfg.rope), [T, K, Dh]);
    const z = unstack(attend(rec, b, qr, kr, v, T, H, K, Dh, { window: cfg.windows?.[l] ?? null }), T);
    const attnOut = rec.rows(`${b}.hook_attn_out`, z.map((r) => linearB(r, p('self_attn.o_proj'), bias('self_attn.o_proj', cfg.oBias), H * Dh, D)));
    const mid = rec.rows(`${b}.hook_resid_mid`, x.map((r, t) => add(r, attnOut[t])));
    const h2 = rec.rows(`${b}.ln2.hook_normalized`, mid.map((r) => rmsNormRef(r, p('post_attention_layernorm'), eps)));
    const gate = rec.rows(`${b}.mlp.hook_pre`, h2.map((r) => linear(r, p('mlp.gate_proj'), D, F)));
    const up = rec.rows(`${b}.mlp.hook_pre_linear`, h2.map((r) => linear(r, p('mlp.up_proj'), D, F)));
    const post = rec.rows(`${b}.mlp.hook_post`, gate.map((g, t) => g.map((gi, i) => silu(gi) * up[t][i])));
    const mlpOut = rec.rows(`${b}.hook_mlp_out`, post.map((r) => linear(r, p('mlp.down_proj'), F, D)));
    x = rec.rows(`${b}.hook_resid_post`, mid.map((r, t) => add(r, mlpOut[t])));
  }
  const hf = rec.rows('ln_final.hook_normalized', x.map((r) => rmsNormRef(r, w('norm.weight'), eps)));
  const head = cfg.tied ? emb : get(W, ['lm_head.weight']);
  const logits = hf.map((r) => linear(r, head, D, V));
  return { logits, acts: rec.acts };
}

// ---------------------------------------------------------------------------------------------------------------------
// GPT-NeoX / Pythia (HF GPTNeoXForCausalLM: "gpt_neox." decoder, "embed_out" head)

export function gptNeoxReference(cfg: NeoxRefConfig, W: RefWeights, tokens: readonly number[], hook?: RefHook): RefResult {
  const { hidden: D, nHeads: H, nLayers: L, intermediate: F, vocab: V, eps } = cfg;
  const Dh = D / H;
  const T = tokens.length;
  const w = (n: string) => get(W, [`gpt_neox.${n}`]);
  const act = cfg.act === 'gelu' ? geluErf : geluNew;
  const rec = new Recorder(hook);

  const emb = w('embed_in.weight');
  let x: Float64Array[] = rec.rows('hook_embed', tokens.map((id) => Float64Array.from(emb.subarray(id * D, (id + 1) * D))));
  for (let l = 0; l < L; l++) {
    const b = `blocks.${l}`;
    const p = (n: string) => w(`layers.${l}.${n}`);
    x = rec.rows(`${b}.hook_resid_pre`, x);
    const h = rec.rows(`${b}.ln1.hook_normalized`, x.map((r) => layerNormRef(r, p('input_layernorm.weight'), p('input_layernorm.bias'), eps)));
    // qkv.view(..., H, 3 * head_size).chunk(3, dim=-1): head h's q, k, v are rows h*3*Dh + {0, Dh, 2Dh} + d.
    const qkv = h.map((r) => linearB(r, p('attention.query_key_value.weight'), p('attention.query_key_value.bias'), D, 3 * D));
    const pick = (s: number) => stack(qkv.map((r) => Float64Array.from({ length: H * Dh }, (_, i) => r[Math.floor(i / Dh) * 3 * Dh + s * Dh + (i % Dh)])));
    const q = rec.at(`${b}.attn.hook_q`, pick(0), [T, H, Dh]);
    const k = rec.at(`${b}.attn.hook_k`, pick(1), [T, H, Dh]);
    const v = rec.at(`${b}.attn.hook_v`, pick(2), [T, H, Dh]);
    // apply_rotary_pos_emb on [..., :rotary_ndims], the rest concatenated back unrotated.
    const qr = rec.at(`${b}.attn.hook_rot_q`, ropeRef(q, T, H, Dh, cfg.theta, 'half', cfg.rotaryDims), [T, H, Dh]);
    const kr = rec.at(`${b}.attn.hook_rot_k`, ropeRef(k, T, H, Dh, cfg.theta, 'half', cfg.rotaryDims), [T, H, Dh]);
    const z = unstack(attend(rec, b, qr, kr, v, T, H, H, Dh), T);
    const attnOut = rec.rows(`${b}.hook_attn_out`, z.map((r) => linearB(r, p('attention.dense.weight'), p('attention.dense.bias'), D, D)));
    // use_parallel_residual: x + attn(ln1(x)) + mlp(ln2(x)); else x = x + attn(ln1(x)); x = x + mlp(ln2(x)).
    const mid = cfg.parallel ? x : rec.rows(`${b}.hook_resid_mid`, x.map((r, t) => add(r, attnOut[t])));
    const h2 = rec.rows(`${b}.ln2.hook_normalized`, mid.map((r) => layerNormRef(r, p('post_attention_layernorm.weight'), p('post_attention_layernorm.bias'), eps)));
    const pre = rec.rows(`${b}.mlp.hook_pre`, h2.map((r) => linearB(r, p('mlp.dense_h_to_4h.weight'), p('mlp.dense_h_to_4h.bias'), D, F)));
    const post = rec.rows(`${b}.mlp.hook_post`, pre.map((r) => r.map(act)));
    const mlpOut = rec.rows(`${b}.hook_mlp_out`, post.map((r) => linearB(r, p('mlp.dense_4h_to_h.weight'), p('mlp.dense_4h_to_h.bias'), F, D)));
    x = rec.rows(`${b}.hook_resid_post`, mid.map((r, t) => (cfg.parallel ? add(add(r, attnOut[t]), mlpOut[t]) : add(r, mlpOut[t]))));
  }
  const hf = rec.rows('ln_final.hook_normalized', x.map((r) => layerNormRef(r, w('final_layer_norm.weight'), w('final_layer_norm.bias'), eps)));
  const logits = hf.map((r) => linear(r, get(W, ['embed_out.weight']), D, V));
  return { logits, acts: rec.acts };
}

// ---------------------------------------------------------------------------------------------------------------------
// Gemma-2 / Gemma-3 (HF Gemma2ForCausalLM, Gemma3ForCausalLM; multimodal checkpoints under "language_model.model.")

export function gemmaReference(cfg: GemmaRefConfig, W: RefWeights, tokens: readonly number[], hook?: RefHook): RefResult {
  const { hidden: D, nHeads: H, nKvHeads: K, headDim: Dh, nLayers: L, intermediate: F, vocab: V, eps } = cfg;
  const T = tokens.length;
  const w = (n: string) => get(W, [`${cfg.prefix}${n}`]);
  const rec = new Recorder(hook);
  const norm = (r: ArrayLike<number>, name: string) => gemmaRmsNorm(r, w(name), eps);

  const emb = w('embed_tokens.weight');
  // hidden_states = inputs_embeds * normalizer, normalizer = hidden_size ** 0.5
  const scale = Math.sqrt(D);
  let x: Float64Array[] = rec.rows('hook_embed', tokens.map((id) => Float64Array.from(emb.subarray(id * D, (id + 1) * D), (e) => e * scale)));
  for (let l = 0; l < L; l++) {
    const b = `blocks.${l}`;
    const pn = (n: string) => `layers.${l}.${n}.weight`;
    const p = (n: string) => w(pn(n));
    const window = cfg.windows[l];
    x = rec.rows(`${b}.hook_resid_pre`, x);
    const h = rec.rows(`${b}.ln1.hook_normalized`, x.map((r) => norm(r, pn('input_layernorm'))));
    let q = rec.at(`${b}.attn.hook_q`, stack(h.map((r) => linear(r, p('self_attn.q_proj'), D, H * Dh))), [T, H, Dh]);
    let k = rec.at(`${b}.attn.hook_k`, stack(h.map((r) => linear(r, p('self_attn.k_proj'), D, K * Dh))), [T, K, Dh]);
    const v = rec.at(`${b}.attn.hook_v`, stack(h.map((r) => linear(r, p('self_attn.v_proj'), D, K * Dh))), [T, K, Dh]);
    if (cfg.version === 3) {
      q = rec.at(`${b}.attn.q_norm.hook_normalized`, perHead(q, Dh, (r) => norm(r, pn('self_attn.q_norm'))), [T, H, Dh]);
      k = rec.at(`${b}.attn.k_norm.hook_normalized`, perHead(k, Dh, (r) => norm(r, pn('self_attn.k_norm'))), [T, K, Dh]);
    }
    // Gemma-3: sliding layers use rotary_emb_local (rope_local_base_freq, no scaling), full layers rotary_emb.
    const [theta, factor] = window !== null ? [cfg.localTheta, 1] : [cfg.theta, cfg.ropeFactor];
    const qr = rec.at(`${b}.attn.hook_rot_q`, ropeRef(q, T, H, Dh, theta, 'half', Dh, factor), [T, H, Dh]);
    const kr = rec.at(`${b}.attn.hook_rot_k`, ropeRef(k, T, K, Dh, theta, 'half', Dh, factor), [T, K, Dh]);
    const z = unstack(attend(rec, b, qr, kr, v, T, H, K, Dh, { scale: cfg.queryPreAttnScalar ** -0.5, softcap: cfg.attnSoftcap, window }), T);
    const o = z.map((r) => linear(r, p('self_attn.o_proj'), H * Dh, D));
    const attnOut = rec.rows(`${b}.hook_attn_out`, rec.rows(`${b}.ln1_post.hook_normalized`, o.map((r) => norm(r, pn('post_attention_layernorm')))));
    const mid = rec.rows(`${b}.hook_resid_mid`, x.map((r, t) => add(r, attnOut[t])));
    const h2 = rec.rows(`${b}.ln2.hook_normalized`, mid.map((r) => norm(r, pn('pre_feedforward_layernorm'))));
    const gate = rec.rows(`${b}.mlp.hook_pre`, h2.map((r) => linear(r, p('mlp.gate_proj'), D, F)));
    const up = rec.rows(`${b}.mlp.hook_pre_linear`, h2.map((r) => linear(r, p('mlp.up_proj'), D, F)));
    // down_proj(act_fn(gate_proj(x)) * up_proj(x)), act gelu_pytorch_tanh
    const post = rec.rows(`${b}.mlp.hook_post`, gate.map((g, t) => g.map((gi, i) => geluNew(gi) * up[t][i])));
    const m = post.map((r) => linear(r, p('mlp.down_proj'), F, D));
    const mlpOut = rec.rows(`${b}.hook_mlp_out`, rec.rows(`${b}.ln2_post.hook_normalized`, m.map((r) => norm(r, pn('post_feedforward_layernorm')))));
    x = rec.rows(`${b}.hook_resid_post`, mid.map((r, t) => add(r, mlpOut[t])));
  }
  const hf = rec.rows('ln_final.hook_normalized', x.map((r) => norm(r, 'norm.weight')));
  let logits = hf.map((r) => linear(r, emb, D, V));
  const cap = cfg.finalSoftcap;
  if (cap) logits = logits.map((r) => r.map((z) => cap * Math.tanh(z / cap)));
  return { logits, acts: rec.acts };
}

// ---------------------------------------------------------------------------------------------------------------------
// Small numeric helpers for the tests

export function logSoftmaxRef(x: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i]);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i] - max);
  const lse = max + Math.log(s);
  return Float64Array.from(x as ArrayLike<number>, (v) => v - lse);
}

/** max |a - b| over equal-length arrays (throws on a length mismatch). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}
