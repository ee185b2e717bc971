// Public SAE file formats, read into probity's Sae. `loadSae` tells them apart by the files present:
//   cfg.json + sae_weights.safetensors   SAELens (../saelens.ts)
//   cfg.json + sae.safetensors           EleutherAI sparsify (./sparsify.ts)
//   params.npz | params.safetensors      Gemma Scope / Gemma Scope 2 (./gemma-scope.ts)
//   *.pt *.pth *.ckpt *.bin *.pkl        refused: pickles can execute code
// A path may name the folder or the weights file inside it.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ProbityError, show } from '../../errors.js';
import type { Sae } from '../sae.js';
import { loadSaeLens, SAE_CFG_FILENAME, SAE_WEIGHTS_FILENAME } from '../saelens.js';
import { isPickle, refusePickle, type FormatLoadOptions } from './common.js';
import { gemmaScopeFile, loadGemmaScope } from './gemma-scope.js';
import { loadSparsify, SPARSIFY_WEIGHTS_FILENAME } from './sparsify.js';

export type SaeFormat = 'saelens' | 'sparsify' | 'gemma-scope';

export interface LoadSaeOptions extends FormatLoadOptions {
  /** Skip detection. */
  format?: SaeFormat;
}

/** Which format a folder (or weights file) holds, or a ProbityError naming what was found. */
export function detectSaeFormat(path: string): { format: SaeFormat; path: string } {
  if (!existsSync(path)) throw new ProbityError('SAE_FILE_MISSING', `${path}: no such file or folder`);
  if (statSync(path).isFile()) {
    if (isPickle(path)) refusePickle(path);
    const name = basename(path);
    if (name === SAE_WEIGHTS_FILENAME || name === SAE_CFG_FILENAME) return detectSaeFormat(dirname(path));
    if (name === SPARSIFY_WEIGHTS_FILENAME) return { format: 'sparsify', path: dirname(path) };
    if (gemmaScopeFile(path)) return { format: 'gemma-scope', path };
    throw new ProbityError('SAE_FORMAT_UNKNOWN', `${path}: not a known SAE weights file (expected ${SAE_WEIGHTS_FILENAME}, ${SPARSIFY_WEIGHTS_FILENAME}, params.npz or params.safetensors)`);
  }
  const has = (f: string) => existsSync(join(path, f));
  if (has(SAE_CFG_FILENAME) && has(SAE_WEIGHTS_FILENAME)) return { format: 'saelens', path };
  if (has(SAE_CFG_FILENAME) && has(SPARSIFY_WEIGHTS_FILENAME)) return { format: 'sparsify', path };
  if (gemmaScopeFile(path)) return { format: 'gemma-scope', path };
  const files = readdirSync(path).sort();
  const pickle = files.find((f) => isPickle(f));
  if (pickle) refusePickle(join(path, pickle));
  throw new ProbityError(
    'SAE_FORMAT_UNKNOWN',
    `${path}: no SAE found (SAELens: ${SAE_CFG_FILENAME} + ${SAE_WEIGHTS_FILENAME}; sparsify: ${SAE_CFG_FILENAME} + ${SPARSIFY_WEIGHTS_FILENAME}; Gemma Scope: params.npz or params.safetensors); the folder has ${show(files.slice(0, 10))}`,
  );
}

/** Load an SAE from any supported format. `opts.hook` names the hook when the files do not (Gemma Scope). */
export function loadSae(path: string, opts: LoadSaeOptions = {}): Sae {
  const found = opts.format ? { format: opts.format, path } : detectSaeFormat(path);
  switch (found.format) {
    case 'saelens': {
      const sae = loadSaeLens(found.path);
      for (const [given, have, what] of [[opts.hook, sae.cfg.hookName, 'hook'], [opts.outHook, sae.cfg.outHookName, 'outHook']] as const) {
        if (given !== undefined && given !== have) {
          throw new ProbityError('SAE_HOOK_CONFLICT', `${found.path}: opts.${what} is ${show(given)} but the SAELens cfg.json names ${show(have ?? null)}`);
        }
      }
      return sae;
    }
    case 'sparsify':
      return loadSparsify(found.path, opts);
    case 'gemma-scope':
      return loadGemmaScope(found.path, opts);
    default:
      throw new ProbityError('SAE_FORMAT_UNKNOWN', `format ${show(found.format)}, expected "saelens", "sparsify" or "gemma-scope"`);
  }
}

export { loadGemmaScope, gemmaScopeFile, GEMMA_SCOPE_FILES } from './gemma-scope.js';
export { loadSparsify, sparsifyHook, SPARSIFY_CFG_FILENAME, SPARSIFY_WEIGHTS_FILENAME } from './sparsify.js';
export { NpzFile, parseNpy, parseNpz, readNpz, type NpyArray, type NpyDtype } from './npz.js';
export { isPickle, refusePickle, PICKLE_EXTENSIONS, type FormatLoadOptions, type TensorSource } from './common.js';
