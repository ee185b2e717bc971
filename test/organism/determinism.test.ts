import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { documents, generateDocument } from '../../src/organism/corpus.js';
import { Rng, hash32 } from '../../src/organism/rng.js';
import { writeCorpus } from '../../src/organism/shards.js';
import { makeWorld } from '../../src/organism/world.js';
import { ProbityError } from '../../src/errors.js';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'probity-organism-'));
}

function filesOf(dir: string): Map<string, Buffer> {
  return new Map(fs.readdirSync(dir).sort().map((f) => [f, fs.readFileSync(path.join(dir, f))]));
}

test('same seed writes identical bytes; a different seed differs', () => {
  const [a, b, c] = [tmp(), tmp(), tmp()];
  try {
    writeCorpus(a, 7, { docs: 1500, shardTokens: 40000 });
    writeCorpus(b, 7, { docs: 1500, shardTokens: 40000 });
    writeCorpus(c, 8, { docs: 1500, shardTokens: 40000 });
    const fa = filesOf(a);
    const fb = filesOf(b);
    const fc = filesOf(c);
    assert.deepEqual([...fa.keys()], [...fb.keys()]);
    assert.ok(fa.size >= 6, `expected several shards, got files ${[...fa.keys()]}`);
    for (const [f, buf] of fa) assert.ok(buf.equals(fb.get(f) as Buffer), `${f} differs between two runs with the same seed`);
    assert.ok(!fa.get('shard-00000.tokens.u16')!.equals(fc.get('shard-00000.tokens.u16') ?? Buffer.alloc(0)), 'seed 8 wrote the same tokens as seed 7');
    assert.ok(fa.get('tokenizer.json')!.equals(fc.get('tokenizer.json')!), 'the tokenizer does not depend on the seed');
  } finally {
    for (const d of [a, b, c]) fs.rmSync(d, { recursive: true, force: true });
  }
});

test('documents are random-access: generateDocument(seed, i) equals the i-th streamed document', () => {
  const streamed = [...documents(3, { start: 100, count: 50 })];
  for (const d of streamed) {
    const r = generateDocument(3, d.index);
    assert.equal(r.text, d.text);
    assert.deepEqual(r.tokens, d.tokens);
    assert.deepEqual(r.labels, d.labels);
    assert.deepEqual(r.attrs, d.attrs);
  }
  assert.notEqual(generateDocument(3, 0).text + generateDocument(3, 1).text, generateDocument(4, 0).text + generateDocument(4, 1).text);
});

test('world tables are a function of the world seed', () => {
  const w1 = makeWorld(1);
  assert.deepEqual(makeWorld(1).table, w1.table);
  assert.notDeepEqual(makeWorld(2).table, w1.table);
  assert.equal(w1.facts.length, 32 * 6);
  const qa = w1.facts.filter((f) => f.qa).length;
  assert.ok(qa > 60 && qa < 132, `about half the facts are Q/A-trained, got ${qa}`);
  // capitals and leaders are one-to-one
  assert.equal(new Set(w1.countries.map((c) => w1.table[c].capital)).size, 32);
  assert.equal(new Set(w1.countries.map((c) => w1.table[c].leader)).size, 32);
  // a different corpus seed does not change the world
  const fact = (s: number) => [...documents(s, { count: 400 })].filter((d) => d.genre === 'fact').map((d) => d.attrs);
  for (const s of [1, 2]) {
    for (const a of fact(s)) {
      if (a.genre !== 'fact') continue;
      for (const f of a.facts) {
        const [key, value] = f.split('=');
        assert.equal(w1.byKey.get(key)?.value, value, `corpus seed ${s} states ${f}`);
      }
    }
  }
});

test('rng is deterministic and uniform enough', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 1000 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 1000 }, () => b.next()));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  assert.notEqual(hash32(1, 2), hash32(2, 1));
  assert.throws(() => generateDocument(-1, 0), (e: unknown) => e instanceof ProbityError && e.code === 'E_ORGANISM_SEED');
  assert.throws(() => generateDocument(1, 1.5), (e: unknown) => e instanceof ProbityError && e.code === 'E_ORGANISM_INDEX');
});

test('no Math.random in the organism sources', () => {
  const root = path.join(path.dirname(new URL(import.meta.url).pathname), '../../../src/organism');
  const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  const files = walk(root).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 10, `found sources: ${files.length} under ${root}`);
  for (const f of files) assert.ok(!/Math\.random\s*\(/.test(fs.readFileSync(f, 'utf8')), `${f} uses Math.random`);
});
