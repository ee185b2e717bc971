// The speed bench's peer plumbing (bench/peers/): the GGUF files probity and llama.cpp share, and the rule that no
// torch figure measured on the reference BLAS is reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { benchGgufFiles, type RandomLlamaSpec } from '../../bench/peers/gguf-files.js';
import { torchRefusal, type TorchInfo } from '../../bench/peers/torch.js';
import { loadModel } from '../../src/models/load.js';
import { maxAbsDiff } from '../models/reference.js';
import { tempDir } from '../models/tiny-models.js';

const TINY: RandomLlamaSpec = { d: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 96, vocab: 400, ctx: 64, seed: 3 };

test('bench GGUF files: written once, read back by probity in F32, F16 and Q8_0 with the same logits to their rounding', async () => {
  const dir = tempDir('bench-gguf');
  const files = benchGgufFiles(['F32', 'F16', 'Q8_0'], TINY, dir);
  assert.deepEqual(files.map((f) => f.made), [true, true, true]);
  assert.ok(files[0].bytes > files[1].bytes && files[1].bytes > files[2].bytes, `sizes ${files.map((f) => f.bytes)}`);
  assert.deepEqual(benchGgufFiles(['F32'], TINY, dir).map((f) => f.made), [false]);
  const tokens = [5, 300, 77, 260, 9, 123];
  const logits: Float32Array[] = [];
  for (const f of files) {
    const model = await loadModel(f.path);
    assert.equal(model.spec.dModel, TINY.d);
    assert.equal(model.spec.nLayers, TINY.layers);
    assert.equal(model.spec.nKvHeads, TINY.kvHeads);
    assert.equal(model.spec.vocab, TINY.vocab);
    logits.push((await model.forward([tokens], { logits: 'last' })).logits!.data as Float32Array);
  }
  const f16 = maxAbsDiff(logits[0], logits[1]), q8 = maxAbsDiff(logits[0], logits[2]);
  console.log(`logits max |diff| vs F32: F16 ${f16.toExponential(2)}, Q8_0 ${q8.toExponential(2)}`);
  assert.ok(f16 > 0 && f16 < 1e-3, `F16 ${f16}`);
  assert.ok(q8 > f16 && q8 < 2e-2, `Q8_0 ${q8}`);
});

test('torch figures on the reference BLAS (or on none found) are refused, OpenBLAS is accepted', () => {
  const info = (kind: string, libraries: string[]): TorchInfo => ({ torch: '1.13', torch_threads: 2, blas: { kind, libraries, threads: null, config: null, core: null } });
  assert.match(torchRefusal(info('reference', ['/usr/lib/x86_64-linux-gnu/blas/libblas.so.3']))!, /reference BLAS.*libopenblas0-pthread/);
  assert.match(torchRefusal(info('unknown', []))!, /no known BLAS/);
  assert.equal(torchRefusal(info('openblas', ['/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so'])), null);
});
