// Training checkpoints: everything a run needs to continue bit for bit, in one safetensors file written under a
// temporary name and renamed into place (a crash mid-write leaves the previous checkpoint intact).
//   tensors   param.<name>  every SAE parameter and trainer statistic (tokens since each latent fired, thresholds)
//             opt.<name>    optimizer state (m.<param>, v.<param>)
//   metadata  step, tokens, batch size, RNG state, input/output scales, the SaeConfig and schedule options (JSON)
import { renameSync } from 'node:fs';
import { ProbityError } from '../../errors.js';
import { readSafetensors, writeSafetensors, type SafetensorsTensorInput } from '../../models/loaders/safetensors.js';
import type { Parameters } from '../../engine/train/parameters.js';

export const CHECKPOINT_FORMAT = 'probity-sae-checkpoint';

export interface CheckpointState {
  step: number;
  tokens: number;
  batchSize: number;
  rngState: number;
  inputScale: number;
  outputScale: number;
  /** JSON of the normalised SaeConfig the run trains (scales excluded). */
  config: string;
  /** JSON of the options that shape the trajectory (schedule, optimizer), checked on resume. */
  schedule: string;
}

export interface Checkpoint extends CheckpointState {
  params: Record<string, { dims: number[]; data: Float32Array }>;
  optimizer: Record<string, { dims: number[]; data: Float32Array }>;
}

export function saveCheckpoint(path: string, state: CheckpointState, params: Parameters, optimizer: Parameters): void {
  const tensors: Record<string, SafetensorsTensorInput> = {};
  for (const n of params.names) tensors[`param.${n}`] = { dtype: 'F32', shape: params.dims(n), data: params.get(n).data };
  for (const n of optimizer.names) tensors[`opt.${n}`] = { dtype: 'F32', shape: optimizer.dims(n), data: optimizer.get(n).data };
  const metadata: Record<string, string> = { format: CHECKPOINT_FORMAT, version: '1' };
  for (const [k, v] of Object.entries(state)) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
  const tmp = `${path}.tmp-${process.pid}`;
  writeSafetensors(tmp, tensors, metadata);
  renameSync(tmp, path);
}

export function loadCheckpoint(path: string): Checkpoint {
  const f = readSafetensors(path);
  const md = f.metadata;
  if (md.format !== CHECKPOINT_FORMAT) {
    throw new ProbityError('SAE_CHECKPOINT', `${path}: metadata "format" is ${JSON.stringify(md.format)}, expected "${CHECKPOINT_FORMAT}"`);
  }
  const num = (k: string): number => {
    const v = md[k] === undefined ? NaN : Number(JSON.parse(md[k]));
    if (!Number.isFinite(v)) throw new ProbityError('SAE_CHECKPOINT', `${path}: metadata "${k}" is ${JSON.stringify(md[k])}, expected a number`);
    return v;
  };
  const str = (k: string): string => {
    if (typeof md[k] !== 'string') throw new ProbityError('SAE_CHECKPOINT', `${path}: metadata "${k}" is missing`);
    return md[k];
  };
  const params: Checkpoint['params'] = {};
  const optimizer: Checkpoint['optimizer'] = {};
  for (const t of f.tensors) {
    const entry = { dims: [...t.shape], data: Float32Array.from(f.float32(t.name)) };
    if (t.name.startsWith('param.')) params[t.name.slice(6)] = entry;
    else if (t.name.startsWith('opt.')) optimizer[t.name.slice(4)] = entry;
  }
  return {
    step: num('step'),
    tokens: num('tokens'),
    batchSize: num('batchSize'),
    rngState: num('rngState'),
    inputScale: num('inputScale'),
    outputScale: num('outputScale'),
    config: str('config'),
    schedule: str('schedule'),
    params,
    optimizer,
  };
}
