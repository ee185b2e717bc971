// Detectors on sequences built here from a planted truth, for the cases the fixtures do not reach: other grids
// (1/10 on raw values, 1/4096), grids too fine to tell from chance, a vocabulary that limits top_logprobs, noise sd
// recovered at several sizes, sampling differences kept apart from noise, rounding order that the data cannot tell.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectGrid } from '../../src/logprobs/detectors/grid.js';
import { detectCap } from '../../src/logprobs/detectors/cap.js';
import { detectNoise } from '../../src/logprobs/detectors/noise.js';
import { detectRounding } from '../../src/logprobs/detectors/rounding.js';
import { detectDeterminism } from '../../src/logprobs/detectors/determinism.js';
import { detectConsistency } from '../../src/logprobs/detectors/consistency.js';
import { detectHiddenMass } from '../../src/logprobs/detectors/hidden-mass.js';
import { Rng } from '../../src/stats/rng.js';
import type { Sequence, TokenObservation } from '../../src/logprobs/types.js';

/** A position's true logprobs over a vocabulary of v tokens (sharp, like a language model's). */
function dist(rng: Rng, v: number, scale = 6): number[] {
  const z = Array.from({ length: v }, () => scale * rng.normal());
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((s, x) => s + Math.exp(x - m), 0));
  return z.map((x) => x - lse);
}

function obs(lp: number[], k: number, f: (x: number, top: number) => number = (x) => x, sampled?: number): TokenObservation {
  const order = lp.map((_, i) => i).sort((a, b) => lp[b] - lp[a]).slice(0, k);
  const top = lp[order[0]];
  const s = sampled ?? order[0];
  return { token: `t${s}`, logprob: f(lp[s], top), top: order.map((i) => ({ token: `t${i}`, logprob: f(lp[i], top) })) };
}

function seq(tokens: TokenObservation[], o: { requested?: number; seed?: number | null; key?: string } = {}): Sequence {
  const key = o.key ?? null;
  return {
    where: 'test',
    api: 'chat',
    request: o.requested === undefined ? null : { api: 'chat', model: 'm', requested: o.requested, seed: o.seed ?? null, temperature: 1, key: key ?? 'k' },
    groupKey: key,
    fingerprint: null,
    hasLogprobs: true,
    tokens,
  };
}

function traffic(n: number, k: number, f?: (x: number, top: number) => number, seed = 1, v = 200): Sequence[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => seq(Array.from({ length: 8 }, () => obs(dist(rng, v), k, f)), { requested: k }));
}

test('grid: 1/10 on the raw values is found as a raw grid; 1/4096 on the differences is found; continuous is not', () => {
  const tenth = detectGrid(traffic(20, 10, (x) => Math.round(x * 10) / 10));
  assert.equal(tenth.value, 0.1);
  assert.equal(tenth.applies_to, 'raw_logprobs');
  const fine = detectGrid(traffic(20, 10, (x, top) => top + Math.round((x - top) * 4096) / 4096));
  assert.equal(fine.value, 1 / 4096);
  assert.equal(fine.applies_to, 'differences_from_top');
  const none = detectGrid(traffic(20, 10));
  assert.equal(none.value, null);
  assert.ok(none.confidence > 0.8, String(none.confidence));
});

test('grid: values printed to 4 decimals are a raw 1/10000 grid; to 9 significant digits (float32 style), no grid', () => {
  assert.equal(detectGrid(traffic(30, 10, (x) => Math.round(x * 1e4) / 1e4)).value, 1e-4);
  assert.equal(detectGrid(traffic(30, 10, (x) => Number(Math.fround(x).toPrecision(9)))).value, null);
});

test('grid: a grid with noise on top is no grid (the values are not on it); too few values decide nothing', () => {
  const rng = new Rng(5);
  assert.equal(detectGrid(traffic(20, 10, (x, top) => top + Math.round((x - top) * 16) / 16 + 0.01 * rng.normal())).value, null);
  const few = traffic(1, 2, (x, top) => top + Math.round((x - top) * 16) / 16).map((q) => ({ ...q, tokens: q.tokens.slice(0, 3) }));
  assert.equal(detectGrid(few).value, null); // 3 differences: below the 8 a grid needs
});

test('cap: a vocabulary of 6 tokens answering 6 to a request for 20 is not a cap; a fixed short answer is', () => {
  const small = traffic(10, 6, undefined, 2, 6).map((s) => ({ ...s, request: { ...s.request!, requested: 20 } }));
  const r = detectCap(small);
  assert.equal(r.value, null);
  assert.match(r.summary, /vocabulary may be the limit/);
  const capped = traffic(10, 8, undefined, 3).map((s) => ({ ...s, request: { ...s.request!, requested: 20 } }));
  assert.equal(detectCap(capped).value, 8);
  // varying short counts (say, tokens below a probability floor left out) are not one cap
  const varied = capped.map((s, i) => ({ ...s, tokens: s.tokens.map((o) => ({ ...o, top: o.top!.slice(0, 3 + (i % 5)) })) }));
  assert.equal(detectCap(varied).value, null);
  // no logged request: unknown
  assert.match(detectCap(capped.map((s) => ({ ...s, request: null }))).summary, /cap unknown/);
});

/** Answers to one identical request: same tokens (or diverging at `diverge`), values with fresh noise of sd s. */
function repeats(reps: number, s: number, seed: number, diverge?: number): Sequence[] {
  const rng = new Rng(seed);
  const positions = Array.from({ length: 12 }, () => dist(rng, 200));
  const noise = new Rng(seed + 1);
  return Array.from({ length: reps }, (_, r) =>
    seq(
      positions.map((lp, t) => obs(lp, 20, (x) => x + s * noise.normal(), diverge !== undefined && t >= diverge && r % 2 ? 5 + t : undefined)),
      { requested: 20, seed: 7, key: 'same' },
    ),
  );
}

test('noise: the sd interval holds the planted sd at 0.001, 0.01 and 0.1; none is none', () => {
  for (const s of [0.001, 0.01, 0.1]) {
    const r = detectNoise(repeats(4, s, 11));
    const ev = r.evidence as { sd_ci95: [number, number] };
    assert.equal(r.value, true, `sd ${s}`);
    assert.ok(ev.sd_ci95[0] < s && s < ev.sd_ci95[1], `${s} outside ${ev.sd_ci95}`);
  }
  const r0 = detectNoise(repeats(4, 0, 11));
  assert.equal(r0.value, false);
  assert.equal(r0.sd, 0);
  assert.match(detectNoise(traffic(3, 5)).summary, /untested/); // no identical requests
});

test('noise vs sampling: answers that sample differently are compared only where their contexts agree', () => {
  const r = detectNoise(repeats(4, 0, 12, 6));
  assert.equal(r.value, false); // the differing tokens after position 6 are sampling, not noise
  const ev = r.evidence as { sampled_token_differs: number; seeded_sampled_token_differs: number };
  assert.ok(ev.sampled_token_differs >= 1 && ev.seeded_sampled_token_differs === ev.sampled_token_differs);
  const d = detectDeterminism(repeats(4, 0, 12, 6));
  assert.equal(d.value, 'nondeterministic');
  assert.equal((d.evidence as { splits: { first_difference: number }[] }).splits[0].first_difference, 6);
  assert.equal(detectDeterminism(repeats(4, 0, 12)).value, 'deterministic');
});

test('rounding: a grid whose top k hide a lot of mass cannot tell before from after', () => {
  // on the grid, then every value lowered by 1 (still on it): the top 5 now hold at most e^-1 of the mass
  const flat = traffic(10, 5, (x, top) => top + Math.round((x - top) * 16) / 16 - 1, 4, 200);
  const wide = detectRounding(flat, 1 / 16);
  assert.equal(wide.value, 'undetermined');
  assert.ok((wide.evidence as { expected_past_one_if_after: number }).expected_past_one_if_after < 3);
  // the same values without the shift leave little hidden mass, and the test then has power
  const sharp = detectRounding(traffic(10, 20, (x, top) => top + Math.round((x - top) * 16) / 16, 4, 200), 1 / 16);
  assert.equal(sharp.value, 'after_normalisation');
});

test('consistency: a sampled logprob that differs from its own entry, or a likelier token left out, is inconsistent', () => {
  const rng = new Rng(9);
  const good = traffic(3, 5);
  assert.equal(detectConsistency(good).value, 'consistent');
  const off = good.map((s) => ({ ...s, tokens: s.tokens.map((o) => ({ ...o, logprob: o.logprob! + 0.01 * rng.normal() })) }));
  assert.equal(detectConsistency(off).value, 'inconsistent');
  const missing = good.map((s) => ({ ...s, tokens: s.tokens.map((o) => ({ ...o, top: o.top!.slice(1) })) }));
  const m = detectConsistency(missing);
  assert.equal(m.value, 'inconsistent');
  assert.ok((m.evidence as { sampled_not_in_top_but_likelier_than_listed: number }).sampled_not_in_top_but_likelier_than_listed > 0);
});

test('hidden mass: 1 - sum of the returned probabilities, against an independent sum over the hidden tokens', () => {
  const rng = new Rng(3);
  const lp = dist(rng, 50);
  const sorted = [...lp].sort((a, b) => b - a);
  const hidden = sorted.slice(5).reduce((s, x) => s + Math.exp(x), 0);
  const r = detectHiddenMass([seq([obs(lp, 5)], { requested: 5 })]);
  assert.ok(Math.abs(r.value! - hidden) < 1e-12, `${r.value} vs ${hidden}`);
});
