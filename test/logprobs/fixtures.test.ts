// The analyzer on the generated fixtures (make-fixtures.ts plants one distortion per file): it recovers what was
// planted and reports nothing where nothing was planted. The committed files must be exactly what the script writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURE_DIR, FIXTURE_KINDS, fixtureText, type FixtureKind } from './make-fixtures.js';
import { readTraffic } from '../../src/logprobs/read-traffic.js';
import { analyzeTraffic, type LogprobsReport } from '../../src/logprobs/analyze.js';
import { formatReport } from '../../src/logprobs/summary.js';

const report = (k: FixtureKind): LogprobsReport => analyzeTraffic(readTraffic(path.join(FIXTURE_DIR, `${k}.jsonl`)));

test('the committed fixtures are what make-fixtures.ts writes', () => {
  for (const k of FIXTURE_KINDS) assert.equal(fs.readFileSync(path.join(FIXTURE_DIR, `${k}.jsonl`), 'utf8'), fixtureText(k), `${k}.jsonl is stale: node dist/test/logprobs/make-fixtures.js --write`);
});

test('none: no grid, no cap, no noise, deterministic, consistent, sums never past 1', () => {
  const r = report('none');
  assert.equal(r.source.skipped_lines, 0);
  assert.equal(r.grid, null);
  assert.equal(r.top_logprobs_cap, null);
  assert.equal(r.noise_detected, false);
  assert.equal(r.noise_sd, 0);
  assert.equal(r.seed_determinism, 'deterministic');
  assert.equal(r.sampled_consistency, 'consistent');
  assert.equal((r.evidence.rounding as { past_one: number }).past_one, 0);
  assert.ok(r.hidden_mass_median! > 0);
});

test('grid-1-16: grid 1/16 on the differences from the top (not the raw values), rounded after normalisation', () => {
  const r = report('grid-1-16');
  assert.equal(r.grid, 1 / 16);
  assert.equal(r.grid_applies_to, 'differences_from_top');
  assert.equal(r.rounding, 'after_normalisation');
  assert.equal(r.top_logprobs_cap, null);
  assert.equal(r.noise_detected, false);
  const h = r.residual_histogram!;
  assert.equal(h.on_grid, h.bins.reduce((s, b) => s + b.count, 0)); // every residual is within float tolerance of 0
  const text = formatReport(r);
  assert.match(text, /grid \[confidence 0\.9\d\]: grid 1\/16/);
  assert.match(text, /residuals of the differences from the top against the grid found, 1\/16/);
});

test('round-before: the same grid, told apart from rounding after normalisation', () => {
  const r = report('round-before');
  assert.equal(r.grid, 1 / 16);
  assert.equal(r.grid_applies_to, 'differences_from_top');
  assert.equal(r.rounding, 'before_normalisation');
  const ev = r.evidence.rounding as { past_one: number; expected_past_one_if_after: number };
  assert.equal(ev.past_one, 0);
  assert.ok(ev.expected_past_one_if_after >= 3, JSON.stringify(ev));
});

test('cap-8: asked 20, got 8; asked 5, got 5; nothing else reported', () => {
  const r = report('cap-8');
  assert.equal(r.top_logprobs_cap, 8);
  assert.equal(r.grid, null);
  assert.equal(r.noise_detected, false);
});

test('noise-0.01: noise found, its sd interval holds the planted 0.01; sampling still deterministic', () => {
  const r = report('noise-0.01');
  assert.equal(r.noise_detected, true);
  const ev = r.evidence.noise as { sd_ci95: [number, number] };
  assert.ok(ev.sd_ci95[0] < 0.01 && 0.01 < ev.sd_ci95[1], JSON.stringify(ev.sd_ci95));
  assert.equal(r.seed_determinism, 'deterministic');
  assert.equal(r.grid, null);
  assert.equal(r.top_logprobs_cap, null);
});
