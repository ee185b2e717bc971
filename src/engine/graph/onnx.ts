// Serialise a Graph to ONNX ModelProto bytes. Output shapes are left to ORT's own inference: our symbolic dim names
// (e.g. 'T[0:-1]') are ours, and declaring them would only invite shape-merge warnings.
import onnxProto from 'onnx-proto';
import { ALIAS_OPS, type Attr, type Graph, type Tensor } from './graph.js';
import { ONNX_ELEM, type TypedArray } from './dtype.js';

const { onnx } = onnxProto;
export const OPSET = 20;
const IR_VERSION = 9;

export function bytesOf(a: TypedArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function tensorProto(name: string, dtype: Tensor['dtype'], dims: readonly number[], data: TypedArray) {
  return onnx.TensorProto.create({ name, dataType: ONNX_ELEM[dtype], dims: [...dims], rawData: bytesOf(data) });
}

/** The in-memory "file" an external constant's bytes are handed to ORT under (session.ts passes the data). */
export function externalPath(t: Tensor): string {
  return `${t.name}.bin`;
}

function externalProto(t: Tensor) {
  const length = String(t.constValue!.byteLength);
  return onnx.TensorProto.create({
    name: t.name, dataType: ONNX_ELEM[t.dtype], dims: [...(t.shape as number[])],
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [{ key: 'location', value: externalPath(t) }, { key: 'offset', value: '0' }, { key: 'length', value: length }],
  });
}

function attribute(name: string, v: Attr) {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return onnx.AttributeProto.create({ name, type: A.INT, i: v });
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: A.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: A.INTS, ints: v });
  if ('float' in v) return onnx.AttributeProto.create({ name, type: A.FLOAT, f: v.float });
  if ('floats' in v) return onnx.AttributeProto.create({ name, type: A.FLOATS, floats: v.floats });
  return onnx.AttributeProto.create({ name, type: A.TENSOR, t: tensorProto('value', v.dtype, [1], v.tensor) });
}

function valueInfo(t: Tensor, withShape: boolean) {
  const shape = withShape ? { dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } : undefined;
  return onnx.ValueInfoProto.create({ name: t.name, type: { tensorType: { elemType: ONNX_ELEM[t.dtype], shape } } });
}

/** Only nodes that some output depends on are written (builders may leave dead branches behind). */
function liveNodes(g: Graph) {
  const needed = new Set<Tensor>(g.outputs);
  const keep: boolean[] = new Array(g.nodes.length).fill(false);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (n.outputs.some((o) => needed.has(o))) {
      keep[i] = true;
      for (const t of n.inputs) if (t) needed.add(t);
    }
  }
  return { nodes: g.nodes.filter((_, i) => keep[i]), needed };
}

export function toOnnx(g: Graph): Uint8Array {
  const { nodes: all, needed } = liveNodes(g);
  // Alias ops (StopGradient, CustomVjp) write no node unless their result is a graph output.
  const alias = new Map<string, string>();
  const isOutput = new Set(g.outputs.map((t) => t.name));
  const nodes = all.filter((n) => {
    if (!ALIAS_OPS.has(n.op) || isOutput.has(n.outputs[0].name)) return true;
    alias.set(n.outputs[0].name, n.inputs[0]!.name);
    return false;
  });
  const resolve = (name: string): string => {
    let r = name;
    while (alias.has(r)) r = alias.get(r)!;
    return r;
  };
  const graph = onnx.GraphProto.create({
    name: g.name,
    node: nodes.map((n) =>
      onnx.NodeProto.create({
        opType: ALIAS_OPS.has(n.op) ? 'Identity' : n.onnxOp,
        domain: n.domain,
        input: (ALIAS_OPS.has(n.op) ? n.inputs.slice(0, 1) : n.inputs).map((t) => (t ? resolve(t.name) : '')),
        output: n.outputs.map((t) => t.name),
        attribute: ALIAS_OPS.has(n.op) ? [] : Object.entries(n.attrs).map(([k, v]) => attribute(k, v)),
      }),
    ),
    // Every declared input stays, used or not, so feeds never depend on what the optimiser kept.
    input: g.inputs.map((t) => valueInfo(t, true)),
    output: g.outputs.map((t) => valueInfo(t, false)),
    initializer: [
      ...g.constants.filter((c) => needed.has(c)).map((c) => tensorProto(c.name, c.dtype, c.shape as number[], c.constValue!)),
      ...g.externals.filter((c) => needed.has(c)).map((c) => externalProto(c)),
    ],
  });
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'probity',
    // onnxruntime's contrib ops (com.microsoft) are imported only when a graph uses one.
    opsetImport: [{ domain: '', version: OPSET }, ...(nodes.some((n) => n.domain === 'com.microsoft') ? [{ domain: 'com.microsoft', version: 1 }] : [])],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
