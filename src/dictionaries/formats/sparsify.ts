// EleutherAI sparsify TopK SAEs and transcoders: a folder (one per hookpoint, named after the module: layers.6,
// layers.6.mlp, embed_tokens) with cfg.json and sae.safetensors. Read from sparsify/sparse_coder.py and fused_encoder.py:
//   cfg.json  d_in, k, num_latents (0: d_in * expansion_factor), activation "topk" | "groupmax", transcode,
//             skip_connection, normalize_decoder, multi_topk (training only)
//   tensors   encoder.weight [d_sae, d_in], encoder.bias [d_sae], W_dec [d_sae, d_in], b_dec [d_in], W_skip [d_in, d_in]
//   encode    x' = x - b_dec unless transcode;  pre = relu(x' encoder.weight^T + encoder.bias);  top k of pre
//   decode    x_hat = sum_j a_j W_dec[i_j] + b_dec  (+ x W_skip^T for skip transcoders)
// probity's topk takes the top k of the pre-activation and relus those: the same values and the same decode (relu is
// monotone; only the order of indices among zero values can differ). encoder.weight is our W_encT as stored.
// Refused: groupmax activations, skip connections (W_skip), "signed" codes (an older option). normalize_decoder only
// constrains training and does not change the function (SAELens reads it as apply_b_dec_to_input; sparsify's encode
// subtracts b_dec whenever transcode is false, and we follow sparsify).
// Hooks: a folder named layers.N is the residual stream after block N (blocks.N.hook_resid_post), embed_tokens is
// hook_embed, as SAELens maps them; anything else (layers.N.mlp, transcoders) needs opts.hook (and opts.outHook).
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ProbityError, show } from '../../errors.js';
import { Sae } from '../sae.js';
import { matrixDims, readJson, refuseExtra, safetensorsSource, tensor, type FormatLoadOptions } from './common.js';

export const SPARSIFY_CFG_FILENAME = 'cfg.json';
export const SPARSIFY_WEIGHTS_FILENAME = 'sae.safetensors';

/** The hook a sparsify hookpoint folder name stands for, or undefined. */
export function sparsifyHook(folder: string): string | undefined {
  if (folder === 'embed_tokens') return 'hook_embed';
  const m = /^(?:.*\.)?layers[._](\d+)$/.exec(folder);
  return m ? `blocks.${Number(m[1])}.hook_resid_post` : undefined;
}

export function loadSparsify(dir: string, opts: FormatLoadOptions = {}): Sae {
  const cfgPath = join(dir, SPARSIFY_CFG_FILENAME);
  const weightsPath = join(dir, SPARSIFY_WEIGHTS_FILENAME);
  if (!existsSync(weightsPath)) throw new ProbityError('SAE_FILE_MISSING', `${dir}: no ${SPARSIFY_WEIGHTS_FILENAME} (a sparsify SAE folder holds ${SPARSIFY_CFG_FILENAME} and ${SPARSIFY_WEIGHTS_FILENAME})`);
  const raw = readJson(cfgPath);
  const bad = (name: string, v: unknown, want: string, code = 'SAE_BAD_CONFIG'): never => {
    throw new ProbityError(code, `${cfgPath}: field "${name}" is ${v === undefined ? 'missing' : show(v)}, expected ${want}`);
  };
  const posInt = (name: string, v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : bad(name, v, 'a positive integer'));
  const flag = (name: string): boolean => {
    const v = raw[name] ?? false;
    return typeof v === 'boolean' ? v : bad(name, v, 'true or false');
  };
  const dIn = posInt('d_in', raw.d_in);
  const k = posInt('k', raw.k);
  const dSae = raw.num_latents ? posInt('num_latents', raw.num_latents) : dIn * posInt('expansion_factor', raw.expansion_factor);
  const activation = raw.activation ?? 'topk';
  if (activation !== 'topk') bad('activation', activation, '"topk" (groupmax codes are not supported)', 'SAE_UNSUPPORTED');
  if (flag('skip_connection')) bad('skip_connection', true, 'false (skip transcoders are not supported)', 'SAE_UNSUPPORTED');
  if (flag('signed')) bad('signed', true, 'false (signed codes are not supported)', 'SAE_UNSUPPORTED');
  const transcode = flag('transcode');
  if (k > dSae) bad('k', k, `at most the number of latents (${dSae})`);

  const src = safetensorsSource(weightsPath);
  refuseExtra(src, ['encoder.weight', 'encoder.bias', 'W_dec', 'b_dec'], 'sparsify', { W_skip: 'skip connections (x W_skip^T added to the output) are not supported' });
  for (const n of ['encoder.weight', 'encoder.bias', 'W_dec', 'b_dec']) {
    if (!src.has(n)) throw new ProbityError('SAE_TENSOR_MISSING', `${weightsPath}: missing tensor "${n}" required by a sparsify SAE; the file has ${show(src.names())}`);
  }
  const note = `cfg.json d_in = ${dIn}, ${raw.num_latents ? 'num_latents' : 'd_in * expansion_factor'} = ${dSae}`;
  matrixDims(src, 'encoder.weight');
  const params = {
    W_encT: tensor(src, 'encoder.weight', [dSae, dIn], note),
    b_enc: tensor(src, 'encoder.bias', [dSae], note),
    W_dec: tensor(src, 'W_dec', [dSae, dIn], note),
    b_dec: tensor(src, 'b_dec', [dIn], note),
  };

  const folder = basename(resolve(dir));
  const hookName = opts.hook ?? (transcode ? undefined : sparsifyHook(folder));
  if (!hookName) {
    throw new ProbityError(
      'SAE_HOOK_MISSING',
      `${dir}: sparsify hookpoint ${show(folder)} has no probity hook name it maps to${transcode ? ' (a transcoder)' : ''}; pass opts.hook (e.g. "blocks.6.ln2.hook_normalized")`,
    );
  }
  if (transcode && !opts.outHook) throw new ProbityError('SAE_HOOK_MISSING', `${cfgPath}: a transcoder (transcode true) needs opts.outHook, the hook its output replaces`);
  return new Sae(
    { architecture: 'topk', dIn, dSae, k, applyBDecToInput: !transcode, hookName, outHookName: transcode ? opts.outHook : undefined, metadata: { format: 'sparsify', hookpoint: folder } },
    params,
    dir,
  );
}
