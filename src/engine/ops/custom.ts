// A value with a hand-written gradient (like jax.custom_vjp): the forward is `value`, computed however is cheapest;
// the backward is `rule`, which returns gradients for `deps`. Used where autodiff of the forward would be dense but
// the true gradient is sparse (TopK SAE encoders).
import type { Node, Tensor } from '../graph/graph.js';
import type { OpDef } from './def.js';

export type CustomRule = (d: Tensor, needs: readonly boolean[]) => (Tensor | null)[];

export const CustomVjp: OpDef = {
  infer: (ins) => [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape }],
  vjp: (n: Node, [d], needs) => [null, ...(n.custom as CustomRule)(d!, needs.slice(1))],
};

export function customVjp(value: Tensor, deps: Tensor[], rule: CustomRule): Tensor {
  return value.graph.apply('CustomVjp', [value, ...deps], {}, CustomVjp.infer, 'Identity', '', rule)[0];
}
