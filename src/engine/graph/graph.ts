// The graph IR: symbolic tensors produced by nodes. Ops (src/engine/ops) create nodes through `Graph.apply`, which
// asks the op's table entry for output shapes, so every shape error surfaces while the graph is built, naming the op.
import { ProbityError } from '../../errors.js';
import type { DType, TypedArray } from './dtype.js';
import type { Dim, Shape } from './shape.js';

/** An ONNX attribute value: integer, float (tagged, ONNX distinguishes them), list of ints, list of floats, string. */
export type Attr =
  | number
  | { float: number }
  | number[]
  | { floats: number[] }
  | string
  | { tensor: TypedArray; dtype: DType };
export type Attrs = Record<string, Attr>;

export class Tensor {
  constructor(
    readonly graph: Graph,
    /** ONNX value name; Graph.output may rename a node's result to the requested output name. */
    public name: string,
    readonly dtype: DType,
    readonly shape: readonly Dim[],
    /** The node that produced it; undefined for inputs and constants. */
    readonly producer?: Node,
    /** Values, for constants: shape-carrying ops (Reshape, Slice, ...) read them while building. */
    readonly constValue?: TypedArray,
  ) {}
  get rank(): number {
    return this.shape.length;
  }
  toString(): string {
    return `${this.name}: ${this.dtype}[${this.shape.join(', ')}]`;
  }
}

/** Builder-level ops that compute nothing: their output is their first input under another name (gradient tricks). */
export const ALIAS_OPS = new Set(['StopGradient', 'CustomVjp']);

export interface Node {
  /** Key in the op table (src/engine/ops): finds the VJP rule. */
  readonly op: string;
  /** ONNX op type written to the model (differs from `op` only for builder-level ops such as StopGradient). */
  readonly onnxOp: string;
  readonly domain: string;
  readonly inputs: readonly (Tensor | null)[];
  readonly outputs: readonly Tensor[];
  readonly attrs: Attrs;
  readonly index: number;
  /** For CustomVjp nodes: the gradient rule supplied by the builder. */
  readonly custom?: unknown;
}

export interface OutputSpec {
  dtype: DType;
  shape: Shape;
}

/** What an op must provide to the graph builder: output types from input types, checking as it goes. */
export type InferFn = (inputs: readonly (Tensor | null)[], attrs: Attrs) => OutputSpec[];

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  readonly outputs: Tensor[] = [];
  readonly constants: Tensor[] = [];
  /**
   * Constants whose bytes stay outside the ONNX model (initializers with external data, handed to ORT in memory):
   * ORT can prepack them for its GEMMs like any initializer, and the model bytes stay small to hash and cache.
   */
  readonly externals: Tensor[] = [];
  private counter = 0;
  private names = new Set<string>();
  private scalarCache = new Map<string, Tensor>();

  constructor(readonly name = 'probity') {}

  private fresh(base: string): string {
    let n = base;
    while (this.names.has(n)) n = `${base}_${++this.counter}`;
    this.names.add(n);
    return n;
  }

  /** A graph input fed at run time. Its name is the feed name, so it must be unique. */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    if (this.names.has(name)) throw new ProbityError('GRAPH_NAME', `graph input name "${name}" is already used`);
    this.names.add(name);
    const t = new Tensor(this, name, dtype, [...shape]);
    this.inputs.push(t);
    return t;
  }

  /** A constant (ONNX initializer). Small scalars are shared. */
  constant(value: TypedArray, dtype: DType, shape: Shape, name = 'const'): Tensor {
    const t = new Tensor(this, this.fresh(name), dtype, [...shape], undefined, value);
    this.constants.push(t);
    return t;
  }

  /** A constant whose data stays in `value` (not copied into the model bytes; see `externals`). Name must be unique. */
  external(name: string, value: TypedArray, dtype: DType, shape: Shape): Tensor {
    if (this.names.has(name)) throw new ProbityError('GRAPH_NAME', `graph name "${name}" is already used`);
    this.names.add(name);
    const t = new Tensor(this, name, dtype, [...shape], undefined, value);
    this.externals.push(t);
    return t;
  }

  scalar(v: number, dtype: DType): Tensor {
    const key = `${dtype}:${Object.is(v, -0) ? '-0' : v}`;
    let t = this.scalarCache.get(key);
    if (!t) {
      const arr = dtype === 'int64' ? BigInt64Array.of(BigInt(v)) : dtype === 'float64' ? Float64Array.of(v) : dtype === 'int32' ? Int32Array.of(v) : Float32Array.of(v);
      t = this.constant(arr, dtype, [], 'scalar');
      this.scalarCache.set(key, t);
    }
    return t;
  }

  /** A constant int64 vector (axes, shapes, starts...), shared between uses. */
  ints(values: readonly number[], name = 'ints'): Tensor {
    const key = `ints:${values.join(',')}`;
    let t = this.scalarCache.get(key);
    if (!t) {
      t = this.constant(BigInt64Array.from(values, (v) => BigInt(v)), 'int64', [values.length], name);
      this.scalarCache.set(key, t);
    }
    return t;
  }

  /** Mark tensors as graph outputs under the given names (an Identity node renames when needed). */
  output(t: Tensor, name?: string): Tensor {
    if (t.graph !== this) throw new ProbityError('GRAPH_MIX', `tensor ${t.name} belongs to another graph`);
    let out = t;
    if (name && name !== t.name) {
      if (this.names.has(name)) throw new ProbityError('GRAPH_NAME', `graph output name "${name}" is already used`);
      // Rename a node's own result rather than adding an Identity: ORT cannot elide a copy into a graph output.
      if (t.producer && !ALIAS_OPS.has(t.producer.op) && !this.outputs.includes(t)) {
        this.names.delete(t.name);
        t.name = name;
        this.names.add(name);
        this.outputs.push(t);
        return t;
      }
      out = new Tensor(this, name, t.dtype, t.shape, undefined);
      this.names.add(name);
      const node: Node = { op: 'Identity', onnxOp: 'Identity', domain: '', inputs: [t], outputs: [out], attrs: {}, index: this.nodes.length };
      (out as { producer?: Node }).producer = node;
      this.nodes.push(node);
    }
    this.outputs.push(out);
    return out;
  }

  /** Add a node. `infer` computes the outputs' types (and throws ShapeError on a mismatch). */
  apply(op: string, inputs: readonly (Tensor | null)[], attrs: Attrs, infer: InferFn, onnxOp = op, domain = '', custom?: unknown): Tensor[] {
    for (const t of inputs) {
      if (t && t.graph !== this) throw new ProbityError('GRAPH_MIX', `${op}: input ${t.name} belongs to another graph`);
    }
    const specs = infer(inputs, attrs);
    const node = { op, onnxOp, domain, inputs, attrs, custom, index: this.nodes.length, outputs: [] as Tensor[] };
    for (const s of specs) node.outputs.push(new Tensor(this, this.fresh(op.toLowerCase()), s.dtype, [...s.shape], node));
    this.nodes.push(node);
    return node.outputs;
  }
}
