// Per-layer transcoders: for each layer L, a sparse dictionary that reads the MLP's input and writes its output,
//   blocks.L.ln2.hook_normalized [B, T, D]  ->  latents [B, T, S]  ->  blocks.L.hook_mlp_out [B, T, D]
// trained with the ordinary SAE trainer (src/dictionaries/train/trainer.ts, batches {x, target}) on activations
// generated on the fly (store/on-the-fly.ts, both hooks at the same positions), saved in SAELens's layout, one folder
// per layer: DIR/blocks.L/{cfg.json, sae_weights.safetensors, training.json}. The architectures are the existing
// ones with dOut set (topk, jumprelu); there is NO linear skip connection (x W_skip added to the output, as in
// "skip transcoders"): no architecture in src/dictionaries has one, and none is added here.
//
// Data: one stream of documents indexed 0, 1, 2 ... (the organism's generator for a seed, or the lines of a text
// file). Documents [0, evalDocs) are reserved for evaluation and training reads documents [evalDocs, ...), so the two
// are disjoint by construction; each layer records the range it read (`train_documents`, an upper bound: the
// on-the-fly source reads a shuffle window ahead) and evaluation checks its windows against it (eval.ts's
// checkDisjoint). Every layer reads the same documents in the same order (one data seed).
//
// Resumption: the trainer checkpoints every `checkpointEvery` steps (DIR/blocks.L/checkpoint.safetensors); beside it,
// cursor.json keeps the data cursor at those steps so a resumed layer skips the consumed windows without running the
// model. A layer whose training.json exists is finished and is loaded, not retrained (its recipe must match).
import fs from 'node:fs';
import path from 'node:path';
import { ProbityError, show } from '../errors.js';
import type { Model } from '../models/model.js';
import { onTheFly } from '../dictionaries/store/on-the-fly.js';
import type { BatchCursor } from '../dictionaries/store/batches.js';
import type { TokenSource } from '../dictionaries/store/sources.js';
import { trainSae, type Batch, type TrainProgress } from '../dictionaries/train/trainer.js';
import { loadCheckpoint } from '../dictionaries/train/checkpoint.js';
import { saveSaeLens, SAE_CFG_FILENAME } from '../dictionaries/saelens.js';
import { loadSae } from '../dictionaries/formats/index.js';
import { windowsFrom, type DocumentRange, type WindowSource } from '../dictionaries/eval.js';
import type { Sae } from '../dictionaries/sae.js';
import { fileHash } from '../dictionaries/frontier.js';
import { documents } from '../organism/corpus.js';
import { PROJECT_ROOT, codeVersion, displayModel, displayPath } from '../util/paths.js';

/** The organism's shipped set (the default of `probity graph` and `probity bench --suite circuits` on the organism). */
export const ORGANISM_TRANSCODERS = path.join(PROJECT_ROOT, 'models', 'organism', 'transcoders');

export const TRANSCODER_ARCHITECTURES = ['topk', 'jumprelu'] as const;
export type TranscoderArchitecture = (typeof TRANSCODER_ARCHITECTURES)[number];
/** Documents at the head of the stream reserved for evaluation (organism documents average ~76 tokens). */
export const DEFAULT_EVAL_DOCS = 10_000;
export const TRAINING_FILENAME = 'training.json';
const CHECKPOINT = 'checkpoint.safetensors';
const CURSOR = 'cursor.json';

/** The hooks a layer's transcoder reads and writes. */
export function transcoderHooks(layer: number): { input: string; output: string } {
  return { input: `blocks.${layer}.ln2.hook_normalized`, output: `blocks.${layer}.hook_mlp_out` };
}

export const layerFolder = (layer: number) => `blocks.${layer}`;

// ---- the document stream ------------------------------------------------------------------------------------------

/** Documents by index: what training and evaluation split. */
export interface DocumentStream {
  /** Written into training.json and metrics.json; `documentStreamFrom` rebuilds the stream from it. */
  description: Record<string, unknown>;
  /** Number of documents (Infinity for a generator). */
  count: number;
  /** Token rows of documents [start, end) in index order. */
  docs(start: number, end?: number): Iterable<ArrayLike<number>>;
}

/** The organism's own documents for one generator seed (each document `<bos> ... <eos>`). */
export function organismDocuments(seed: number): DocumentStream {
  return {
    description: { kind: 'organism-docs', seed },
    count: Infinity,
    *docs(start, end) {
      for (const d of documents(seed, { start, count: end === undefined ? undefined : end - start })) yield d.tokens;
    },
  };
}

/** Lines of a text file (blank lines dropped), each one document, through the model's tokenizer. */
export function textDocuments(model: Model, file: string): DocumentStream {
  if (!fs.existsSync(file)) throw new ProbityError('CLI_ARG', `--text ${file}: no such file`);
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n').filter((l) => l.trim());
  return {
    description: { kind: 'text-file', path: displayPath(file), lines: lines.length, sha256: fileHash(file) },
    count: lines.length,
    *docs(start, end) {
      for (const l of lines.slice(start, end)) yield model.tokenizer.encode(l);
    },
  };
}

/** The stream a training.json describes (a text file must still hash the same). */
export function documentStreamFrom(description: Record<string, unknown>, model: Model): DocumentStream {
  if (description.kind === 'organism-docs' && Number.isInteger(description.seed)) return organismDocuments(description.seed as number);
  if (description.kind === 'text-file' && typeof description.path === 'string') {
    const s = textDocuments(model, description.path);
    if (s.description.sha256 !== description.sha256) {
      throw new ProbityError('TRANSCODER_DATA', `${description.path}: the text file changed since training (sha256 ${s.description.sha256}, trained on ${description.sha256})`);
    }
    return s;
  }
  throw new ProbityError('TRANSCODER_DATA', `unknown document stream ${JSON.stringify(description)}; expected {kind: "organism-docs", seed} or {kind: "text-file", path, sha256}`);
}

/** Evaluation windows: documents [0, evalDocs) of the stream only. */
export function evalWindows(stream: DocumentStream, evalDocs: number): WindowSource {
  return windowsFrom(stream.docs(0, evalDocs), stream.description);
}

/**
 * Training rows: documents [evalDocs, ...) of the stream, sorted by length within blocks of `sortBlock` documents
 * (model batches of similar lengths carry little left padding; the shuffle window of ~65k positions, larger than a
 * block, mixes them again). `range()` is the range read so far, over every pass.
 */
export function trainingRows(stream: DocumentStream, evalDocs: number, sortBlock = 256): { source: TokenSource; range(): DocumentRange } {
  if (!(stream.count > evalDocs)) {
    throw new ProbityError('CLI_ARG', `--eval-docs ${evalDocs} reserves every document of the source (${stream.count}) for evaluation; nothing is left to train on`);
  }
  let end = evalDocs;
  const rows = function* () {
    let block: ArrayLike<number>[] = [];
    let i = evalDocs;
    const flush = function* () {
      block.sort((a, b) => a.length - b.length);
      yield* block;
      block = [];
    };
    for (const d of stream.docs(evalDocs)) {
      block.push(d);
      end = Math.max(end, ++i);
      if (block.length === sortBlock) yield* flush();
    }
    yield* flush();
  };
  return {
    source: { description: { ...stream.description, first_document: evalDocs, sorted_blocks: sortBlock } as never, rows },
    range: () => ({ source: stream.description, first: evalDocs, end }),
  };
}

// ---- training -------------------------------------------------------------------------------------------------------

export interface TranscoderRecipe {
  architecture: TranscoderArchitecture;
  width: number;
  /** TopK: active latents per token. */
  k?: number;
  /** JumpReLU: L0 coefficient. */
  sparsity?: number;
  tokens: number;
  batch: number;
  lr: number;
  seed: number;
  eval_docs: number;
  data: Record<string, unknown>;
}

export interface TrainTranscodersOptions {
  out: string;
  stream: DocumentStream;
  /** Documents at the head of the stream kept out of training (default DEFAULT_EVAL_DOCS). */
  evalDocs?: number;
  /** Default: every layer of the model. */
  layers?: number[];
  architecture?: TranscoderArchitecture;
  width?: number;
  k?: number;
  sparsity?: number;
  tokens: number;
  batch?: number;
  lr?: number;
  seed?: number;
  checkpointEvery?: number;
  /** Recorded in training.json. */
  command?: string;
  onProgress?: (layer: number, p: TrainProgress) => void;
  onLayer?: (layer: number, what: 'skipped' | 'resumed' | 'started' | 'finished') => void;
  /** Return after this many steps of a layer (tests: a killed run); the layer is left unfinished. */
  stopAtStep?: number;
}

/** One trained layer: the transcoder and its training record. */
export interface TranscoderLayer {
  layer: number;
  sae: Sae;
  dir: string;
  training?: Record<string, unknown>;
}

function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2) + '\n');
  fs.renameSync(`${file}.tmp`, file);
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ProbityError('TRANSCODER_FILE', `${file}: not readable JSON (${(e as Error).message})`);
  }
}

export function checkLayers(model: Model, layers: readonly number[]): void {
  const n = model.spec.nLayers;
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l >= n) throw new ProbityError('CLI_ARG', `--layers: layer ${show(l)} is not a layer of the model (0 .. ${n - 1})`);
  }
  if (new Set(layers).size !== layers.length) throw new ProbityError('CLI_ARG', `--layers ${layers.join(',')} names a layer twice`);
}

/** Batches as a function of the batch index (the trainer resumes a function source at the next index). */
function batchFunction(model: Model, hooks: { input: string; output: string }, source: TokenSource, o: { batch: number; seed: number; cursor?: BatchCursor; first: number }) {
  const fly = onTheFly({ model, hooks: [hooks.input, hooks.output], tokens: source });
  const it = fly.batches({ hook: [hooks.input, hooks.output], batchSize: o.batch, seed: o.seed, epochs: Infinity, dropLast: true, cursor: o.cursor });
  let next = o.first;
  const cursors = new Map<number, BatchCursor>();
  const fn = async (i: number): Promise<Batch> => {
    if (i < next) throw new ProbityError('INTERNAL', `transcoder data: batch ${i} asked for after batch ${next - 1}`);
    for (;;) {
      const r = await it.next();
      if (r.done) throw new ProbityError('INTERNAL', 'transcoder data: the endless batch stream ended');
      const index = next++;
      cursors.set(index, r.value.cursor);
      cursors.delete(index - 32);
      if (index === i) return { x: r.value.x.data, target: r.value.y!.data };
    }
  };
  return { fn, cursorAfter: (i: number) => cursors.get(i) };
}

/** Train (or resume, or load when finished) the transcoders of `layers`, one after the other. */
export async function trainTranscoders(model: Model, o: TrainTranscodersOptions): Promise<TranscoderLayer[]> {
  const layers = o.layers ?? Array.from({ length: model.spec.nLayers }, (_, i) => i);
  checkLayers(model, layers);
  const architecture = o.architecture ?? 'topk';
  if (!TRANSCODER_ARCHITECTURES.includes(architecture)) throw new ProbityError('CLI_ARG', `--arch is ${show(architecture)}, expected one of ${TRANSCODER_ARCHITECTURES.join(', ')}`);
  const evalDocs = o.evalDocs ?? DEFAULT_EVAL_DOCS;
  const batch = o.batch ?? 4096;
  const recipe: TranscoderRecipe = {
    architecture, width: o.width ?? 1536, ...(architecture === 'topk' ? { k: o.k ?? 16 } : { sparsity: o.sparsity ?? 5 }),
    tokens: o.tokens, batch, lr: o.lr ?? 1e-3, seed: o.seed ?? 1, eval_docs: evalDocs, data: o.stream.description,
  };
  const steps = Math.ceil(recipe.tokens / batch);
  const every = o.checkpointEvery ?? 50;
  const progressEvery = 5;
  if (every % progressEvery !== 0) throw new ProbityError('INTERNAL', 'checkpointEvery must be a multiple of 5 (cursors are saved at progress steps)');
  const d = model.spec.dModel;
  const out: TranscoderLayer[] = [];
  for (const layer of layers) {
    const dir = path.join(o.out, layerFolder(layer));
    const trainingFile = path.join(dir, TRAINING_FILENAME);
    if (fs.existsSync(trainingFile)) {
      const done = readJson(trainingFile);
      if (JSON.stringify(done.recipe) !== JSON.stringify(recipe)) {
        throw new ProbityError('TRANSCODER_RESUME', `${trainingFile}: layer ${layer} was trained with ${JSON.stringify(done.recipe)}; this run asks for ${JSON.stringify(recipe)} (use another --out)`);
      }
      o.onLayer?.(layer, 'skipped');
      out.push({ layer, sae: loadTranscoder(dir, layer), dir, training: done });
      continue;
    }
    fs.mkdirSync(dir, { recursive: true });
    const hooks = transcoderHooks(layer);
    const ckpt = path.join(dir, CHECKPOINT);
    const cursorFile = path.join(dir, CURSOR);
    let resumeStep = 0;
    let cursor: BatchCursor | undefined;
    let secondsBefore = 0;
    if (fs.existsSync(ckpt)) {
      resumeStep = loadCheckpoint(ckpt).step;
      const saved = fs.existsSync(cursorFile) ? readJson(cursorFile) : {};
      cursor = (saved.cursors as Record<string, BatchCursor> | undefined)?.[resumeStep];
      secondsBefore = Number((saved.seconds as Record<string, number> | undefined)?.[resumeStep] ?? 0);
      o.onLayer?.(layer, 'resumed');
    } else o.onLayer?.(layer, 'started');
    // Without a saved cursor the stream starts over and the trainer's function source skips to the step.
    const rows = trainingRows(o.stream, evalDocs);
    const data = batchFunction(model, hooks, rows.source, { batch, seed: recipe.seed, cursor, first: cursor ? resumeStep : 0 });
    const saved: { cursors: Record<number, BatchCursor>; seconds: Record<number, number> } = { cursors: {}, seconds: {} };
    const t0 = performance.now();
    const r = await trainSae(
      {
        architecture, dIn: d, dOut: d, dSae: recipe.width, k: recipe.k, sparsityCoefficient: recipe.sparsity,
        hookName: hooks.input, outHookName: hooks.output,
        metadata: { model: displayModel(model.source), layer, tokens: recipe.tokens, seed: recipe.seed },
      },
      data.fn,
      {
        steps, lr: recipe.lr, seed: recipe.seed, checkpoint: { path: ckpt, every }, resumeFrom: resumeStep > 0 ? ckpt : undefined,
        stopAtStep: o.stopAtStep, progressEvery,
        onProgress: (p) => {
          // Called before the trainer writes the checkpoint of the same step: keep the last two cursors, so the one
          // matching the checkpoint on disk is always there.
          if (p.step % every === 0 || p.step === Math.min(o.stopAtStep ?? steps, steps)) {
            const c = data.cursorAfter(p.step - 1);
            if (c) {
              for (const k of Object.keys(saved.cursors).map(Number).sort((a, b) => a - b).slice(0, -1)) {
                delete saved.cursors[k];
                delete saved.seconds[k];
              }
              saved.cursors[p.step] = c;
              saved.seconds[p.step] = secondsBefore + (performance.now() - t0) / 1000;
              writeJson(cursorFile, saved);
            }
          }
          o.onProgress?.(layer, p);
        },
      },
    );
    if (r.step < steps) {
      out.push({ layer, sae: r.sae, dir });
      return out; // stopped early (stopAtStep): this layer is unfinished, later ones are not started
    }
    saveSaeLens(r.sae, dir);
    const training = {
      layer, hook_in: hooks.input, hook_out: hooks.output, recipe, steps: r.step,
      tokens_trained: r.tokens, // counted by the trainer (over every resumed run)
      train_documents: { ...rows.range(), note: 'documents read by the on-the-fly source (at most a shuffle window more than trained on)' },
      seconds: secondsBefore + (performance.now() - t0) / 1000,
      input_scale: r.inputScale, output_scale: r.outputScale,
      last_step: r.last ? { loss: r.last.loss, ...r.last.metrics } : undefined,
      model: displayModel(model.source), command: o.command, code_version: codeVersion(),
    };
    writeJson(trainingFile, training);
    fs.rmSync(ckpt, { force: true });
    fs.rmSync(cursorFile, { force: true });
    o.onLayer?.(layer, 'finished');
    out.push({ layer, sae: r.sae, dir, training });
  }
  return out;
}

// ---- loading --------------------------------------------------------------------------------------------------------

/** One layer's transcoder, checked to read ln2.hook_normalized and write hook_mlp_out of that layer. */
export function loadTranscoder(dir: string, layer: number): Sae {
  const sae = loadSae(dir);
  const want = transcoderHooks(layer);
  if (!sae.isTranscoder) throw new ProbityError('TRANSCODER_SET', `${dir}: not a transcoder (an SAE reading and writing ${sae.cfg.hookName}); expected ${want.input} -> ${want.output}`);
  if (sae.cfg.hookName !== want.input || sae.cfg.outHookName !== want.output) {
    throw new ProbityError('TRANSCODER_SET', `${dir}: reads ${show(sae.cfg.hookName)} and writes ${show(sae.cfg.outHookName ?? null)}; a layer-${layer} MLP transcoder reads ${want.input} and writes ${want.output}`);
  }
  return sae;
}

/** The transcoders of a set folder (DIR/blocks.L/...), ordered by layer. */
export function loadTranscoderSet(dir: string): TranscoderLayer[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new ProbityError('TRANSCODER_SET', `${dir}: no such folder (a transcoder set holds blocks.L/ folders)`);
  const entries = fs.readdirSync(dir).filter((n) => /^blocks\.\d+$/.test(n) && fs.statSync(path.join(dir, n)).isDirectory());
  if (entries.length === 0) throw new ProbityError('TRANSCODER_SET', `${dir}: no blocks.L/ folders; it has ${show(fs.readdirSync(dir).sort().slice(0, 10))}`);
  const layers = entries.map((n) => Number(n.slice('blocks.'.length))).sort((a, b) => a - b);
  return layers.map((layer) => {
    const sub = path.join(dir, layerFolder(layer));
    if (!fs.existsSync(path.join(sub, SAE_CFG_FILENAME))) {
      const why = fs.existsSync(path.join(sub, CHECKPOINT)) ? 'its training is unfinished (a checkpoint, no weights); rerun `probity transcoders train` with the same --out to resume it' : `it has no ${SAE_CFG_FILENAME}`;
      throw new ProbityError('TRANSCODER_SET', `${sub}: ${why}`);
    }
    const trainingFile = path.join(sub, TRAINING_FILENAME);
    return { layer, sae: loadTranscoder(sub, layer), dir: sub, training: fs.existsSync(trainingFile) ? readJson(trainingFile) : undefined };
  });
}
