// Gemma Scope (Lieberum et al. 2024) JumpReLU SAEs and transcoders: a folder with params.npz (Gemma Scope) or
// params.safetensors (Gemma Scope 2), tensors
//   W_enc [d_in, d_sae], W_dec [d_sae, d_out], b_enc [d_sae], b_dec [d_out], threshold [d_sae]
// (SAELens also accepts the lower-case w_enc / w_dec spellings; so do we). The function, as the Gemma Scope tutorial's
// JumpReLUSAE and SAELens's gemma_2 loader (apply_b_dec_to_input False) define it:
//   pre = x W_enc + b_enc            (b_dec is NOT subtracted from x)
//   a   = (pre > threshold) * relu(pre)
//   x_hat = a W_dec + b_dec
// which is probity's jumprelu with applyBDecToInput false and log_threshold = log(threshold) (thresholds must be > 0,
// as they are in the released SAEs: they were trained as exp(log_threshold)). The files name no hook or model: the
// caller names the hook. A non-unit "scaling_factor" (finetuning scales) is refused, as SAELens refuses it.
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ProbityError } from '../../errors.js';
import { Sae } from '../sae.js';
import { matrixDims, npzSource, refuseExtra, requireHook, safetensorsSource, tensor, transpose, type FormatLoadOptions, type TensorSource } from './common.js';

export const GEMMA_SCOPE_FILES = ['params.npz', 'params.safetensors'] as const;

/** The Gemma Scope weights file in a folder (or the file itself), or null. */
export function gemmaScopeFile(path: string): string | null {
  if (existsSync(path) && statSync(path).isFile()) return (GEMMA_SCOPE_FILES as readonly string[]).includes(basename(path)) || /\.npz$/i.test(path) ? path : null;
  for (const f of GEMMA_SCOPE_FILES) if (existsSync(join(path, f))) return join(path, f);
  return null;
}

/** The stored name of a Gemma Scope tensor: `W_enc` or `w_enc`. */
function stored(src: TensorSource, name: string): string {
  const alt = name.startsWith('W_') ? `w_${name.slice(2)}` : name;
  if (src.has(name)) return name;
  if (src.has(alt)) return alt;
  throw new ProbityError('SAE_TENSOR_MISSING', `${src.path}: missing tensor "${name}" required by a Gemma Scope JumpReLU SAE; the file has ${JSON.stringify(src.names())}`);
}

/** Load a Gemma Scope folder (params.npz or params.safetensors) or the weights file itself. */
export function loadGemmaScope(path: string, opts: FormatLoadOptions = {}): Sae {
  const file = gemmaScopeFile(path);
  if (!file) throw new ProbityError('SAE_FILE_MISSING', `${path}: no ${GEMMA_SCOPE_FILES.join(' or ')} (a Gemma Scope SAE folder holds one)`);
  const src = file.toLowerCase().endsWith('.npz') ? npzSource(file) : safetensorsSource(file);
  const names = { W_enc: stored(src, 'W_enc'), W_dec: stored(src, 'W_dec'), b_enc: stored(src, 'b_enc'), b_dec: stored(src, 'b_dec'), threshold: stored(src, 'threshold') };
  const known = [...Object.values(names), 'scaling_factor'];
  refuseExtra(src, known, 'Gemma Scope', { affine_skip_connection: 'skip transcoders (an affine skip path x W_skip) are not supported' });
  if (src.has('scaling_factor') && src.float32('scaling_factor').some((v) => v !== 1)) {
    throw new ProbityError('SAE_UNSUPPORTED', `${file}: tensor "scaling_factor" is not all ones (finetuning scaling factors are not supported)`);
  }
  const [dIn, dSae] = matrixDims(src, names.W_enc);
  const [, dOut] = matrixDims(src, names.W_dec);
  const note = `W_enc is [d_in, d_sae] = [${dIn}, ${dSae}], W_dec [d_sae, d_out] = [${dSae}, ${dOut}]`;
  const W_enc = tensor(src, names.W_enc, [dIn, dSae], note);
  const W_dec = tensor(src, names.W_dec, [dSae, dOut], note);
  const b_enc = tensor(src, names.b_enc, [dSae], note);
  const b_dec = tensor(src, names.b_dec, [dOut], note);
  const threshold = tensor(src, names.threshold, [dSae], note);
  const log_threshold = new Float32Array(dSae);
  for (let i = 0; i < dSae; i++) {
    if (!(threshold[i] > 0) || !Number.isFinite(threshold[i])) {
      throw new ProbityError('SAE_TENSOR_VALUE', `${file}: tensor "${names.threshold}" entry ${i} is ${threshold[i]}; a JumpReLU threshold must be a positive number`);
    }
    log_threshold[i] = Math.log(threshold[i]);
  }
  const hookName = requireHook(opts.hook, file, 'Gemma Scope');
  if (dOut !== dIn && !opts.outHook) {
    throw new ProbityError('SAE_HOOK_MISSING', `${file}: a transcoder (d_in ${dIn} -> d_out ${dOut}) needs opts.outHook, the hook its output replaces`);
  }
  const params = { W_encT: transpose(W_enc, dIn, dSae), b_enc, W_dec: Float32Array.from(W_dec), b_dec: Float32Array.from(b_dec), log_threshold };
  return new Sae(
    { architecture: 'jumprelu', dIn, dSae, dOut, applyBDecToInput: false, hookName, outHookName: opts.outHook, metadata: { format: 'gemma-scope', source_file: basename(file) } },
    params,
    file,
  );
}
