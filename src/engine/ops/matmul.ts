// Matrix products. MatMul follows numpy (batch dims broadcast, rank >= 2 here); Gemm is the 2-D form with transposes
// folded in, which ORT runs without materialising the transpose.
import type { Node, Tensor } from '../graph/graph.js';
import { broadcastShapes, mulDims, ShapeError } from '../graph/shape.js';
import { show } from '../../errors.js';
import { emit, intAttr, requireRank, sameDType, type OpDef } from './def.js';
import { unbroadcast, mul } from './elementwise.js';
import { reshape, reshapeLike, transpose } from './shape-ops.js';

export const MatMul: OpDef = {
  infer: (ins) => {
    const [a, b] = ins as Tensor[];
    const dtype = sameDType('MatMul', [a, b]);
    requireRank('MatMul', a, 2);
    requireRank('MatMul', b, 2);
    const k1 = a.shape[a.rank - 1];
    const k2 = b.shape[b.rank - 2];
    if (k1 !== k2) throw new ShapeError(`MatMul: inner dims differ: ${a.name} ${show(a.shape)} @ ${b.name} ${show(b.shape)} (${show(k1)} vs ${show(k2)})`);
    const batch = broadcastShapes('MatMul', a.shape.slice(0, -2), b.shape.slice(0, -2));
    return [{ dtype, shape: [...batch, a.shape[a.rank - 2], b.shape[b.rank - 1]] }];
  },
  vjp: (n, [d], needs) => {
    const [a, b] = n.inputs as Tensor[];
    let da: Tensor | null = null;
    let db: Tensor | null = null;
    if (b.rank === 2 && a.rank > 2) {
      // [..., K] @ [K, N]: fold the batch dims so each gradient is one large GEMM.
      const K = a.shape[a.rank - 1];
      const N = b.shape[1];
      const rows = mulDims(a.shape.slice(0, -1));
      const d2 = reshape(d!, [rows, N]);
      if (needs[0]) da = reshapeLike(gemm(d2, b, { transB: true }), a);
      if (needs[1]) db = gemm(reshape(a, [rows, K]), d2, { transA: true });
      return [da, db];
    }
    if (needs[0]) da = unbroadcast(matmul(d!, swapLast(b)), a);
    if (needs[1]) db = unbroadcast(matmul(swapLast(a), d!), b);
    return [da, db];
  },
};

function swapLast(t: Tensor): Tensor {
  const perm = t.shape.map((_, i) => i);
  perm[t.rank - 1] = t.rank - 2;
  perm[t.rank - 2] = t.rank - 1;
  return transpose(t, perm);
}

export const matmul = (a: Tensor, b: Tensor): Tensor => emit('MatMul', MatMul, [a, b])[0];

export interface GemmOpts {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}

/** Y = alpha * op(A) @ op(B) + beta * C, A and B 2-D. */
export const Gemm: OpDef = {
  infer: (ins, attrs) => {
    const [a, b, c] = ins;
    const dtype = sameDType('Gemm', [a!, b!]);
    if (a!.rank !== 2 || b!.rank !== 2) throw new ShapeError(`Gemm: needs 2-D inputs, got ${show(a!.shape)} and ${show(b!.shape)}`);
    const tA = intAttr(attrs, 'transA', 0) === 1;
    const tB = intAttr(attrs, 'transB', 0) === 1;
    const [M, K1] = tA ? [a!.shape[1], a!.shape[0]] : a!.shape;
    const [K2, N] = tB ? [b!.shape[1], b!.shape[0]] : b!.shape;
    if (K1 !== K2) throw new ShapeError(`Gemm: inner dims differ: op(A) [${show(M)}, ${show(K1)}] vs op(B) [${show(K2)}, ${show(N)}] (transA=${tA}, transB=${tB})`);
    if (c) broadcastShapes('Gemm (C)', [M, N], c.shape);
    return [{ dtype, shape: [M, N] }];
  },
  vjp: (n: Node, [d], needs) => {
    const [a, b, c] = n.inputs as (Tensor | null)[];
    const tA = intAttr(n.attrs, 'transA', 0) === 1;
    const tB = intAttr(n.attrs, 'transB', 0) === 1;
    const alpha = typeof n.attrs.alpha === 'object' ? (n.attrs.alpha as { float: number }).float : 1;
    const beta = typeof n.attrs.beta === 'object' ? (n.attrs.beta as { float: number }).float : 1;
    // d op(A) = alpha dY op(B)^T ; d op(B) = alpha op(A)^T dY ; transpose back where op() transposed.
    const da = !needs[0] ? null : tA ? gemm(b!, d!, { transA: tB, transB: true, alpha }) : gemm(d!, b!, { transB: !tB, alpha });
    const db = !needs[1] ? null : tB ? gemm(d!, a!, { transA: true, transB: tA, alpha }) : gemm(a!, d!, { transA: !tA, alpha });
    const dc = c && needs[2] ? unbroadcast(beta === 1 ? d! : mul(d!, beta), c) : null;
    return [da, db, dc];
  },
};

export function gemm(a: Tensor, b: Tensor, opts: GemmOpts = {}, c?: Tensor): Tensor {
  const attrs: Record<string, number | { float: number }> = {};
  if (opts.transA) attrs.transA = 1;
  if (opts.transB) attrs.transB = 1;
  if (opts.alpha !== undefined && opts.alpha !== 1) attrs.alpha = { float: opts.alpha };
  if (opts.beta !== undefined && opts.beta !== 1) attrs.beta = { float: opts.beta };
  return emit('Gemm', Gemm, c ? [a, b, c] : [a, b], attrs)[0];
}
