// LayerNormalization (ONNX op, last axis) and RMS norm (a composite: ORT fuses the pattern on its own).
import type { Tensor } from '../graph/graph.js';
import { ShapeError } from '../graph/shape.js';
import { show } from '../../errors.js';
import { emit, type OpDef } from './def.js';
import { add, mul, sub } from './elementwise.js';
import { reduceMean, reduceSum } from './reduce.js';
import { rsqrt } from './unary.js';
import { reshape } from './shape-ops.js';
import { mulDims } from '../graph/shape.js';

export const LayerNormalization: OpDef = {
  infer: (ins) => {
    const [x, scale, bias] = ins as (Tensor | null)[];
    const c = x!.shape[x!.rank - 1];
    for (const p of [scale, bias]) {
      if (p && (p.rank !== 1 || p.shape[0] !== c)) throw new ShapeError(`LayerNormalization: ${p.name} ${show(p.shape)} must be [${show(c)}] for input ${show(x!.shape)}`);
    }
    return [{ dtype: x!.dtype, shape: x!.shape }];
  },
  vjp: (n, [d], needs) => {
    const [x, scale, bias] = n.inputs as (Tensor | null)[];
    const eps = (n.attrs.epsilon as { float: number }).float;
    // Recompute the normalised input; xhat = (x - mu) * r, r = 1/sqrt(var + eps).
    const mu = reduceMean(x!, -1, true);
    const xc = sub(x!, mu);
    const r = rsqrt(add(reduceMean(mul(xc, xc), -1, true), eps));
    const xhat = mul(xc, r);
    const dxhat = mul(d!, scale!);
    // dx = r * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
    const dx = needs[0] ? mul(r, sub(sub(dxhat, reduceMean(dxhat, -1, true)), mul(xhat, reduceMean(mul(dxhat, xhat), -1, true)))) : null;
    const rows = mulDims(x!.shape.slice(0, -1));
    const c = x!.shape[x!.rank - 1];
    const sumRows = (t: Tensor) => reduceSum(reshape(t, [rows, c]), 0);
    const dscale = needs[1] ? sumRows(mul(d!, xhat)) : null;
    const dbias = bias && needs[2] ? sumRows(d!) : null;
    return [dx, dscale, dbias];
  },
};

/** LayerNorm over the last axis: (x - mean) / sqrt(var + eps) * scale + bias. */
export function layerNorm(x: Tensor, scale: Tensor, bias: Tensor | null, eps: number): Tensor {
  return emit('LayerNormalization', LayerNormalization, bias ? [x, scale, bias] : [x, scale], { axis: -1, epsilon: { float: eps } })[0];
}

/** RMSNorm (Llama): x / sqrt(mean(x^2) + eps) * scale. */
export function rmsNorm(x: Tensor, scale: Tensor, eps: number): Tensor {
  return mul(mul(x, rsqrt(add(reduceMean(mul(x, x), -1, true), eps))), scale);
}
