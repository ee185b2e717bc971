// Graphs that hold host ops (ops/host.ts) run as stages: onnxruntime runs everything a host op's inputs need, the
// host kernel runs on those values, onnxruntime runs what depends on its result, and so on. A node's stage is the
// number of host ops on its longest path from the inputs, so each stage is one session and values cross between
// stages only where a later stage or a host op reads them (a training step crosses a few small tensors: indices,
// coefficients, the reconstruction error). Each stage is compiled and cached like any graph (session.ts).
import { Graph, type Node, type Tensor } from '../graph/graph.js';
import { HOST_DOMAIN, HOST_KERNELS } from '../ops/host.js';
import { Arena, type Slice } from '../host/wasm.js';
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
      const values = new Map<string, NDArray | Slice>(Object.entries(feeds));
      const host = new Map<string, readonly number[]>();
      const read = (t: Tensor, forOrt = false): NDArray => {
        const v = values.get(t.name);
        if (!v) throw new ProbityError('STAGE_VALUE', `staged run: no value for ${t.name}`);
        if (v instanceof NDArray) return v;
        const view = arena!.f32(v.offset, v.length);
        if (!forOrt) return new NDArray(view, host.get(t.name) as number[]);
        let buf = this.staging.get(t.name);
        if (buf?.length !== v.length) this.staging.set(t.name, (buf = new Float32Array(v.length)));
        buf.set(view);
        return new NDArray(buf, host.get(t.name) as number[]);
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
          const ins = node.inputs.map((t) => (t ? read(t) : null));
          const outs = HOST_KERNELS[node.op](ins, node.attrs, arena);
          node.outputs.forEach((t, i) => {
            values.set(t.name, outs[i]);
            host.set(t.name, t.shape as number[]);
          });
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
  const level = new Map<Tensor, number>();
  const stageOf = new Map<Node, number>();
  let last = 0;
  for (const n of live) {
    const L = Math.max(0, ...n.inputs.map((t) => (t ? (level.get(t) ?? 0) : 0)));
    const isHost = n.domain === HOST_DOMAIN;
    if (isHost && !HOST_KERNELS[n.op]) throw new ProbityError('HOST_KERNEL', `no host kernel for ${n.op}`);
    stageOf.set(n, L);
    for (const o of n.outputs) level.set(o, isHost ? L + 1 : L);
    last = Math.max(last, isHost ? L + 1 : L);
  }
  const stages: Stage[] = Array.from({ length: last + 1 }, (_, k) => ({ graph: new Graph(`${g.name}_stage${k}`), hostAfter: [] }));
  const fixed = new Set<Tensor>([...g.constants, ...g.externals]);
  const producedIn = new Map<Tensor, number>();
  for (const n of live) if (n.domain !== HOST_DOMAIN) for (const o of n.outputs) producedIn.set(o, stageOf.get(n)!);
  // Which stage-produced tensors must leave their stage: read by a later stage or a host op, or a graph output.
  const crossing = new Set<Tensor>(g.outputs);
  for (const n of live) {
    const k = stageOf.get(n)!;
    for (const t of n.inputs) {
      if (!t || fixed.has(t)) continue;
      const from = producedIn.get(t);
      if (from !== undefined && (n.domain === HOST_DOMAIN || from !== k)) crossing.add(t);
    }
  }
  for (const n of live) {
    const k = stageOf.get(n)!;
    if (n.domain === HOST_DOMAIN) {
      stages[k].hostAfter.push(n);
      continue;
    }
    const sg = stages[k].graph;
    sg.nodes.push(n);
    for (const t of n.inputs) {
      if (t && !fixed.has(t) && producedIn.get(t) !== k && !sg.inputs.includes(t)) sg.inputs.push(t);
    }
    for (const o of n.outputs) if (crossing.has(o)) sg.outputs.push(o);
  }
  for (const st of stages) {
    st.graph.constants.push(...g.constants);
    st.graph.externals.push(...g.externals);
    if (st.graph.outputs.length) st.runner = await compilePlain(st.graph, opts);
  }
  const sig = (t: Tensor): Signature => ({ name: t.name, dtype: t.dtype, shape: t.shape });
  const finals = new Map(g.outputs.map((t) => [t.name, t]));
  for (const t of g.outputs) {
    if (!t.producer) throw new ProbityError('STAGE_OUTPUT', `staged graph: output ${t.name} is an input; not supported`);
  }
  return new StagedGraph(stages, g.inputs.map(sig), g.outputs.map(sig), finals);
}
