// Graphs that hold host ops (ops/host.ts) run as stages: onnxruntime runs everything a host op's inputs need, the
// host kernel runs on those values, onnxruntime runs what depends on its result, and so on. A node's stage is the
// number of host ops on its longest path from the inputs (or later, where that makes fewer bytes cross), so each
// stage is one session and values cross between stages only where a later stage or a host op reads them (a training
// step crosses a few small tensors: indices, coefficients, the reconstruction error). Each stage is compiled and
// cached like any graph (session.ts) and checks its own feeds.
import { ALIAS_OPS, Graph, type Node, type Tensor } from '../graph/graph.js';
import { HOST_DOMAIN, HOST_KERNELS, type HostValue } from '../ops/host.js';
import { Arena } from '../host/wasm.js';
import { NDArray } from '../ndarray.js';
import { ProbityError } from '../../errors.js';
import type { Feeds, GraphRunner, SessionOptions, Signature } from './session.js';

export const hasHostOps = (g: Graph): boolean => g.nodes.some((n) => n.domain === HOST_DOMAIN);

interface Stage {
  graph: Graph;
  runner?: GraphRunner;
  hostAfter: Node[];
}

// One arena for all staged graphs: their runs are serialised (a host result must survive until the stage that
// reads it has run, and the arena is reset per run).
let arena: Arena | undefined;
let lock: Promise<void> = Promise.resolve();

export class StagedGraph implements GraphRunner {
  private released = false;
  readonly key: string;
  /** Host results handed to onnxruntime are copied here first: it refuses views of a SharedArrayBuffer, which the
   *  kernels' memory is (wasm.ts). One buffer per value, reused run after run (~5 ms per 38 MB, warm). */
  private readonly staging = new Map<string, Float32Array>();
  constructor(
    private readonly stages: Stage[],
    readonly inputs: readonly Signature[],
    readonly outputs: readonly Signature[],
    private readonly finals: Map<string, Tensor>,
  ) {
    this.key = stages.map((s) => s.runner?.key ?? '-').join('+');
  }

  async run(feeds: Feeds, fetch?: readonly string[], into?: Record<string, NDArray>): Promise<Record<string, NDArray>> {
    if (this.released) throw new ProbityError('SESSION_RELEASED', 'run: staged graph was released');
    for (const s of this.inputs) if (!feeds[s.name]) throw new ProbityError('FEED_MISSING', `run: missing feed "${s.name}"`);
    const names = fetch ?? this.outputs.map((o) => o.name);
    for (const n of names) if (!this.finals.has(n)) throw new ProbityError('FETCH_UNKNOWN', `run: unknown output "${n}"`);
    const prev = lock;
    let unlock!: () => void;
    lock = new Promise((r) => (unlock = r));
    await prev;
    try {
      arena ??= new Arena();
      arena.reset();
      const values = new Map<string, NDArray | HostValue>(Object.entries(feeds));
      const read = (t: Tensor, forOrt = false): NDArray => {
        const v = values.get(t.name);
        if (!v) throw new ProbityError('STAGE_VALUE', `staged run: no value for ${t.name}`);
        if (v instanceof NDArray) return v;
        const view = arena!.f32(v.offset, v.length);
        if (!forOrt) return new NDArray(view, v.dims);
        let buf = this.staging.get(t.name);
        if (buf?.length !== v.length) this.staging.set(t.name, (buf = new Float32Array(v.length)));
        buf.set(view);
        return new NDArray(buf, v.dims);
      };
      for (const st of this.stages) {
        if (st.runner) {
          const f: Feeds = {};
          for (const t of st.graph.inputs) f[t.name] = read(t, true);
          const outNames = st.graph.outputs.map((t) => t.name);
          const intoHere: Record<string, NDArray> = {};
          for (const n of outNames) if (into?.[n]) intoHere[n] = into[n];
          const out = await st.runner.run(f, outNames, intoHere);
          for (const [k, v] of Object.entries(out)) values.set(k, v);
        }
        for (const node of st.hostAfter) {
          const ins = node.inputs.map((t) => (t ? read(source(t)) : null));
          const outs = HOST_KERNELS[node.op](ins, node.attrs, arena);
          node.outputs.forEach((t, i) => values.set(t.name, outs[i]));
        }
      }
      const result: Record<string, NDArray> = {};
      for (const n of names) {
        const v = read(this.finals.get(n)!);
        if (values.get(n) instanceof NDArray) result[n] = v;
        // Host results live in the arena, which the next run reuses: copy them out (into the caller's array if given).
        else if (into?.[n]) {
          (into[n].data as Float32Array).set(v.data as Float32Array);
          result[n] = into[n];
        } else result[n] = new NDArray((v.data as Float32Array).slice(), v.dims);
      }
      return result;
    } finally {
      unlock();
    }
  }

  endProfiling(): string {
    return this.stages.map((s) => s.runner?.endProfiling() ?? '').filter(Boolean).join(',');
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    for (const s of this.stages) s.runner?.release();
  }
}

/** The tensor an alias chain (StopGradient, CustomVjp: value = first input) stands for. */
function source(t: Tensor): Tensor {
  while (t.producer && ALIAS_OPS.has(t.producer.op)) t = t.producer.inputs[0]!;
  return t;
}

/** Cut `g` at its host ops and compile each stage with `compilePlain`. */
export async function compileStaged(g: Graph, opts: SessionOptions, compilePlain: (g: Graph, o: SessionOptions) => Promise<GraphRunner>): Promise<StagedGraph> {
  // Live nodes only (what some output depends on), in creation order, which is topological.
  const needed = new Set<Tensor>(g.outputs);
  const live: Node[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (n.outputs.some((o) => needed.has(o))) {
      live.push(n);
      for (const t of n.inputs) if (t) needed.add(t);
    }
  }
  live.reverse();
  // Stage of a value = host ops on its longest path. Alias nodes compute nothing: they take their source's level and
  // are copied into every stage that reads them, so no alias output ever crosses (a weight matrix behind a
  // StopGradient is read from the feeds, not copied out of a session).
  const level = new Map<Tensor, number>();
  const lv = (t: Tensor | null) => (t ? (level.get(source(t)) ?? 0) : 0);
  const stageOf = new Map<Node, number>();
  let last = 0;
  for (const n of live) {
    if (ALIAS_OPS.has(n.op)) continue;
    const isHost = n.domain === HOST_DOMAIN;
    if (isHost && !HOST_KERNELS[n.op]) throw new ProbityError('HOST_KERNEL', `no host kernel for ${n.op}`);
    const L = Math.max(0, ...n.inputs.map(lv));
    stageOf.set(n, L);
    for (const o of n.outputs) level.set(o, isHost ? L + 1 : L);
    last = Math.max(last, isHost ? L + 1 : L);
  }
  // A node runs in the stage of its level unless a later stage is the first to read it and moving it there crosses
  // fewer values: what a stage produces for a later one is copied out of onnxruntime, while graph inputs are
  // available to every stage for free. So a weight's transpose (38 MB) runs where it is used, and an outer product
  // of two vectors runs after the stage that made the vectors. Decided consumers first (reverse creation order).
  const fixed = new Set<Tensor>([...g.constants, ...g.externals]);
  const size = (t: Tensor) => t.shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 4096), 1);
  const costIn = (t: Tensor | null) => {
    const s0 = t && source(t);
    return s0 && s0.producer && !fixed.has(s0) ? size(s0) : 0; // graph inputs and constants cost nothing
  };
  const readers = new Map<Tensor, Node[]>();
  for (const n of live) {
    if (ALIAS_OPS.has(n.op)) continue;
    for (const t of n.inputs) if (t) readers.set(source(t), [...(readers.get(source(t)) ?? []), n]);
  }
  const finalOut = new Set<Tensor>(g.outputs);
  for (let i = live.length - 1; i >= 0; i--) {
    const n = live[i];
    if (ALIAS_OPS.has(n.op) || n.domain === HOST_DOMAIN || n.outputs.some((o) => finalOut.has(o))) continue;
    const rs = n.outputs.flatMap((o) => readers.get(o) ?? []);
    if (!rs.length) continue;
    const target = Math.min(...rs.map((r) => stageOf.get(r)!));
    const here = stageOf.get(n)!;
    if (target <= here) continue;
    const outSize = n.outputs.reduce((a, o) => a + size(o), 0);
    const inSize = n.inputs.reduce((a, t) => a + costIn(t), 0);
    if (inSize < outSize) stageOf.set(n, target);
  }
  const stages: Stage[] = Array.from({ length: last + 1 }, (_, k) => ({ graph: new Graph(`${g.name}_stage${k}`), hostAfter: [] }));
  const producedIn = new Map<Tensor, number>();
  for (const [n, k] of stageOf) if (n.domain !== HOST_DOMAIN) for (const o of n.outputs) producedIn.set(o, k);
  const crossing = new Set<Tensor>(g.outputs);
  const stageNodes = stages.map(() => new Set<Node>());
  const stageInputs = stages.map(() => new Set<Tensor>());
  for (const [n, k] of stageOf) {
    if (n.domain === HOST_DOMAIN) {
      stages[k].hostAfter.push(n);
      for (const t of n.inputs) if (t && producedIn.has(source(t))) crossing.add(source(t));
      continue;
    }
    stageNodes[k].add(n);
    for (let t of n.inputs) {
      while (t?.producer && ALIAS_OPS.has(t.producer.op)) {
        stageNodes[k].add(t.producer);
        t = t.producer.inputs[0];
      }
      if (!t || fixed.has(t) || producedIn.get(t) === k) continue;
      stageInputs[k].add(t);
      if (producedIn.has(t)) crossing.add(t);
    }
  }
  stages.forEach((st, k) => {
    st.graph.nodes.push(...[...stageNodes[k]].sort((a, b) => a.index - b.index));
    st.graph.inputs.push(...stageInputs[k]);
    for (const n of stageNodes[k]) if (!ALIAS_OPS.has(n.op)) for (const o of n.outputs) if (crossing.has(o)) st.graph.outputs.push(o);
    st.graph.constants.push(...g.constants);
    st.graph.externals.push(...g.externals);
  });
  for (const st of stages) if (st.graph.outputs.length) st.runner = await compilePlain(st.graph, { stopSpinningAfterRun: true, ...opts });
  const sig = (t: Tensor): Signature => ({ name: t.name, dtype: t.dtype, shape: t.shape });
  const finals = new Map(g.outputs.map((t) => [t.name, t]));
  for (const t of g.outputs) {
    if (!t.producer) throw new ProbityError('STAGE_OUTPUT', `staged graph: output ${t.name} is an input; not supported`);
  }
  return new StagedGraph(stages, g.inputs.map(sig), g.outputs.map(sig), finals);
}
