// Test helpers: temp files, a seeded PRNG, error-code assertions and raw byte builders for hand-made bad files.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { ProbityError } from '../../../src/errors.js';
import { uniform } from '../../../src/util/random.js';

/** A fresh temp directory for this test file, removed when the file's tests finish. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `probity-${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The stories260K test model lives beside the project (../shared), not in it; found from dist/test/models/loaders/. */
export const STORIES_GGUF = fileURLToPath(new URL('../../../../../shared/models/stories260K/stories260K.gguf', import.meta.url));

/** mulberry32: small, fast and deterministic. */
export const prng = (seed: number): (() => number) => uniform(seed);

/** Asserts fn throws a ProbityError with `code` whose message contains every string in `mentions`. */
export function throwsCode(fn: () => unknown, code: string, mentions: string[] = []): ProbityError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ProbityError, `expected ProbityError ${code}, got ${caught === undefined ? 'no error' : String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const m of mentions) assert.ok(caught.message.includes(m), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(m)}`);
  return caught;
}

export const u8 = (v: number): Buffer => Buffer.from([v]);
export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}
export function u64(v: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}
export const str = (s: string): Buffer => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);
/** One GGUF key/value: key, value type id, already-encoded payload. */
export const kv = (key: string, typeId: number, payload: Buffer): Buffer => Buffer.concat([str(key), u32(typeId), payload]);
/** One GGUF tensor info; `ne` in ggml order. */
export const tinfo = (name: string, ne: number[], typeId: number, offset: number): Buffer =>
  Buffer.concat([str(name), u32(ne.length), ...ne.map((d) => u64(d)), u32(typeId), u64(offset)]);

/** A GGUF file from raw parts; counts default to the parts' lengths, data starts at the next 32-byte boundary. */
export function rawGguf(p: { version?: number; kvs?: Buffer[]; infos?: Buffer[]; data?: Buffer; tensorCount?: bigint; kvCount?: bigint }): Buffer {
  const kvs = p.kvs ?? [];
  const infos = p.infos ?? [];
  const head = Buffer.concat([
    Buffer.from('GGUF'),
    u32(p.version ?? 3),
    u64(p.tensorCount ?? BigInt(infos.length)),
    u64(p.kvCount ?? BigInt(kvs.length)),
    ...kvs,
    ...infos,
  ]);
  const pad = Buffer.alloc((32 - (head.length % 32)) % 32);
  return Buffer.concat([head, pad, p.data ?? Buffer.alloc(0)]);
}

/** A safetensors file from a header (object or literal JSON text) and data bytes. */
export function rawSafetensors(header: object | string, data: Buffer = Buffer.alloc(0)): Buffer {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  return Buffer.concat([u64(json.length), json, data]);
}
