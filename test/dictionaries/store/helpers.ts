// Shared fixtures for the activation-store tests: tiny checkpoints (test/models/tiny-models.ts), token rows, and
// file comparison helpers.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gpt2Fixture, llamaFixture, load, prng, tempDir, VOCAB } from '../../models/tiny-models.js';
import type { Model } from '../../../src/models/model.js';

export { tempDir, prng, VOCAB };

const fixtures = new Map<string, string>();
// Made at import (file level), so it outlives every test of the importing file.
const base = tempDir('store-models');

/** A tiny random Llama (hidden 16, context 32) or GPT-2, written once per test file. */
export async function tinyModel(kind: 'llama' | 'gpt2' = 'llama'): Promise<Model> {
  let dir = fixtures.get(kind);
  if (!dir) {
    dir = path.join(base, kind);
    if (kind === 'llama') llamaFixture(dir, { seed: 5 });
    else gpt2Fixture(dir, { seed: 6 });
    fixtures.set(kind, dir);
  }
  return load(dir);
}

/** Ragged rows: lengths from `min` to `max` (some longer than the context when max > 32), first token 0. */
export function ragged(n: number, seed: number, min = 1, max = 20): number[][] {
  const r = prng(seed);
  return Array.from({ length: n }, () => {
    const len = min + Math.floor(r() * (max - min + 1));
    return Array.from({ length: len }, (_, i) => (i === 0 ? 0 : 1 + Math.floor(r() * (VOCAB - 1))));
  });
}

/** File name -> sha256 of every file in a folder. */
export function folderHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(dir).sort()) out[f] = createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex');
  return out;
}
