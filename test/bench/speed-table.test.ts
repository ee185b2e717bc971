// README's speed table is the committed results files' own text (bench/speed-table.ts), and the ratios those files
// carry are what their per-round figures give when recomputed here from the raw rounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readResults, speedTable, TABLE_END, TABLE_START } from '../../bench/speed-table.js';
import { PROJECT_ROOT } from '../../src/util/paths.js';

const RESULTS = path.join(PROJECT_ROOT, 'bench/results');

const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

test('README speed table: exactly the table the committed bench/results files give', () => {
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const a = readme.indexOf(TABLE_START), b = readme.indexOf(TABLE_END);
  assert.ok(a >= 0 && b > a, 'README holds the speed table markers');
  assert.equal(readme.slice(a, b + TABLE_END.length), speedTable(readResults(RESULTS)), 'README speed table is stale: run `npm run bench -- readme`');
});

test('peers.json ratios are the medians of its own rounds (recomputed from the raw figures)', () => {
  const p = JSON.parse(fs.readFileSync(path.join(RESULTS, 'peers.json'), 'utf8'));
  const ratios = p.peers_ratios_probity_over_peer as Record<string, number>;
  if (p.torch?.status === 'measured') {
    const t = p.torch;
    const msRatio = (probity: number[], peer: number[]) => med(peer) / med(probity);
    assert.ok(Math.abs(ratios.topk_sae_step_auto_over_torch_dense - msRatio(t.topk_sae_step.rounds_ms.probity_auto, t.topk_sae_step.rounds_ms.torch_dense)) < 1e-9);
    assert.ok(Math.abs(ratios.topk_sae_step_auto_over_torch_sparse - msRatio(t.topk_sae_step.rounds_ms.probity_auto, t.topk_sae_step.rounds_ms.torch_sparse)) < 1e-9);
    assert.ok(Math.abs(ratios.gpt2_small_forward_over_torch - msRatio(t.gpt2_small_forward.rounds_ms.probity, t.gpt2_small_forward.rounds_ms.torch_gpt2)) < 1e-9);
    assert.ok(Math.abs(ratios.gemm_over_torch - msRatio(t.gemm.rounds_ms.probity, t.gemm.rounds_ms.torch_gemm)) < 1e-9);
  }
  for (const [kind, f] of Object.entries(p.llama_cpp?.files ?? {}) as [string, any][]) {
    if (f.status !== 'measured') continue;
    for (const phase of ['prompt', 'decode']) {
      const want = med(f.rounds.probity[`${phase}_tokens_per_s`]) / med(f.rounds.llama_cpp[`${phase}_tokens_per_s`]);
      assert.ok(Math.abs(ratios[`llama_${kind}_${phase}_over_llama_cpp`] - want) < 1e-9, `${kind} ${phase}: ${ratios[`llama_${kind}_${phase}_over_llama_cpp`]} vs ${want}`);
    }
  }
});

test('speed table: a goal is judged on the measured number, an absent peer or file says so (planted results)', () => {
  const r = readResults(RESULTS);
  const row = (table: string, measure: string) => table.split('\n').find((l) => l.startsWith(`| ${measure} |`))!;
  const decode = 'Llama 768 x 12 F32 GGUF, greedy decode, batch 1';
  const planted = structuredClone(r) as any;
  planted.peers.llama_cpp.files.F32.median_tokens_per_s.probity.decode = 40;
  planted.peers.llama_cpp.files.F32.ratio_probity_over_llama_cpp.decode = 0.9;
  planted.peers.llama_cpp.files.F32.rounds.probity.decode_tokens_per_s = [40, 44, 36];
  planted.peers.llama_cpp.files.F32.rounds.llama_cpp.decode_tokens_per_s = [40, 40, 40];
  assert.equal(row(speedTable(planted), decode).split(' | ').slice(1, 7).join(' | '), '40.0 tokens/s | 33.9 (llama.cpp) | 0.900x | 0.900-1.10 (3 rounds) | >= 0.9x | yes');
  planted.peers.llama_cpp.files.F32.ratio_probity_over_llama_cpp.decode = 0.899;
  assert.match(row(speedTable(planted), decode), /\| 0\.899x \| [^|]+ \| >= 0\.9x \| no \|/);
  delete planted.peers.llama_cpp.files.F32.median_tokens_per_s.llama_cpp;
  assert.match(row(speedTable(planted), decode), /\| llama\.cpp: absent \|/);
  delete planted.dictionaries;
  assert.match(row(speedTable(planted), 'TopK SAE trainer (store -> batches -> step), 768 -> 12288, k 32, batch 4096'), /\| not measured \|.*>= 8,500/);
});
