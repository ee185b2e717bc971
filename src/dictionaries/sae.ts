// A sparse autoencoder (or transcoder): its configuration and parameters as Float32Arrays, run through compiled engine
// graphs. Parameters are graph *inputs*, never constants, so one compiled session serves every SAE of the same shape
// and a training step's parameters can be snapshotted into an Sae without recompiling anything.
//
// Paths:
//   encode / decode / reconstruct / evaluate  async, compiled graphs (symbolic batch dim 'B'), compiled once per Sae
//   codec()                                    the synchronous metrics `Codec` (host TypeScript arithmetic; the
//                                              metrics interface is synchronous and ORT runs are not)
//   spliceIntervention(s)                      a `graph` intervention that replaces a hook with the reconstruction
// Codes come back as SparseCode. Dense architectures (standard, jumprelu, gated, batchtopk at inference) are converted
// with k = the largest number of active latents of any token in the batch (at least 1; shorter rows padded with index
// 0, value 0); `maxK` caps k, keeping each token's largest values (then the code is lossy and says so nowhere else).
import { Graph, type Tensor } from '../engine/graph/graph.js';
import { mulDims, type Dim } from '../engine/graph/shape.js';
import { NDArray } from '../engine/ndarray.js';
import * as op from '../engine/ops/index.js';
import { compile, type GraphRunner, type SessionOptions } from '../engine/session/session.js';
import { ProbityError, show } from '../errors.js';
import type { Intervention, InterventionMap } from '../models/hooks/interventions.js';
import { CodecStats, type Codec, type SparseCode } from './metrics/index.js';
import { getArchitecture } from './architectures/registry.js';
import { mulberry32 } from '../util/random.js';
import type { ArchitectureName, HostCode, ParamSpec, SaeArchitecture, SaeConfig } from './architectures/types.js';

/** SaeConfig as a caller may write it: dOut defaults to dIn, inputScale to 1, applyBDecToInput to true except for
 *  transcoders (dOut != dIn, or an outHookName other than hookName). */
export type SaeConfigInput = Omit<SaeConfig, 'dOut' | 'inputScale' | 'applyBDecToInput'> & Partial<Pick<SaeConfig, 'dOut' | 'inputScale' | 'applyBDecToInput'>>;

export interface SaeInitOptions {
  /** Norm of the initial decoder rows (default: the architecture's, 1 for TopK/BatchTopK, 0.1 otherwise as SAELens). */
  decoderInitNorm?: number;
}

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Fill defaults, drop undefined fields, and check the configuration. */
export function normalizeConfig(c: SaeConfigInput): SaeConfig {
  const arch = getArchitecture(c.architecture);
  const bad = (field: string, value: unknown, want: string): never => {
    throw new ProbityError('SAE_CONFIG', `SAE config: ${field} is ${show(value)}, expected ${want}`);
  };
  if (!isPosInt(c.dIn)) bad('dIn', c.dIn, 'a positive integer');
  if (!isPosInt(c.dSae)) bad('dSae', c.dSae, 'a positive integer');
  const dOut = c.dOut ?? c.dIn;
  if (!isPosInt(dOut)) bad('dOut', dOut, 'a positive integer');
  const transcoder = dOut !== c.dIn || (c.outHookName !== undefined && c.outHookName !== c.hookName);
  const applyBDecToInput = c.applyBDecToInput ?? !transcoder;
  if (applyBDecToInput && dOut !== c.dIn) bad('applyBDecToInput', true, `false when dOut (${dOut}) differs from dIn (${c.dIn})`);
  const inputScale = c.inputScale ?? 1;
  if (!(inputScale > 0) || !Number.isFinite(inputScale)) bad('inputScale', inputScale, 'a positive number');
  if (c.outputScale !== undefined && (!(c.outputScale > 0) || !Number.isFinite(c.outputScale))) bad('outputScale', c.outputScale, 'a positive number');
  if (applyBDecToInput && c.outputScale !== undefined && c.outputScale !== inputScale) {
    bad('outputScale', c.outputScale, `inputScale (${inputScale}) when b_dec is subtracted from the input`);
  }
  if (typeof c.hookName !== 'string') bad('hookName', c.hookName, 'a string');
  if (c.topkSelection !== undefined) {
    if (!['exact', 'int8', 'auto'].includes(c.topkSelection)) bad('topkSelection', c.topkSelection, '"exact", "int8" or "auto"');
    if (arch.name !== 'topk') bad('topkSelection', c.topkSelection, `unset for architecture ${arch.name} (it applies to topk)`);
  }
  if (c.topkCandidates !== undefined && (!isPosInt(c.topkCandidates) || c.topkCandidates < (c.k ?? 1) || c.topkCandidates > c.dSae)) {
    bad('topkCandidates', c.topkCandidates, `an integer from k (${c.k}) to dSae (${c.dSae})`);
  }
  const cfg: SaeConfig = { ...c, architecture: arch.name, dOut, applyBDecToInput, inputScale };
  for (const k of Object.keys(cfg) as (keyof SaeConfig)[]) if (cfg[k] === undefined) delete cfg[k];
  if (cfg.outputScale === cfg.inputScale) delete cfg.outputScale;
  arch.params(cfg); // architecture-specific checks (k)
  return cfg;
}

/** mulberry32: a small deterministic PRNG whose whole state is one uint32 (saved in checkpoints). */
export class Rng {
  constructor(public state: number) {
    this.state = state >>> 0;
  }
  next = (): number => {
    const [s, out] = mulberry32(this.state);
    this.state = s;
    return out / 4294967296;
  };
}

/** Leading dims flattened so the trailing ones (whose product must be `d`) form rows: [B, T, D] -> [B*T, D]. */
function toRows(x: Tensor, d: number, where: string): Tensor {
  let prod = 1;
  let i = x.rank;
  while (i > 1 && prod < d) {
    const dim = x.shape[i - 1];
    if (typeof dim !== 'number') break;
    prod *= dim;
    i--;
  }
  if (prod !== d) throw new ProbityError('SAE_HOOK_WIDTH', `${where}: hook value has shape ${show(x.shape)}, whose trailing dims do not make d_in = ${d}`);
  if (i === 1 && x.rank === 2) return x;
  const lead: Dim = mulDims(x.shape.slice(0, i));
  return op.reshape(x, [lead, d]);
}

function dense2sparse(values: Float32Array, n: number, S: number, maxK?: number): { k: number; indices: Int32Array; values: Float32Array } {
  let k = 1;
  for (let t = 0; t < n; t++) {
    let c = 0;
    for (let s = 0, o = t * S; s < S; s++, o++) if (values[o] !== 0) c++;
    if (c > k) k = c;
  }
  if (maxK !== undefined) k = Math.max(1, Math.min(k, maxK));
  const idx = new Int32Array(n * k);
  const val = new Float32Array(n * k);
  const picked: number[] = [];
  for (let t = 0; t < n; t++) {
    picked.length = 0;
    for (let s = 0, o = t * S; s < S; s++, o++) if (values[o] !== 0) picked.push(s);
    if (picked.length > k) picked.sort((a, b) => values[t * S + b] - values[t * S + a] || a - b).length = k;
    picked.forEach((s, j) => {
      idx[t * k + j] = s;
      val[t * k + j] = values[t * S + s];
    });
  }
  return { k, indices: idx, values: val };
}

export class Sae {
  readonly arch: SaeArchitecture;
  readonly cfg: SaeConfig;
  /** Where it was loaded from, for error messages. */
  source?: string;
  /** Session options for the compiled graphs (threads, provider). */
  session: SessionOptions = {};
  private readonly graphs = new Map<string, Promise<GraphRunner>>();
  private readonly specList: ParamSpec[];

  /** `params` in internal names and layouts (see architectures/types.ts); they are used, not copied. */
  constructor(cfg: SaeConfigInput, readonly params: Record<string, Float32Array>, source?: string) {
    this.cfg = normalizeConfig(cfg);
    this.arch = getArchitecture(this.cfg.architecture);
    this.specList = this.arch.params(this.cfg);
    this.source = source;
    for (const s of this.specList) {
      const v = params[s.name];
      const n = s.dims.reduce((a, b) => a * b, 1);
      if (!v) throw new ProbityError('SAE_PARAM_MISSING', `${source ?? 'SAE'}: ${this.cfg.architecture} SAE needs parameter ${s.name} ${show(s.dims)}`);
      if (!(v instanceof Float32Array) || v.length !== n) {
        throw new ProbityError('SAE_PARAM_SHAPE', `${source ?? 'SAE'}: parameter ${s.name} has ${v.length} values, expected ${show(s.dims)} = ${n}`);
      }
    }
    for (const k of Object.keys(params)) {
      if (!this.specList.some((s) => s.name === k)) throw new ProbityError('SAE_PARAM_UNKNOWN', `${source ?? 'SAE'}: unexpected parameter ${k} for a ${this.cfg.architecture} SAE`);
    }
  }

  /** A fresh SAE: decoder rows random with norm decoderInitNorm, W_enc = W_dec^T (SAEs), biases 0, seeded. */
  static create(cfg: SaeConfigInput, seed: number, opts: SaeInitOptions = {}): Sae {
    return Sae.createWith(cfg, new Rng(seed), opts);
  }

  /** As create, drawing from a caller's generator (the trainer keeps it and checkpoints its state). */
  static createWith(cfg: SaeConfigInput, rng: Rng, opts: SaeInitOptions = {}): Sae {
    const c = normalizeConfig(cfg);
    const arch = getArchitecture(c.architecture);
    const decoderInitNorm = opts.decoderInitNorm ?? arch.decoderInitNorm;
    const prev: Record<string, Float32Array> = {};
    for (const s of arch.params(c)) prev[s.name] = s.init(s.dims.reduce((a, b) => a * b, 1), rng.next, { prev, decoderInitNorm });
    return new Sae(c, prev);
  }

  get name(): ArchitectureName {
    return this.cfg.architecture;
  }
  get dIn(): number {
    return this.cfg.dIn;
  }
  get dSae(): number {
    return this.cfg.dSae;
  }
  get dOut(): number {
    return this.cfg.dOut;
  }
  get isTranscoder(): boolean {
    return this.cfg.dOut !== this.cfg.dIn || (this.cfg.outHookName !== undefined && this.cfg.outHookName !== this.cfg.hookName);
  }
  get specs(): readonly ParamSpec[] {
    return this.specList;
  }
  dims(name: string): number[] {
    const s = this.specList.find((p) => p.name === name);
    if (!s) throw new ProbityError('SAE_PARAM_UNKNOWN', `no parameter ${name} in a ${this.cfg.architecture} SAE`);
    return s.dims;
  }

  /** Deep copy (parameters copied). */
  clone(cfg: SaeConfigInput = this.cfg): Sae {
    const p: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(this.params)) p[k] = Float32Array.from(v);
    const s = new Sae(structuredClone(cfg), p, this.source);
    s.session = this.session;
    return s;
  }

  /**
   * The same function with the input/output scales folded into the weights (SAELens's
   * fold_activation_norm_scaling_factor): W_enc *= inputScale, W_dec and b_dec /= outputScale, scales become 1.
   */
  foldScale(): Sae {
    const sIn = this.cfg.inputScale;
    const sOut = this.cfg.outputScale ?? sIn;
    const { outputScale: _o, ...rest } = this.cfg;
    const out = this.clone({ ...rest, inputScale: 1 });
    if (sIn !== 1) out.params.W_encT.forEach((v, i, a) => (a[i] = v * sIn));
    if (sOut !== 1) {
      out.params.W_dec.forEach((v, i, a) => (a[i] = v / sOut));
      out.params.b_dec.forEach((v, i, a) => (a[i] = v / sOut));
    }
    return out;
  }

  // ---- graphs ------------------------------------------------------------------------------------------------------

  private paramInputs(g: Graph): Record<string, Tensor> {
    const p: Record<string, Tensor> = {};
    for (const s of this.specList) p[s.name] = g.input(`p.${s.name}`, 'float32', s.dims);
    return p;
  }

  private paramFeeds(): Record<string, NDArray> {
    const f: Record<string, NDArray> = {};
    for (const s of this.specList) f[`p.${s.name}`] = new NDArray(this.params[s.name], s.dims);
    return f;
  }

  private scaleIn(x: Tensor): Tensor {
    return this.cfg.inputScale === 1 ? x : op.mul(x, this.cfg.inputScale);
  }
  private scaleOut(y: Tensor): Tensor {
    const s = this.cfg.outputScale ?? this.cfg.inputScale;
    return s === 1 ? y : op.div(y, s);
  }

  /** Reconstruction [N, Do] of rows x [N, D], as graph fragments over parameter tensors `p`. */
  buildReconstruct(p: Record<string, Tensor>, x: Tensor): Tensor {
    return this.scaleOut(this.arch.decode(p, this.arch.encode(p, this.scaleIn(x), this.cfg), this.cfg));
  }

  private graph(kind: 'encode' | 'decode' | 'reconstruct'): Promise<GraphRunner> {
    let c = this.graphs.get(kind);
    if (c) return c;
    const g = new Graph(`sae_${this.cfg.architecture}_${kind}`);
    const p = this.paramInputs(g);
    if (kind === 'encode') {
      const code = this.arch.encode(p, this.scaleIn(g.input('x', 'float32', ['B', this.dIn])), this.cfg);
      if (code.kind === 'sparse') g.output(code.idx, 'idx');
      g.output(code.acts, 'acts');
    } else if (kind === 'decode') {
      const idx = g.input('idx', 'int32', ['B', 'K']);
      const acts = g.input('acts', 'float32', ['B', 'K']);
      g.output(this.scaleOut(this.arch.decode(p, { kind: 'sparse', idx, acts }, this.cfg)), 'xhat');
    } else {
      g.output(this.buildReconstruct(p, g.input('x', 'float32', ['B', this.dIn])), 'xhat');
    }
    c = compile(g, this.session);
    this.graphs.set(kind, c);
    c.catch(() => this.graphs.delete(kind));
    return c;
  }

  private checkX(x: Float32Array, n: number, what = 'x'): void {
    if (!Number.isInteger(n) || n < 0 || x.length !== n * this.dIn) {
      throw new ProbityError('SAE_INPUT_SHAPE', `SAE ${what}: ${x.length} values for n = ${show(n)} rows of d_in = ${this.dIn}`);
    }
  }

  /** Dense code [n, S] (sparse architectures are scattered out). */
  async encodeDense(x: Float32Array, n: number): Promise<Float32Array> {
    const c = await this.encode(x, n);
    const out = new Float32Array(n * this.dSae);
    for (let t = 0; t < n; t++) for (let j = 0; j < c.k; j++) if (c.values[t * c.k + j] !== 0) out[t * this.dSae + c.indices[t * c.k + j]] = c.values[t * c.k + j];
    return out;
  }

  /** Code of x [n, dIn] through the compiled encoder. */
  async encode(x: Float32Array, n: number, opts: { maxK?: number } = {}): Promise<SparseCode> {
    this.checkX(x, n);
    const S = this.dSae;
    if (n === 0) return { kind: 'sparse', n: 0, k: 1, dSae: S, indices: new Int32Array(0), values: new Float32Array(0) };
    const sess = await this.graph('encode');
    const out = await sess.run({ ...this.paramFeeds(), x: new NDArray(x, [n, this.dIn]) });
    if (out.idx) {
      const k = out.idx.dims[1];
      const indices = Int32Array.from(out.idx.data as BigInt64Array, Number);
      return { kind: 'sparse', n, k, dSae: S, indices, values: out.acts.data as Float32Array };
    }
    return { kind: 'sparse', n, dSae: S, ...dense2sparse(out.acts.data as Float32Array, n, S, opts.maxK) };
  }

  /** Reconstruction [code.n, dOut] through the compiled decoder. */
  async decode(code: SparseCode): Promise<Float32Array> {
    if (code.dSae !== this.dSae) throw new ProbityError('SAE_INPUT_SHAPE', `SAE decode: code has dSae ${code.dSae}, the SAE has ${this.dSae}`);
    if (code.n === 0) return new Float32Array(0);
    const sess = await this.graph('decode');
    const k = Math.max(code.k, 1);
    const idx = code.k === 0 ? new Int32Array(code.n) : code.indices;
    const vals = code.k === 0 ? new Float32Array(code.n) : code.values;
    const out = await sess.run({ ...this.paramFeeds(), idx: new NDArray(idx, [code.n, k], 'int32'), acts: new NDArray(vals, [code.n, k]) });
    return out.xhat.data as Float32Array;
  }

  /** decode(encode(x)) in one compiled graph, [n, dOut]. */
  async reconstruct(x: Float32Array, n: number): Promise<Float32Array> {
    this.checkX(x, n);
    if (n === 0) return new Float32Array(0);
    const sess = await this.graph('reconstruct');
    const out = await sess.run({ ...this.paramFeeds(), x: new NDArray(x, [n, this.dIn]) });
    return out.xhat.data as Float32Array;
  }

  /**
   * Every codec metric over x [n, dIn] in batches (compiled path). Transcoders are scored against `target`
   * [n, dOut] (required when dOut differs from dIn).
   */
  async evaluate(x: Float32Array, n: number, opts: { batchSize?: number; target?: Float32Array; stats?: CodecStats } = {}): Promise<CodecStats> {
    this.checkX(x, n);
    const target = opts.target ?? x;
    if (target.length !== n * this.dOut) throw new ProbityError('SAE_INPUT_SHAPE', `SAE evaluate: target has ${target.length} values, expected [${n}, ${this.dOut}]`);
    const stats = opts.stats ?? new CodecStats(this.dOut, this.dSae);
    const bs = opts.batchSize ?? 4096;
    for (let t0 = 0; t0 < n; t0 += bs) {
      const b = Math.min(bs, n - t0);
      const code = await this.encode(x.subarray(t0 * this.dIn, (t0 + b) * this.dIn), b);
      stats.add(target.subarray(t0 * this.dOut, (t0 + b) * this.dOut), await this.decode(code), code);
    }
    return stats;
  }

  // ---- host path -----------------------------------------------------------------------------------------------------

  private hostScaled(x: Float32Array): Float32Array {
    const s = this.cfg.inputScale;
    return s === 1 ? x : Float32Array.from(x, (v) => v * s);
  }

  /** The synchronous metrics Codec, computed on the host (same function as the graphs up to float rounding). */
  codec(opts: { maxK?: number } = {}): Codec {
    const S = this.dSae;
    return {
      name: `sae-${this.cfg.architecture}`,
      dIn: this.dIn,
      dSae: S,
      encode: (x, n) => {
        this.checkX(x, n);
        const c: HostCode = this.arch.encodeHost(this.params, this.hostScaled(x), n, this.cfg);
        if (c.kind === 'sparse') return { kind: 'sparse', n, k: c.k, dSae: S, indices: c.indices, values: c.values };
        return { kind: 'sparse', n, dSae: S, ...dense2sparse(c.values, n, S, opts.maxK) };
      },
      decode: (code) => this.decodeHost(code),
    };
  }

  /** Host decoder: (b_dec + sum_j v_j W_dec[i_j]) / outputScale, float64 accumulation. */
  decodeHost(code: SparseCode): Float32Array {
    const Do = this.dOut;
    const W = this.params.W_dec;
    const b = this.params.b_dec;
    const s = this.cfg.outputScale ?? this.cfg.inputScale;
    const out = new Float32Array(code.n * Do);
    const acc = new Float64Array(Do);
    for (let t = 0; t < code.n; t++) {
      for (let d = 0; d < Do; d++) acc[d] = b[d];
      for (let j = 0; j < code.k; j++) {
        const v = code.values[t * code.k + j];
        if (v === 0) continue;
        const o = code.indices[t * code.k + j] * Do;
        for (let d = 0; d < Do; d++) acc[d] += v * W[o + d];
      }
      for (let d = 0; d < Do; d++) out[t * Do + d] = acc[d] / s;
    }
    return out;
  }

  // ---- splicing into a model forward --------------------------------------------------------------------------------

  private structureKey(): string {
    const c = this.cfg;
    return `sae:${c.architecture}:${c.dIn}x${c.dSae}x${c.dOut}:k${c.k ?? '-'}:b${c.applyBDecToInput ? 1 : 0}:s${c.inputScale}/${c.outputScale ?? c.inputScale}`;
  }

  private spliceParams(input: (name: string, value: NDArray) => Tensor): Record<string, Tensor> {
    const p: Record<string, Tensor> = {};
    for (const s of this.specList) p[s.name] = input(`p.${s.name}`, new NDArray(this.params[s.name], s.dims));
    return p;
  }

  /**
   * Replace the hook's activation with the SAE reconstruction inside a model forward. Works on any hook whose
   * trailing dims multiply to d_in ([B, T, D], or [B, T, H, Dh] for hook_z SAEs); the weights are graph inputs.
   * SAEs only (dOut = dIn); transcoders use spliceInterventions().
   */
  spliceIntervention(): Intervention {
    if (this.dOut !== this.dIn) throw new ProbityError('SAE_SPLICE', `a transcoder (d_in ${this.dIn} -> d_out ${this.dOut}) reads one hook and writes another; use spliceInterventions()`);
    const where = `SAE splice at ${this.cfg.hookName}`;
    return {
      kind: 'graph',
      key: this.structureKey(),
      build: (x, input) => op.reshapeLike(this.buildReconstruct(this.spliceParams(input), toRows(x, this.dIn, where)), x),
    };
  }

  /**
   * Interventions for Model.forward. An SAE: { hookName: [splice] }. A transcoder: its input hook records the
   * activation (unchanged) and its output hook is replaced by the transcoder's output computed from it. Both hooks must
   * be in the same graph (no `fn` intervention cutting between them) and the input hook must come first.
   */
  spliceInterventions(): InterventionMap {
    if (!this.isTranscoder) return { [this.cfg.hookName]: [this.spliceIntervention()] };
    const outHook = this.cfg.outHookName;
    if (!outHook) throw new ProbityError('SAE_SPLICE', `transcoder reading ${this.cfg.hookName} has no outHookName`);
    let src: Tensor | null = null;
    const key = this.structureKey();
    return {
      [this.cfg.hookName]: [{ kind: 'graph', key: `${key}:in`, build: (x) => ((src = x), x) }],
      [outHook]: [
        {
          kind: 'graph',
          key: `${key}:out`,
          build: (y, input) => {
            const x = src;
            src = null;
            if (!x || x.graph !== y.graph) {
              throw new ProbityError('SAE_SPLICE', `transcoder splice: hook ${outHook} was built before (or in another graph than) its input hook ${this.cfg.hookName}`);
            }
            const out = this.buildReconstruct(this.spliceParams(input), toRows(x, this.dIn, `transcoder input ${this.cfg.hookName}`));
            toRows(y, this.dOut, `transcoder output ${outHook}`);
            return op.reshapeLike(out, y);
          },
        },
      ],
    };
  }
}
