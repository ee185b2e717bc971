// A loaded transformer: spec, weights, tokenizer, and the run loop that turns hook requests and interventions into
// compiled graphs. Graphs are rebuilt per call (cheap: weights are inputs, so the ONNX bytes are small) and sessions
// are reused through the engine's cache whenever the structure repeats.
import { ProbityError, show } from '../errors.js';
import { NDArray } from '../engine/ndarray.js';
import { compile, type GraphRunner, type SessionOptions } from '../engine/session/session.js';
import type { Tokenizer } from './tokenizers/types.js';
import type { TransformerSpec } from './spec.js';
import { BuildContext, type BuildOptions, type WeightStore } from './common/context.js';
import { buildForward } from './forward.js';
import { checkHookName, hookNames } from './hooks/names.js';
import type { FeedValue, Intervention, InterventionMap } from './hooks/interventions.js';

/** Keys and values of all layers for the positions seen so far, plus which of them are padding. */
export interface KVCache {
  k: NDArray[]; // per layer [B, K, S, Dh]
  v: NDArray[];
  /** [B, S] 1 = real token. */
  mask: Uint8Array;
  batch: number;
  length: number;
}

export interface ForwardOptions {
  /** Hook names whose activations to return. */
  cache?: readonly string[];
  interventions?: InterventionMap;
  /** Logits for every position (default), only the last one, or none. */
  logits?: 'all' | 'last' | 'none';
  /** Continue from a previous call's `present` (generation). */
  past?: KVCache;
  /** Return the KV cache after this call. */
  returnPresent?: boolean;
}

export interface ForwardResult {
  logits?: NDArray<Float32Array>; // [B, T, V] or [B, 1, V]
  cache: Record<string, NDArray>;
  present?: KVCache;
  /** [B, T] 1 = real token (rows are left-padded to the longest). */
  mask: NDArray;
}

export class Model {
  readonly hookNames: readonly string[];
  session: SessionOptions = {};

  constructor(
    readonly spec: TransformerSpec,
    readonly weights: WeightStore & { names(): string[]; paramCount: number },
    readonly tokenizer: Tokenizer,
    readonly source: string,
  ) {
    this.hookNames = hookNames(spec);
    const env = process.env.PROBITY_PREPACK;
    this.prepackWeights = env !== undefined && env !== '' ? env !== '0' : weights.paramCount * 4 <= 2 ** 31;
  }

  get padId(): number {
    return this.tokenizer.eos ?? 0;
  }

  /** Left-pad ragged rows; positions count only real tokens (after any cached ones). */
  private prepare(rows: readonly (readonly number[])[], past?: KVCache) {
    const B = rows.length;
    if (B === 0) throw new ProbityError('INPUT_EMPTY', 'forward: no token rows given');
    if (past && past.batch !== B) throw new ProbityError('INPUT_SHAPE', `forward: ${B} rows but the KV cache holds ${past.batch}`);
    const T = Math.max(...rows.map((r) => r.length));
    if (T === 0) throw new ProbityError('INPUT_EMPTY', 'forward: every token row is empty');
    const P = past?.length ?? 0;
    const S = P + T;
    const tokens = new BigInt64Array(B * T);
    const positions = new BigInt64Array(B * T);
    const keyMask = new Uint8Array(B * S);
    for (let b = 0; b < B; b++) {
      const r = rows[b];
      let seen = 0;
      for (let j = 0; j < P; j++) {
        keyMask[b * S + j] = past!.mask[b * P + j];
        seen += past!.mask[b * P + j];
      }
      const pad = T - r.length;
      for (let t = 0; t < T; t++) {
        const real = t >= pad;
        const id = real ? r[t - pad] : this.padId;
        if (!Number.isInteger(id) || id < 0 || id >= this.spec.vocab) {
          throw new ProbityError('TOKEN_RANGE', `forward: token id ${show(id)} at row ${b}, position ${t - pad} is outside the vocabulary [0, ${this.spec.vocab})`);
        }
        tokens[b * T + t] = BigInt(id);
        positions[b * T + t] = BigInt(real ? seen : 0);
        if (real) seen++;
        keyMask[b * S + P + t] = real ? 1 : 0;
      }
      if (P + T > this.spec.nCtx) throw new ProbityError('INPUT_TOO_LONG', `forward: ${P + T} positions exceed the model's context of ${this.spec.nCtx}`);
    }
    return { B, T, P, S, tokens: new NDArray(tokens, [B, T]), positions: new NDArray(positions, [B, T]), keyMask: new NDArray(keyMask, [B, S], 'bool') };
  }

  private checkHooks(names: Iterable<string>): void {
    for (const n of names) checkHookName(n, this.hookNames);
  }

  async forward(rows: readonly (readonly number[])[], opts: ForwardOptions = {}): Promise<ForwardResult> {
    const cacheNames = opts.cache ?? [];
    const ivs = opts.interventions ?? {};
    this.checkHooks([...cacheNames, ...Object.keys(ivs)]);
    const inp = this.prepare(rows, opts.past);
    const withPast = !!opts.past || !!opts.returnPresent;
    const past: KVCache = opts.past ?? this.emptyCache(inp.B);

    // Graph-level interventions stay in the graph; `fn` ones cut it into a chain, in hook order.
    const graphIvs: Record<string, Intervention[]> = {};
    const fnHooks: string[] = [];
    for (const [h, list] of Object.entries(ivs)) {
      graphIvs[h] = list.filter((iv) => iv.kind !== 'fn');
      if (list.some((iv) => iv.kind === 'fn')) fnHooks.push(h);
    }
    fnHooks.sort((a, b) => this.hookNames.indexOf(a) - this.hookNames.indexOf(b));

    const cutValues: Record<string, NDArray> = {};
    for (let j = 0; j <= fnHooks.length; j++) {
      const last = j === fnHooks.length;
      const bo: BuildOptions = {
        withPast,
        logits: last ? (opts.logits ?? 'all') : 'none',
        cache: new Set(last ? cacheNames : []),
        interventions: graphIvs,
        cutInputs: new Set(fnHooks.slice(0, j)),
        stopAt: last ? undefined : fnHooks[j],
      };
      const out = await this.runGraph(bo, inp, past, cutValues);
      if (!last) {
        const h = fnHooks[j];
        let value = out[`cut.${h}`];
        for (const iv of ivs[h]) {
          if (iv.kind !== 'fn') continue;
          const r = iv.fn(value);
          if (r) {
            if (r.dims.length !== value.dims.length || r.dims.some((d, i) => d !== value.dims[i])) {
              throw new ProbityError('INTERVENTION_SHAPE', `fn at ${h} returned dims ${show(r.dims)}, expected ${show(value.dims)}`);
            }
            value = r;
          }
        }
        cutValues[h] = value;
        continue;
      }
      const cache: Record<string, NDArray> = {};
      for (const n of cacheNames) cache[n] = out[`cache.${n}`];
      const res: ForwardResult = { cache, mask: maskRows(inp.keyMask, inp.P, inp.T) };
      if (out.logits) res.logits = out.logits as NDArray<Float32Array>;
      if (withPast && (opts.returnPresent ?? true)) {
        res.present = {
          k: Array.from({ length: this.spec.nLayers }, (_, l) => out[`present.${l}.k`]),
          v: Array.from({ length: this.spec.nLayers }, (_, l) => out[`present.${l}.v`]),
          mask: inp.keyMask.data as Uint8Array,
          batch: inp.B,
          length: inp.S,
        };
      }
      return res;
    }
    throw new ProbityError('INTERNAL', 'unreachable');
  }

  private emptyCache(B: number): KVCache {
    const { nLayers, nKvHeads: K, dHead: Dh } = this.spec;
    const empty = () => new NDArray(new Float32Array(0), [B, K, 0, Dh]);
    return { k: Array.from({ length: nLayers }, empty), v: Array.from({ length: nLayers }, empty), mask: new Uint8Array(0), batch: B, length: 0 };
  }

  /** The last graph built per intervention structure, with the objects its feeds came from (see graphFor). */
  private steered = new Map<string, { refs: unknown[]; built: Promise<{ sess: GraphRunner; inputs: string[]; feeds: Map<string, FeedValue> }> }>();

  /** Compiled graphs without interventions, by structure: generation asks for the same one at every token. */
  private plain = new Map<string, Promise<{ sess: GraphRunner; inputs: string[] }>>();

  /**
   * Whether those cached graphs hold the weights as constants ORT prepacks (faster GEMMs; one packed copy of the
   * weights per cached graph structure). Default: on for models up to 2 GiB of float32 weights; PROBITY_PREPACK=0|1
   * overrides. Graphs with interventions always take weights as inputs (they are built per call).
   */
  prepackWeights: boolean;

  private async graphFor(bo: BuildOptions): Promise<{ sess: GraphRunner; inputs: string[]; feeds: Map<string, FeedValue> }> {
    const plain = Object.values(bo.interventions).every((l) => l.length === 0);
    const key = JSON.stringify([bo.withPast, bo.logits, [...bo.cache], [...bo.cutInputs], bo.stopAt ?? null, this.session, this.prepackWeights]);
    const build = async () => {
      const ctx = new BuildContext(this.spec, this.weights, { ...bo, constantWeights: plain && this.prepackWeights });
      buildForward(ctx);
      return { sess: await compile(ctx.g, this.session), inputs: ctx.g.inputs.map((t) => t.name), feeds: ctx.feeds };
    };
    if (!plain) {
      // Graphs with interventions are reused while the very same intervention objects and values come back (the
      // generation loop passes one intervention map at every token): feeds were gathered from those objects at build
      // time, so identity of every object and value is what makes a reuse exact. Anything else rebuilds (~4 ms).
      // 'graph' interventions build from state of their own (e.g. an SAE's parameter buffers): always rebuilt.
      if (Object.values(bo.interventions).some((l) => l.some((iv) => iv.kind === 'graph'))) return build();
      const refs = interventionRefs(bo.interventions);
      const ikey = JSON.stringify([key, Object.keys(bo.interventions).sort()]);
      const prev = this.steered.get(ikey);
      if (prev && prev.refs.length === refs.length && prev.refs.every((r, i) => r === refs[i])) return prev.built;
      const built = build();
      this.steered.set(ikey, { refs, built });
      built.catch(() => this.steered.delete(ikey));
      return built;
    }
    let hit = this.plain.get(key);
    if (!hit) {
      hit = build();
      this.plain.set(key, hit);
      hit.catch(() => this.plain.delete(key));
    }
    return { ...(await hit), feeds: new Map() };
  }

  private async runGraph(bo: BuildOptions, inp: ReturnType<Model['prepare']>, past: KVCache, cutValues: Record<string, NDArray>) {
    const { sess, inputs, feeds: ivFeeds } = await this.graphFor(bo);
    const feeds: Record<string, NDArray> = { tokens: inp.tokens, positions: inp.positions, key_mask: inp.keyMask };
    for (const name of inputs) {
      if (name.startsWith('w.')) feeds[name] = this.weights.get(name.slice(2));
      else if (name.startsWith('past.')) {
        const [, l, kv] = name.split('.');
        feeds[name] = (kv === 'k' ? past.k : past.v)[Number(l)];
      } else if (name.startsWith('cut.')) feeds[name] = cutValues[name.slice(4)];
    }
    for (const [name, v] of ivFeeds) feeds[name] = typeof v === 'function' ? v({ T: inp.T, past: inp.P }) : v;
    // No preallocated logits buffer: onnxruntime-node copies every output into a fresh buffer anyway (even a
    // preallocated one), so a buffer of ours would only add a second [B, T, V] allocation per call.
    return sess.run(feeds);
  }

  /** Activations at the named hooks (only those are computed as outputs), plus logits. */
  async runWithCache(rows: readonly (readonly number[])[], opts: { names: readonly string[]; interventions?: InterventionMap; logits?: 'all' | 'last' | 'none' }) {
    const r = await this.forward(rows, { cache: opts.names, interventions: opts.interventions, logits: opts.logits ?? 'all' });
    return { logits: r.logits, cache: r.cache, mask: r.mask };
  }

  get paramCount(): number {
    return this.weights.paramCount;
  }
}

/** Every object and value a graph-level intervention map's feeds are gathered from, in a fixed order. */
function interventionRefs(ivs: Readonly<Record<string, readonly Intervention[]>>): unknown[] {
  const refs: unknown[] = [];
  for (const h of Object.keys(ivs).sort()) {
    refs.push(h, ivs[h].length);
    for (const iv of ivs[h]) {
      const o = iv as Record<string, unknown>;
      refs.push(iv, iv.kind, o.vector, o.scale, o.positions, o.mean, o.source, o.direction, o.value);
    }
  }
  return refs;
}

/** The [B, T] real-token mask of the current positions. */
function maskRows(keyMask: NDArray, P: number, T: number): NDArray {
  const [B, S] = keyMask.dims;
  const out = new Uint8Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) out[b * T + t] = (keyMask.data as Uint8Array)[b * S + P + t];
  return new NDArray(out, [B, T], 'uint8');
}
