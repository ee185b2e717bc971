// Hook points and interventions on tiny random-weight GPT-2 and Llama checkpoints, checked against the float64
// reference (reference.ts) with the same intervention applied through its hook callback.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { NDArray } from '../../src/engine/ndarray.js';
import * as op from '../../src/engine/ops/index.js';
import type { Model } from '../../src/models/model.js';
import type { InterventionMap } from '../../src/models/hooks/interventions.js';
import { layerNormRef, maxAbsDiff, rmsNormRef, type RefHook } from './reference.js';
import { close, flat, gpt2Fixture, llamaFixture, load, logitsRow, prng, randomArray, randomTokens, rejectsCode, rowSlice, tempDir, type Fixture } from './tiny-models.js';

const dir = tempDir('hooks');
const rand = prng(101);
const T = 6;
const ROWS = [randomTokens(rand, T), randomTokens(rand, T)];
const OTHER = [randomTokens(rand, T), randomTokens(rand, T)];

const FIXTURES: [string, () => Fixture<unknown>][] = [
  ['gpt2', () => gpt2Fixture(join(dir, 'gpt2'), { prefix: true, seed: 31 })],
  ['llama', () => llamaFixture(join(dir, 'llama'), { seed: 32 })],
];

// Reference-side interventions ---------------------------------------------------------------------------------------

/** Calls fn(x, offset-of-position-t, width) for every position t of a [T, ...] hook value (optionally some only). */
function eachPos(x: Float64Array, shape: number[], fn: (off: number, n: number, t: number) => void, positions?: number[]) {
  const n = x.length / shape[0];
  for (let t = 0; t < shape[0]; t++) if (!positions || positions.includes(t)) fn(t * n, n, t);
}
const at = (hook: string, f: (x: Float64Array, shape: number[]) => void): RefHook => (name, x, shape) => {
  if (name === hook) f(x, shape);
};
const addRef = (hook: string, v: ArrayLike<number>, scale = 1, positions?: number[]) =>
  at(hook, (x, s) => eachPos(x, s, (o, n) => { for (let i = 0; i < n; i++) x[o + i] += scale * v[i]; }, positions));
const setRef = (hook: string, v: ArrayLike<number> | null, positions?: number[]) =>
  at(hook, (x, s) => eachPos(x, s, (o, n) => { for (let i = 0; i < n; i++) x[o + i] = v ? v[i] : 0; }, positions));
const clampRef = (hook: string, dir: ArrayLike<number>, value: number | null) =>
  at(hook, (x, s) => eachPos(x, s, (o, n) => {
    const norm = Math.sqrt(Array.from(dir).reduce((a, d) => a + d * d, 0));
    let along = 0;
    for (let i = 0; i < n; i++) along += (x[o + i] * dir[i]) / norm;
    const c = (value ?? 0) - along;
    for (let i = 0; i < n; i++) x[o + i] += (c * dir[i]) / norm;
  }));
const scaleRef = (hook: string, k: number) => at(hook, (x) => { for (let i = 0; i < x.length; i++) x[i] *= k; });
const all = (...hs: RefHook[]): RefHook => (name, x, shape) => hs.forEach((h) => h(name, x, shape));

/** Model logits of every row vs the reference with `hook`. */
function checkLogits(label: string, fx: Fixture<unknown>, logits: { data: Float32Array; dims: readonly number[] }, hook?: RefHook, rows = ROWS) {
  rows.forEach((r, b) => close(`${label} row ${b}`, logitsRow(logits, b), flat(fx.reference(r, hook).logits)));
}

/** Documented hook shapes (hooks/names.ts), for a run without past (S = T). */
function documentedShape(name: string, m: Model, B: number, T: number): number[] {
  const { dModel: D, nHeads: H, nKvHeads: K, dHead: Dh, dMlp: F } = m.spec;
  if (/attn\.hook_(attn_scores|pattern)$/.test(name)) return [B, H, T, T];
  if (/attn\.hook_(q|rot_q|z)$/.test(name)) return [B, T, H, Dh];
  if (/attn\.hook_(k|v|rot_k)$/.test(name)) return [B, T, K, Dh];
  if (/mlp\.hook_(pre|pre_linear|post)$/.test(name)) return [B, T, F];
  return [B, T, D];
}

for (const [arch, make] of FIXTURES) {
  describe(`hooks on tiny ${arch}`, () => {
    const fx = make();
    const D = 16;
    const vec = randomArray(D, prng(5), 1);
    const vec2 = randomArray(D, prng(6), 1);
    const base = load(fx.path).then((m) => m.forward(ROWS, { cache: ['blocks.0.hook_resid_post', 'ln_final.hook_normalized'] }));

    test('(a) last resid_post -> final norm and unembedding by hand equals the logits', async () => {
      const m = await load(fx.path);
      const L = m.spec.nLayers;
      const r = await m.forward(ROWS, { cache: [`blocks.${L - 1}.hook_resid_post`] });
      const x = r.cache[`blocks.${L - 1}.hook_resid_post`];
      const w = m.weights;
      const U = m.spec.tied ? w.get('embed.W_E') : w.get('unembed.W_U'); // [V, D]
      const V = m.spec.vocab;
      const byHand = new Float64Array(ROWS.length * T * V);
      for (let p = 0; p < ROWS.length * T; p++) {
        const xs = x.data.subarray(p * D, (p + 1) * D) as Float32Array;
        const h = arch === 'gpt2' ? layerNormRef(xs, w.get('ln_final.w').data, w.get('ln_final.b').data, m.spec.normEps) : rmsNormRef(xs, w.get('ln_final.w').data, m.spec.normEps);
        for (let v = 0; v < V; v++) {
          let s = 0;
          for (let i = 0; i < D; i++) s += h[i] * U.data[v * D + i];
          byHand[p * V + v] = s;
        }
      }
      close(`${arch} resid_post -> logits by hand`, r.logits!.data, byHand);
    });

    test('(b) every hook can be cached, has its documented shape and the reference value', async () => {
      const m = await load(fx.path);
      const perBlock = arch === 'gpt2' ? 15 : 18;
      assert.equal(m.hookNames.length, (arch === 'gpt2' ? 3 : 2) + m.spec.nLayers * perBlock);
      assert.equal(new Set(m.hookNames).size, m.hookNames.length);
      const r = await m.runWithCache(ROWS, { names: m.hookNames });
      assert.deepEqual(Object.keys(r.cache).sort(), [...m.hookNames].sort());
      let worst = 0;
      for (const name of m.hookNames) {
        const got = r.cache[name];
        assert.deepEqual([...got.dims], documentedShape(name, m, ROWS.length, T), name);
        ROWS.forEach((row, b) => {
          const ref = fx.reference(row).acts.get(name);
          assert.ok(ref, `reference has no ${name}`);
          const mine = rowSlice(got.data as Float32Array, got.dims, b);
          const want = ref.data.slice();
          if (name.endsWith('hook_attn_scores')) {
            // Masked (future) entries: -inf in the reference, a large negative number in the model.
            mine.forEach((v, i) => {
              if (!Number.isFinite(want[i])) {
                assert.ok(v < -1e8, `${name}: masked score ${v}`);
                mine[i] = want[i] = 0;
              }
            });
          }
          const d = maxAbsDiff(mine, want);
          assert.ok(d <= 1e-5, `${name} row ${b}: max diff ${d}`);
          worst = Math.max(worst, d);
        });
      }
      console.log(`# ${arch}: all ${m.hookNames.length} hooks vs reference: max |diff| = ${worst.toExponential(2)}`);
    });

    test('(c) add at blocks.0.hook_resid_post moves ln_final and logits exactly as the reference', async () => {
      const m = await load(fx.path);
      const r = await m.forward(ROWS, {
        cache: ['ln_final.hook_normalized'],
        interventions: { 'blocks.0.hook_resid_post': [{ kind: 'add', vector: NDArray.f32(vec, [D]), scale: 1.5 }] },
      });
      const hook = addRef('blocks.0.hook_resid_post', vec, 1.5);
      ROWS.forEach((row, b) => {
        const ref = fx.reference(row, hook);
        const ln = r.cache['ln_final.hook_normalized'];
        close(`${arch} add: ln_final row ${b}`, rowSlice(ln.data as Float32Array, ln.dims, b), ref.acts.get('ln_final.hook_normalized')!.data);
      });
      checkLogits(`${arch} add: logits`, fx, r.logits!, hook);
      // It did change something.
      assert.ok(maxAbsDiff(r.logits!.data, (await base).logits!.data) > 1e-2);
    });

    test('(d) zero, mean and the graph kind match the reference', async () => {
      const m = await load(fx.path);
      const mean = NDArray.f32(vec2, [D]);
      const ivs: InterventionMap = {
        'blocks.0.hook_attn_out': [{ kind: 'mean', mean }],
        'blocks.1.hook_mlp_out': [{ kind: 'zero' }],
        'blocks.1.attn.hook_z': [{ kind: 'zero', positions: [2] }],
        'blocks.0.hook_mlp_out': [{ kind: 'graph', key: 'scale', build: (x, input) => op.mul(x, input('k', NDArray.scalar(0.5))) }],
      };
      const r = await m.forward(ROWS, { interventions: ivs });
      const hook = all(
        setRef('blocks.0.hook_attn_out', vec2),
        setRef('blocks.1.hook_mlp_out', null),
        setRef('blocks.1.attn.hook_z', null, [2]),
        scaleRef('blocks.0.hook_mlp_out', 0.5),
      );
      checkLogits(`${arch} zero/mean/graph`, fx, r.logits!, hook);
    });

    test('(d) patching all of run A\'s resid_pre at layer 0 into run B gives run A\'s logits; by position, only those', async () => {
      const m = await load(fx.path);
      const a = await m.forward(ROWS, { cache: ['blocks.0.hook_resid_pre'] });
      const src = a.cache['blocks.0.hook_resid_pre'];
      const full = await m.forward(OTHER, { interventions: { 'blocks.0.hook_resid_pre': [{ kind: 'patch', source: src }] } });
      close(`${arch} full patch vs run A`, full.logits!.data, a.logits!.data);
      const some = await m.forward(OTHER, { interventions: { 'blocks.0.hook_resid_pre': [{ kind: 'patch', source: src, positions: [0, 1, 2] }] } });
      // Causality: positions 0..2 see only patched inputs, so their logits are run A's.
      ROWS.forEach((_, b) => {
        const V = m.spec.vocab;
        const first = (x: Float32Array) => x.subarray(b * T * V, b * T * V + 3 * V);
        close(`${arch} partial patch, positions 0-2 row ${b}`, first(some.logits!.data), first(a.logits!.data));
      });
      // Later positions: the reference with the same replacement.
      OTHER.forEach((row, b) => {
        const srcRow = rowSlice(src.data as Float32Array, src.dims, b);
        const hook = at('blocks.0.hook_resid_pre', (x) => { for (let i = 0; i < 3 * D; i++) x[i] = srcRow[i]; });
        close(`${arch} partial patch row ${b} vs reference`, logitsRow(some.logits!, b), flat(fx.reference(row, hook).logits));
      });
    });

    test('(d) clamp sets the component along the direction to the value; project_out to 0', async () => {
      const m = await load(fx.path);
      const dirv = NDArray.f32(vec, [D]);
      const r = await m.forward(ROWS, {
        cache: ['blocks.0.hook_resid_post', 'blocks.1.hook_resid_mid'],
        interventions: {
          'blocks.0.hook_resid_post': [{ kind: 'clamp', direction: dirv, value: 2.5 }],
          'blocks.1.hook_resid_mid': [{ kind: 'project_out', direction: NDArray.f32(vec2, [D]) }],
        },
      });
      const component = (x: NDArray, d: Float32Array) => {
        const norm = Math.hypot(...d);
        return Array.from({ length: x.size / D }, (_, p) => {
          let s = 0;
          for (let i = 0; i < D; i++) s += (x.data as Float32Array)[p * D + i] * d[i];
          return s / norm;
        });
      };
      const c1 = component(r.cache['blocks.0.hook_resid_post'], vec);
      const c2 = component(r.cache['blocks.1.hook_resid_mid'], vec2);
      close(`${arch} clamp component`, c1, c1.map(() => 2.5));
      close(`${arch} project_out component`, c2, c2.map(() => 0));
      checkLogits(`${arch} clamp+project_out`, fx, r.logits!, all(clampRef('blocks.0.hook_resid_post', vec, 2.5), clampRef('blocks.1.hook_resid_mid', vec2, null)));
    });

    test('(d) a per-row add ([B, 1, D]) steers each row by its own vector, exactly as the reference', async () => {
      const m = await load(fx.path);
      const v = new Float32Array(ROWS.length * D);
      v.set(vec, 0); // row 0: vec; row 1: 2 * vec2
      for (let i = 0; i < D; i++) v[D + i] = 2 * vec2[i];
      const r = await m.forward(ROWS, { interventions: { 'blocks.0.hook_resid_post': [{ kind: 'add', vector: new NDArray(v, [ROWS.length, 1, D]) }] } });
      ROWS.forEach((row, b) => {
        const ref = fx.reference(row, b === 0 ? addRef('blocks.0.hook_resid_post', vec) : addRef('blocks.0.hook_resid_post', vec2, 2));
        close(`${arch} per-row add: logits row ${b}`, logitsRow(r.logits!, b), flat(ref.logits));
      });
      await rejectsCode(
        () => m.forward(ROWS, { interventions: { 'blocks.0.hook_resid_post': [{ kind: 'add', vector: new NDArray(new Float32Array(ROWS.length * (D + 1)), [ROWS.length, 1, D + 1]) }] } }),
        'INTERVENTION_SHAPE',
        ['per-row'],
      );
    });

    test('(d) a position-restricted add changes only those positions', async () => {
      const m = await load(fx.path);
      const r = await m.forward(ROWS, {
        cache: ['blocks.0.hook_resid_post'],
        interventions: { 'blocks.0.hook_resid_post': [{ kind: 'add', vector: NDArray.f32(vec, [D]), positions: [1, 3] }] },
      });
      const b0 = (await base).cache['blocks.0.hook_resid_post'].data as Float32Array;
      const x = r.cache['blocks.0.hook_resid_post'].data as Float32Array;
      for (let b = 0; b < ROWS.length; b++) {
        for (let t = 0; t < T; t++) {
          const o = (b * T + t) * D;
          const d = maxAbsDiff(x.subarray(o, o + D), b0.subarray(o, o + D));
          if (t === 1 || t === 3) assert.ok(d > 1e-3, `position ${t} unchanged`);
          else assert.equal(d, 0, `row ${b} position ${t} changed by ${d}`);
        }
      }
      // Logits at position 0 (before the first changed one) are untouched.
      const V = m.spec.vocab;
      for (let b = 0; b < ROWS.length; b++) {
        const o = b * T * V;
        assert.equal(maxAbsDiff(r.logits!.data.subarray(o, o + V), (await base).logits!.data.subarray(o, o + V)), 0);
      }
      checkLogits(`${arch} add at positions 1,3`, fx, r.logits!, addRef('blocks.0.hook_resid_post', vec, 1, [1, 3]));
    });

    test('(e) fn: identity changes nothing, adding a vector equals `add`, two fn hooks at different layers', async () => {
      const m = await load(fx.path);
      const baseLogits = (await base).logits!.data;
      const ident = await m.forward(ROWS, { interventions: { 'blocks.0.hook_resid_post': [{ kind: 'fn', fn: (x) => x }] } });
      close(`${arch} fn identity vs none`, ident.logits!.data, baseLogits, 1e-6);
      const none = await m.forward(ROWS, { interventions: { 'blocks.1.hook_resid_pre': [{ kind: 'fn', fn: () => undefined }] } });
      close(`${arch} fn returning nothing vs none`, none.logits!.data, baseLogits, 1e-6);

      const addFn = (v: Float32Array, k = 1) => (x: NDArray) => new NDArray(Float32Array.from(x.data as Float32Array, (val, i) => val + k * v[i % v.length]), x.dims);
      const viaFn = await m.forward(ROWS, { interventions: { 'blocks.0.hook_resid_post': [{ kind: 'fn', fn: addFn(vec) }] } });
      const viaAdd = await m.forward(ROWS, { interventions: { 'blocks.0.hook_resid_post': [{ kind: 'add', vector: NDArray.f32(vec, [D]) }] } });
      close(`${arch} fn add vs add`, viaFn.logits!.data, viaAdd.logits!.data, 1e-6);

      const seen: number[][] = [];
      const two = await m.forward(ROWS, {
        cache: ['blocks.0.hook_resid_pre', 'blocks.1.hook_attn_out', 'ln_final.hook_normalized'],
        interventions: {
          // Given out of order on purpose: they must run in the model's order.
          'blocks.1.hook_attn_out': [{ kind: 'fn', fn: (x) => (seen.push([1, ...x.dims]), new NDArray(Float32Array.from(x.data as Float32Array, (v) => 2 * v), x.dims)) }],
          'blocks.0.hook_mlp_out': [{ kind: 'fn', fn: (x) => (seen.push([0, ...x.dims]), addFn(vec2, -1)(x)) }],
        },
      });
      assert.deepEqual(seen, [[0, 2, T, D], [1, 2, T, D]]);
      const hook = all(addRef('blocks.0.hook_mlp_out', vec2, -1), scaleRef('blocks.1.hook_attn_out', 2));
      checkLogits(`${arch} two fn hooks`, fx, two.logits!, hook);
      // Cached values before, at and after the cuts are the intervened run's.
      ROWS.forEach((row, b) => {
        const ref = fx.reference(row, hook).acts;
        for (const n of ['blocks.0.hook_resid_pre', 'blocks.1.hook_attn_out', 'ln_final.hook_normalized']) {
          close(`${arch} two fn hooks: cached ${n} row ${b}`, rowSlice(two.cache[n].data as Float32Array, two.cache[n].dims, b), ref.get(n)!.data);
        }
      });
    });

    test('(e) a graph-level intervention and an fn at the same hook are each applied once', async () => {
      const m = await load(fx.path);
      const hook = 'blocks.0.hook_resid_post';
      const r = await m.forward(ROWS, {
        cache: [hook],
        interventions: { [hook]: [{ kind: 'add', vector: NDArray.f32(vec, [D]) }, { kind: 'fn', fn: (x) => x }] },
      });
      checkLogits(`${arch} add + identity fn`, fx, r.logits!, addRef(hook, vec));
      ROWS.forEach((row, b) => {
        close(`${arch} add + identity fn: cached ${hook} row ${b}`, rowSlice(r.cache[hook].data as Float32Array, r.cache[hook].dims, b), fx.reference(row, addRef(hook, vec)).acts.get(hook)!.data);
      });
    });

    test('(e) graph-level interventions upstream and downstream of an fn cut are applied once each', async () => {
      const m = await load(fx.path);
      const r = await m.forward(ROWS, {
        interventions: {
          'blocks.0.hook_resid_pre': [{ kind: 'add', vector: NDArray.f32(vec, [D]), positions: [1] }],
          'blocks.1.hook_resid_pre': [{ kind: 'fn', fn: (x) => new NDArray(Float32Array.from(x.data as Float32Array, (v) => 0.5 * v), x.dims) }],
          'blocks.1.hook_mlp_out': [{ kind: 'project_out', direction: NDArray.f32(vec2, [D]) }],
        },
      });
      const hook = all(addRef('blocks.0.hook_resid_pre', vec, 1, [1]), scaleRef('blocks.1.hook_resid_pre', 0.5), clampRef('blocks.1.hook_mlp_out', vec2, null));
      checkLogits(`${arch} graph ivs around an fn cut`, fx, r.logits!, hook);
    });

    test('(f) an unknown hook name is HOOK_UNKNOWN naming the nearest valid hook', async () => {
      const m = await load(fx.path);
      await rejectsCode(() => m.forward(ROWS, { cache: ['blocks.0.hook_resid_pos'] }), 'HOOK_UNKNOWN', ['blocks.0.hook_resid_pos', 'blocks.0.hook_resid_post']);
      await rejectsCode(() => m.runWithCache(ROWS, { names: ['blocks.1.attn.hook_patern'] }), 'HOOK_UNKNOWN', ['blocks.1.attn.hook_pattern']);
      await rejectsCode(
        () => m.forward(ROWS, { interventions: { 'blocks.0.mlp.hook_psot': [{ kind: 'zero' }] } }),
        'HOOK_UNKNOWN',
        ['blocks.0.mlp.hook_post'],
      );
      await rejectsCode(() => m.forward(ROWS, { cache: [`blocks.${m.spec.nLayers}.hook_resid_pre`] }), 'HOOK_UNKNOWN', ['hook_resid_pre']);
    });
  });
}
