// Serialise a Graph to ONNX ModelProto bytes. Output shapes are left to ORT's own inference: our symbolic dim names
// (e.g. 'T[0:-1]') are ours, and declaring them would only invite shape-merge warnings.
import onnxProto from 'onnx-proto';
import type { Attr, Graph, Tensor } from './graph.js';
import { ONNX_ELEM, type TypedArray } from './dtype.js';

const { onnx } = onnxProto;
export const OPSET = 20;
const IR_VERSION = 9;

function bytesOf(a: TypedArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function tensorProto(name: string, dtype: Tensor['dtype'], dims: readonly number[], data: TypedArray) {
  return onnx.TensorProto.create({ name, dataType: ONNX_ELEM[dtype], dims: [...dims], rawData: bytesOf(data) });
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
  const { nodes, needed } = liveNodes(g);
  const graph = onnx.GraphProto.create({
    name: g.name,
    node: nodes.map((n) =>
      onnx.NodeProto.create({
        opType: n.onnxOp,
        domain: n.domain,
        input: n.inputs.map((t) => t?.name ?? ''),
        output: n.outputs.map((t) => t.name),
        attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v)),
      }),
    ),
    // Every declared input stays, used or not, so feeds never depend on what the optimiser kept.
    input: g.inputs.map((t) => valueInfo(t, true)),
    output: g.outputs.map((t) => valueInfo(t, false)),
    initializer: g.constants.filter((c) => needed.has(c)).map((c) => tensorProto(c.name, c.dtype, c.shape as number[], c.constValue!)),
  });
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'probity',
    opsetImport: [{ domain: '', version: OPSET }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
