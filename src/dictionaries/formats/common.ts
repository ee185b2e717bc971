// What the public-format SAE loaders share: one view over .npz and .safetensors tensors, shape checks whose errors name
// the file and tensor, the pickle refusal, and the options every loader takes.
import { existsSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { ProbityError, show } from '../../errors.js';
import { readSafetensors } from '../../models/loaders/safetensors.js';
import { readNpz } from './npz.js';

export interface FormatLoadOptions {
  /** The hook the SAE reads, in probity's names (blocks.6.hook_resid_post); needed when the files name none. */
  hook?: string;
  /** Transcoders: the hook the output replaces. */
  outHook?: string;
}

/** Named float tensors from one file, values as float32. */
export interface TensorSource {
  path: string;
  names(): string[];
  has(name: string): boolean;
  shape(name: string): number[];
  float32(name: string): Float32Array;
}

export function npzSource(path: string): TensorSource {
  const f = readNpz(path);
  return { path, names: () => f.names(), has: (n) => f.has(n), shape: (n) => f.get(n).shape, float32: (n) => f.get(n).data };
}

export function safetensorsSource(path: string): TensorSource {
  const f = readSafetensors(path);
  return { path, names: () => f.names(), has: (n) => f.has(n), shape: (n) => f.info(n).shape, float32: (n) => Float32Array.from(f.float32(n)) };
}

/** Checkpoint files that are Python pickles: loading one runs whatever code it names. */
export const PICKLE_EXTENSIONS = ['.pt', '.pth', '.ckpt', '.bin', '.pkl', '.pickle'] as const;

export function isPickle(path: string): boolean {
  return (PICKLE_EXTENSIONS as readonly string[]).includes(extname(path).toLowerCase());
}

export function refusePickle(path: string): never {
  throw new ProbityError(
    'SAE_PICKLE_REFUSED',
    `${path}: ${extname(path)} files are Python pickles, and loading a pickle can execute arbitrary code; probity does not read them. ` +
      'Convert the weights to .safetensors (or .npz) with a tool you trust, then load that.',
  );
}

/** The tensor's values, after checking its shape is exactly `want` (a [n] vector may be stored as [1, n]). */
export function tensor(src: TensorSource, name: string, want: number[], note: string): Float32Array {
  const shape = src.shape(name);
  const n = want.reduce((a, b) => a * b, 1);
  const same = shape.length === want.length && shape.every((d, i) => d === want[i]);
  const vector = want.length === 1 && shape.reduce((a, b) => a * b, 1) === n && shape.filter((d) => d !== 1).length <= 1;
  if (!same && !vector) throw new ProbityError('SAE_TENSOR_SHAPE', `${src.path}: tensor ${show(name)} has shape ${show(shape)}, expected ${show(want)} (${note})`);
  return src.float32(name);
}

/** A matrix's two dims, or an error naming the tensor. */
export function matrixDims(src: TensorSource, name: string): [number, number] {
  const s = src.shape(name);
  if (s.length !== 2 || !(s[0] > 0) || !(s[1] > 0)) throw new ProbityError('SAE_TENSOR_SHAPE', `${src.path}: tensor ${show(name)} has shape ${show(s)}, expected a non-empty matrix`);
  return [s[0], s[1]];
}

/** Refuse tensors the loader does not understand, so nothing the format computes is silently dropped. */
export function refuseExtra(src: TensorSource, known: readonly string[], format: string, hints: Record<string, string> = {}): void {
  for (const n of src.names()) {
    if (known.includes(n)) continue;
    const why = hints[n] ?? `a ${format} SAE has only ${show([...known])}`;
    throw new ProbityError('SAE_UNSUPPORTED', `${src.path}: tensor ${show(n)} is not supported (${why})`);
  }
}

export function requireHook(hook: string | undefined, where: string, format: string): string {
  if (typeof hook === 'string' && hook !== '') return hook;
  throw new ProbityError('SAE_HOOK_MISSING', `${where}: a ${format} SAE does not name the hook it reads; pass opts.hook (e.g. "blocks.6.hook_resid_post")`);
}

export function readJson(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new ProbityError('SAE_FILE_MISSING', `${path}: no such file`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ProbityError('SAE_BAD_CONFIG', `${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ProbityError('SAE_BAD_CONFIG', `${path}: expected a JSON object, got ${show(raw)}`);
  return raw as Record<string, unknown>;
}

/** [rows, cols] -> [cols, rows]. */
export function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
}
