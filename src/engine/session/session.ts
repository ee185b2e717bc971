// The only importer of onnxruntime-node. Compiled graphs are cached by the hash of their ONNX bytes, so building the
// same graph twice reuses one InferenceSession (sessions are slow to create and leak memory when churned).
import { createHash } from 'node:crypto';
import os from 'node:os';
import ort from 'onnxruntime-node';
import { ProbityError, show } from '../../errors.js';
import type { Graph, Tensor } from '../graph/graph.js';
import { bytesOf, externalPath, toOnnx } from '../graph/onnx.js';
import { NDArray } from '../ndarray.js';
import { allocate } from '../graph/dtype.js';
import { compileStaged, hasHostOps } from './staged.js';

export type Provider = 'cpu' | 'cuda' | 'webgpu';

export interface SessionOptions {
  provider?: Provider;
  /** Intra-op threads; defaults to the number of cores. */
  threads?: number;
  /** Write an ORT per-node profile (JSON) with this file prefix; for performance work. */
  profilePrefix?: string;
  /** Stop ORT's worker threads spinning as soon as a run returns (they still spin during a run). Staged graphs set
   *  it: each stage is its own session with its own threads, and threads left spinning by one stage took the cores
   *  from the next stage and from the host kernels between them. */
  stopSpinningAfterRun?: boolean;
}

export type Feeds = Record<string, NDArray>;

export interface Signature {
  name: string;
  dtype: Tensor['dtype'];
  shape: readonly (number | string)[];
}

/** What compile() returns: one onnxruntime session (CompiledGraph), or stages around host ops (staged.ts). */
export interface GraphRunner {
  /** Identifies the compiled model(s): equal keys share sessions. */
  readonly key: string;
  readonly inputs: readonly Signature[];
  readonly outputs: readonly Signature[];
  run(feeds: Feeds, fetch?: readonly string[], into?: Record<string, NDArray>): Promise<Record<string, NDArray>>;
  endProfiling(): string;
  release(): void;
}

export class CompiledGraph implements GraphRunner {
  private released = false;
  constructor(
    readonly key: string,
    private session: ort.InferenceSession,
    readonly inputs: readonly Signature[],
    readonly outputs: readonly Signature[],
    private readonly onRelease: () => void,
  ) {}

  /** Check feeds against the declared inputs: dtype, rank, static dims, and one value per symbol. */
  private check(feeds: Feeds): Map<string, number> {
    const sym = new Map<string, number>();
    for (const s of this.inputs) {
      const f = feeds[s.name];
      if (!f) throw new ProbityError('FEED_MISSING', `run: missing feed "${s.name}" (${s.dtype}${show(s.shape)}); inputs are ${this.inputs.map((i) => i.name).join(', ')}`);
      if (f.dtype !== s.dtype) throw new ProbityError('FEED_DTYPE', `run: feed "${s.name}" is ${f.dtype}, expected ${s.dtype}`);
      const bad = () => new ProbityError('FEED_SHAPE', `run: feed "${s.name}" has dims ${show(f.dims)}, expected ${show(s.shape)}`);
      if (f.dims.length !== s.shape.length) throw bad();
      s.shape.forEach((d, i) => {
        if (typeof d === 'number') {
          if (f.dims[i] !== d) throw bad();
        } else if (!d.includes('*')) {
          const seen = sym.get(d);
          if (seen !== undefined && seen !== f.dims[i]) {
            throw new ProbityError('FEED_SHAPE', `run: dim "${d}" of feed "${s.name}" is ${f.dims[i]}, but another feed set it to ${seen}`);
          }
          sym.set(d, f.dims[i]);
        }
      });
    }
    for (const k of Object.keys(feeds)) {
      if (!this.inputs.some((s) => s.name === k)) throw new ProbityError('FEED_UNKNOWN', `run: unknown feed "${k}"; inputs are ${this.inputs.map((i) => i.name).join(', ')}`);
    }
    return sym;
  }

  /**
   * Run the graph. `fetch` names the outputs to return (default: all). Pass `into` to have ORT write outputs straight
   * into preallocated arrays (no copy; used for parameter updates).
   */
  async run(feeds: Feeds, fetch?: readonly string[], into?: Record<string, NDArray>): Promise<Record<string, NDArray>> {
    if (this.released) throw new ProbityError('SESSION_RELEASED', `run: session ${this.key.slice(0, 8)} was released`);
    this.check(feeds);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor(v.dtype as ort.Tensor.Type, v.data as ort.Tensor.DataType, v.dims as number[]);
    const names = fetch ?? this.outputs.map((o) => o.name);
    for (const n of names) {
      if (!this.outputs.some((o) => o.name === n)) throw new ProbityError('FETCH_UNKNOWN', `run: unknown output "${n}"; outputs are ${this.outputs.map((o) => o.name).join(', ')}`);
    }
    let result: ort.InferenceSession.ReturnType;
    if (into) {
      const fetches: Record<string, ort.Tensor | null> = {};
      for (const n of names) fetches[n] = into[n] ? new ort.Tensor(into[n].dtype as ort.Tensor.Type, into[n].data as ort.Tensor.DataType, into[n].dims as number[]) : null;
      result = await this.session.run(ortFeeds, fetches);
    } else {
      result = await this.session.run(ortFeeds, names as string[]);
    }
    const out: Record<string, NDArray> = {};
    for (const n of names) {
      if (into?.[n]) {
        out[n] = into[n];
        continue;
      }
      const t = result[n];
      const dtype = this.outputs.find((o) => o.name === n)!.dtype;
      out[n] = new NDArray(dtype === 'bool' ? (t.data as Uint8Array) : (t.data as never), t.dims, dtype);
    }
    return out;
  }

  /** Stop profiling and return the profile file path (when compiled with profilePrefix). */
  endProfiling(): string {
    return (this.session as unknown as { endProfiling(): string }).endProfiling();
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    void this.session.release();
    this.onRelease();
  }
}

const cache = new Map<string, Promise<GraphRunner>>();

const bufferIds = new WeakMap<ArrayBufferLike, number>();
let nextBufferId = 1;
function bufferId(b: ArrayBufferLike): number {
  let id = bufferIds.get(b);
  if (id === undefined) bufferIds.set(b, (id = nextBufferId++));
  return id;
}


/** PROBITY_PROVIDER=cuda|webgpu selects another ORT execution provider (CUDA needs the opt-in install, see README). */
export function defaultProvider(): Provider {
  const p = process.env.PROBITY_PROVIDER;
  if (p === undefined || p === '' || p === 'cpu') return 'cpu';
  if (p === 'cuda' || p === 'webgpu') return p;
  throw new ProbityError('PROVIDER', `PROBITY_PROVIDER is "${p}", expected cpu, cuda or webgpu`);
}

/** Compile (or fetch from the cache) a session for the graph; graphs with host ops run in stages (staged.ts). */
export async function compile(graph: Graph, opts: SessionOptions = {}): Promise<GraphRunner> {
  if (graph.outputs.length === 0) throw new ProbityError('GRAPH_NO_OUTPUTS', `compile: graph "${graph.name}" has no outputs`);
  if (hasHostOps(graph)) return compileStaged(graph, opts, compile);
  const bytes = toOnnx(graph);
  const provider = opts.provider ?? defaultProvider();
  const threads = opts.threads ?? (Number(process.env.PROBITY_THREADS) || os.availableParallelism());
  // ORT's worker threads spin while waiting; on a machine shared with other work that turns into lost time.
  const spin = process.env.PROBITY_SPIN !== '0';
  const externals = graph.externals.map((t) => ({ path: externalPath(t), data: bytesOf(t.constValue!) }));
  // External constants are identified by the memory they live in (the bytes name only their sizes).
  const stopSpin = opts.stopSpinningAfterRun ?? process.env.PROBITY_SPIN_STOP === '1';
  const hash = createHash('sha256').update(bytes).update(`|${provider}|${threads}|${spin}|${stopSpin}|${opts.profilePrefix ?? ''}`);
  for (const e of externals) hash.update(`|${e.path}:${bufferId(e.data.buffer)}:${e.data.byteOffset}:${e.data.byteLength}`);
  const key = hash.digest('hex');
  const hit = cache.get(key);
  if (hit) return hit;
  const made = (async () => {
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: [provider],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
      ...(opts.profilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profilePrefix } : {}),
      ...(externals.length ? { externalData: externals } : {}),
      ...(spin
        ? stopSpin ? { extra: { session: { force_spinning_stop: '1' } } } : {}
        : { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }),
    });
    const sig = (t: Tensor): Signature => ({ name: t.name, dtype: t.dtype, shape: t.shape });
    return new CompiledGraph(key, session, graph.inputs.map(sig), graph.outputs.map(sig), () => cache.delete(key));
  })();
  cache.set(key, made);
  made.catch(() => cache.delete(key));
  return made;
}

/** Number of live cached sessions (for leak tests). */
export function cachedSessions(): number {
  return cache.size;
}

export function zerosFor(sig: Signature, dims: number[]): NDArray {
  return new NDArray(allocate(sig.dtype, dims.reduce((a, b) => a * b, 1)), dims, sig.dtype);
}

/** End profiling on every cached session that profiles; returns the profile files (performance work only). */
export async function endAllProfiling(): Promise<string[]> {
  const files: string[] = [];
  for (const p of cache.values()) {
    const s = await p;
    try {
      files.push(s.endProfiling());
    } catch {
      /* not profiling */
    }
  }
  return files;
}
