// Shared fixtures for the organism tests: one cached sample of generated documents.
import { documents, type Doc } from '../../src/organism/corpus.js';

const cache = new Map<string, Doc[]>();

/** The first n documents of corpus `seed` (cached per process). */
export function sample(n: number, seed = 1): Doc[] {
  const key = `${seed}:${n}`;
  let docs = cache.get(key);
  if (!docs) {
    docs = [...documents(seed, { count: n })];
    cache.set(key, docs);
  }
  return docs;
}
