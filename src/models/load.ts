// loadModel: a GGUF file, a Hugging Face checkpoint folder (config.json + *.safetensors + tokenizer.json), or the
// name of a model shipped with probity (models/<name>/ in this repository).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProbityError } from '../errors.js';
import { readGguf } from './loaders/gguf.js';
import { readSafetensors } from './loaders/safetensors.js';
import { gpt2ConfigFromGguf, llamaConfigFromGguf, readHfConfig, type ModelConfig } from './loaders/hf-config.js';
import { tokenizerFromGgufMetadata } from './tokenizers/gguf-vocab.js';
import { loadHfTokenizer } from './tokenizers/hf-tokenizer-json.js';
import type { Tokenizer } from './tokenizers/types.js';
import { specFromGemma, specFromGpt2, specFromGptNeox, specFromLlama, type TransformerSpec } from './spec.js';
import { ggufSource, MapWeightStore, safetensorsSource } from './common/weights.js';
import { llamaWeightTable } from './llama/weights.js';
import { gpt2WeightTable } from './gpt2/weights.js';
import { gptNeoxWeightTable } from './gptneox/weights.js';
import { gemmaWeightTable } from './gemma/weights.js';
import type { WeightEntry } from './common/weights.js';
import { Model } from './model.js';

/** Root of the probity package (for shipped models). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function shippedModelDir(name: string): string | null {
  const dir = path.join(PACKAGE_ROOT, 'models', name);
  return fs.existsSync(path.join(dir, 'config.json')) ? dir : null;
}

export interface LoadOptions {
  /** Tokenizer to use instead of the checkpoint's own (e.g. the organism's word-level tokenizer). */
  tokenizer?: Tokenizer;
}

export async function loadModel(ref: string, opts: LoadOptions = {}): Promise<Model> {
  const shipped = !fs.existsSync(ref) ? shippedModelDir(ref) : null;
  const target = shipped ?? ref;
  if (!fs.existsSync(target)) {
    throw new ProbityError('MODEL_NOT_FOUND', `model "${ref}" is neither a file, a folder, nor a shipped model (shipped: ${listShipped().join(', ') || 'none'})`);
  }
  if (fs.statSync(target).isDirectory()) return loadFolder(target, opts);
  return loadGgufModel(target, opts);
}

export function listShipped(): string[] {
  const dir = path.join(PACKAGE_ROOT, 'models');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((n) => fs.existsSync(path.join(dir, n, 'config.json')));
}

function loadGgufModel(file: string, opts: LoadOptions): Model {
  const f = readGguf(file);
  const arch = f.metadata['general.architecture'];
  let spec: TransformerSpec;
  if (arch === 'llama') spec = specFromLlama(llamaConfigFromGguf(f), 'interleaved');
  else if (arch === 'gpt2') spec = specFromGpt2(gpt2ConfigFromGguf(f));
  else throw new ProbityError('MODEL_UNSUPPORTED', `${file}: general.architecture is ${JSON.stringify(arch)}; supported: "llama", "gpt2"`);
  const table = spec.arch === 'llama' ? llamaWeightTable(spec, 'gguf') : gpt2WeightTable(spec, 'gguf');
  const weights = MapWeightStore.fromSource(ggufSource(f), table);
  const tokenizer = opts.tokenizer ?? tokenizerFromGgufMetadata(f.metadata, file);
  return new Model(spec, weights, tokenizer, file);
}

async function loadFolder(dir: string, opts: LoadOptions): Promise<Model> {
  const config = readHfConfig(path.join(dir, 'config.json'));
  const spec = hfSpec(config);
  const files = fs.readdirSync(dir).filter((n) => n.endsWith('.safetensors')).sort();
  if (files.length === 0) throw new ProbityError('MODEL_NOT_FOUND', `${dir}: no *.safetensors file next to config.json`);
  const sources = files.map((n) => safetensorsSource(readSafetensors(path.join(dir, n))));
  // Sharded checkpoints: one logical source over all shards.
  const src = {
    path: dir,
    has: (n: string) => sources.some((s) => s.has(n)),
    dims: (n: string) => sources.find((s) => s.has(n))!.dims(n),
    float32: (n: string) => sources.find((s) => s.has(n))!.float32(n),
  };
  const weights = MapWeightStore.fromSource(src, hfWeightTable(spec));
  let tokenizer = opts.tokenizer;
  if (!tokenizer) {
    const tj = path.join(dir, 'tokenizer.json');
    const organism = path.join(dir, 'tokenizer.organism.json');
    if (fs.existsSync(organism)) {
      // probity's own model organism: a word-level vocabulary (src/organism).
      const { loadOrganismTokenizer } = await import('../organism/model-tokenizer.js');
      tokenizer = loadOrganismTokenizer(organism);
    } else if (fs.existsSync(tj)) tokenizer = loadHfTokenizer(tj);
    else throw new ProbityError('TOKENIZER_MISSING', `${dir}: no tokenizer.json in the checkpoint folder`);
  }
  return new Model(spec, weights, tokenizer, dir);
}

/** The spec of a Hugging Face config (every family's safetensors layout rotates RoPE halves). */
export function hfSpec(c: ModelConfig): TransformerSpec {
  switch (c.arch) {
    case 'llama':
      return specFromLlama(c, 'half');
    case 'gpt2':
      return specFromGpt2(c);
    case 'gpt_neox':
      return specFromGptNeox(c);
    case 'gemma':
      return specFromGemma(c);
  }
}

/** Hugging Face tensor names of a spec's weights. */
export function hfWeightTable(spec: TransformerSpec): WeightEntry[] {
  switch (spec.arch) {
    case 'llama':
      return llamaWeightTable(spec, 'hf');
    case 'gpt2':
      return gpt2WeightTable(spec, 'hf');
    case 'gptneox':
      return gptNeoxWeightTable(spec);
    case 'gemma':
      return gemmaWeightTable(spec);
  }
}
