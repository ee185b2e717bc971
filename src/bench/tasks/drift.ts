// Off-target drift of an intervention: KL(unsteered || steered) of next-token distributions on neutral documents,
// per document (the documents are the clusters its intervals resample). The steering and conditional suites both
// measure it here. The unsteered side runs through the same per-row intervention with every row empty, so both sides
// come from one graph (ORT rounds an intervened graph differently from a plain one) and a job that changes nothing
// has KL exactly 0.
import type { Model } from '../../models/model.js';
import type { Intervention } from '../../models/hooks/interventions.js';
import { ProbityError } from '../../errors.js';

/** Per neutral document: the summed per-position KL(unsteered || intervened) and the number of positions. */
export interface DocKl {
  sum: number;
  n: number;
}

function logSoftmax(x: ArrayLike<number>, out: Float64Array): void {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > m) m = x[i];
  let z = 0;
  for (let i = 0; i < x.length; i++) z += Math.exp(x[i] - m);
  const l = m + Math.log(z);
  for (let i = 0; i < x.length; i++) out[i] = x[i] - l;
}

/**
 * A drift measurer over fixed neutral rows. `rows(jobs)` is the hook's intervention for a batch whose row r does
 * what jobs[r] says (null: nothing). Each call runs every job on every neutral document, whole groups of the
 * documents per forward (`batch` rows at most, the same padding as the unsteered run); the unsteered side is
 * computed once, on first use.
 */
export function neutralDrift<J>(
  model: Model, hook: string, neutral: readonly number[][], rows: (jobs: readonly (J | null)[]) => Intervention, batch: number,
): (jobs: readonly J[]) => Promise<DocKl[][]> {
  const V = model.spec.vocab;
  const nDocs = neutral.length;
  let base: Promise<{ T: number; mask: Uint8Array; lp: Float64Array[] }> | null = null;
  const unsteered = async () => {
    const r = await model.forward(neutral as number[][], { logits: 'all', interventions: { [hook]: [rows(neutral.map(() => null))] } });
    const [, T] = r.mask.dims;
    const mask = r.mask.data as Uint8Array;
    const tmp = new Float64Array(V);
    const lp = neutral.map((_, j) => {
      const a = new Float64Array(T * V);
      for (let t = 0; t < T; t++) {
        if (!mask[j * T + t]) continue;
        logSoftmax(r.logits!.data.subarray((j * T + t) * V, (j * T + t + 1) * V), tmp);
        a.set(tmp, t * V);
      }
      return a;
    });
    return { T, mask, lp };
  };
  return async (jobs) => {
    base ??= unsteered();
    const { T, mask, lp } = await base;
    const lq = new Float64Array(V);
    const res: DocKl[][] = [];
    const per = Math.max(1, Math.floor(batch / nDocs));
    for (let i = 0; i < jobs.length; i += per) {
      const group = jobs.slice(i, i + per);
      const r = await model.forward(group.flatMap(() => neutral as number[][]), {
        logits: 'all', interventions: { [hook]: [rows(group.flatMap((job) => neutral.map(() => job)))] },
      });
      if (r.logits!.dims[1] !== T) throw new ProbityError('INTERNAL', `drift: ${r.logits!.dims[1]} positions vs ${T}`);
      group.forEach((_, k) => {
        const docs: DocKl[] = [];
        for (let j = 0; j < nDocs; j++) {
          const row = k * nDocs + j;
          let sum = 0;
          let n = 0;
          for (let t = 0; t < T; t++) {
            if (!mask[j * T + t]) continue;
            logSoftmax(r.logits!.data.subarray((row * T + t) * V, (row * T + t + 1) * V), lq);
            const a = lp[j];
            let kl = 0;
            for (let v = 0; v < V; v++) {
              const l = a[t * V + v];
              kl += Math.exp(l) * (l - lq[v]);
            }
            sum += Math.max(0, kl);
            n++;
          }
          docs.push({ sum, n });
        }
        res.push(docs);
      });
    }
    return res;
  };
}
