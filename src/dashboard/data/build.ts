// `probity sae dashboard-data`: everything a latent page shows, precomputed once so the server only reads files.
// Phase 1 (chunks.ts) runs held-out documents through the model and the SAE; phase 2 turns the codes into per-latent
// columns and writes the latents' details in groups; index.json (the latent list) comes last. Both phases resume
// after a kill at the first missing file; a folder made with other settings, another SAE or another model is refused.
import fs from 'node:fs';
import path from 'node:path';
import type { Model } from '../../models/model.js';
import type { Sae } from '../../dictionaries/sae.js';
import { fileHash } from '../../dictionaries/frontier.js';
import { documents } from '../../organism/corpus.js';
import { CONCEPTS } from '../../organism/concepts.js';
import { ProbityError, show } from '../../errors.js';
import { fmix32, uniform } from '../../util/random.js';
import { displayModel, displayPath } from '../../util/paths.js';
import { encodeChunk, readChunk, writeAtomic, writeChunk, type SourceDoc } from './chunks.js';
import { RowTopK, decoderRows, unembedding } from './directions.js';
import { ascending, conceptMatches, histogram, quantileRanges, sensitivity, type Column } from './latent-stats.js';
import {
  DASHBOARD_FORMAT, DEFAULT_SETTINGS, INDEX_FILE, MANIFEST_FILE, TOKENS_FILE, chunkFile, groupFile,
  type Context, type DashboardIndex, type DashboardManifest, type DashboardSettings, type DashboardSource, type LatentDetail,
} from './format.js';

export interface BuildOptions {
  model: Model;
  sae: Sae;
  /** The SAE's folder (hashed into the manifest). */
  saeDir: string;
  /** Output folder (default `<saeDir>/dashboard`). */
  out: string;
  settings?: Partial<DashboardSettings>;
  /** Lines of a text file instead of the organism's documents. */
  text?: string;
  command?: string;
  onProgress?: (phase: 'tokens' | 'latents', done: number, total: number) => void;
  /** Stop after this many phase-1 chunks (tests of resuming). */
  stopAfterChunks?: number;
}

export const isOrganism = (model: Model): boolean => fs.existsSync(path.join(model.source, 'tokenizer.organism.json'));

/** The SAE's evaluation stream: `probity sae eval` reads documents seed (training seed + 7919), never trained on. */
function organismSource(sae: Sae): { source: DashboardSource; docs: (start: number) => Iterator<SourceDoc> } {
  const meta = (sae.cfg.metadata ?? {}) as Record<string, unknown>;
  const trainSeed = typeof meta.seed === 'number' ? meta.seed : 1;
  const seed = trainSeed + 7919;
  return {
    source: { kind: 'organism-docs', seed, split: `held-out: the evaluation stream of \`probity sae eval\` (documents seed ${seed} = the SAE's training seed ${trainSeed} + 7919; the SAE was trained on seed ${trainSeed})` },
    docs: (start) =>
      (function* () {
        for (const d of documents(seed, { start })) yield { index: d.index, tokens: Array.from(d.tokens), labels: d.labels, from: 1, to: d.tokens.length - 1 };
      })(),
  };
}

function textSource(model: Model, file: string): { source: DashboardSource; docs: (start: number) => Iterator<SourceDoc> } {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  const tok = model.tokenizer;
  return {
    source: { kind: 'text-file', path: displayPath(file), lines: lines.length },
    docs: (start) =>
      (function* () {
        for (let i = start; i < lines.length; i++) {
          const ids = tok.encode(lines[i]).slice(0, model.spec.nCtx);
          const from = tok.bos !== null && ids[0] === tok.bos ? 1 : 0;
          if (ids.length > from) yield { index: i, tokens: ids, from, to: ids.length };
        }
      })(),
  };
}

function checkSettings(s: DashboardSettings): void {
  for (const [k, v] of Object.entries(s)) {
    const min = k === 'contextBefore' || k === 'contextAfter' || k === 'seed' || k === 'sensitivityConcepts' ? 0 : 1;
    if (!(Number.isInteger(v) && v >= min)) throw new ProbityError('CLI_ARG', `dashboard-data: ${k} is ${show(v)}, expected an integer >= ${min}`);
  }
}

const round = (v: number): number => (v === 0 ? 0 : Number(v.toPrecision(4)));

/** Builds (or resumes) the dashboard data in o.out; returns the index (null when stopped by `stopAfterChunks`). */
export async function buildDashboardData(o: BuildOptions): Promise<DashboardIndex | null> {
  const settings: DashboardSettings = { ...DEFAULT_SETTINGS, ...(o.settings ?? {}) };
  checkSettings(settings);
  const { model, sae } = o;
  const organism = !o.text && isOrganism(model);
  if (!o.text && !organism) throw new ProbityError('CLI_ARG', `--text FILE is required for ${model.source}: only the organism can generate its own documents`);
  const src = o.text ? textSource(model, o.text) : organismSource(sae);
  const unembed = unembedding(model);
  const fresh: DashboardManifest = {
    format: DASHBOARD_FORMAT,
    sae: displayPath(o.saeDir),
    sae_sha256: { cfg: hashIf(path.join(o.saeDir, 'cfg.json')), weights: fileHash(o.saeDir) },
    model: displayModel(model.source),
    model_sha256: fileHash(model.source),
    hook: sae.cfg.hookName,
    dSae: sae.dSae,
    settings,
    source: src.source,
    logits: unembed.how,
    phase1: { chunks: 0, tokens: 0, docs: 0, finished: false },
    phase2: { groups: 0, total: Math.ceil(sae.dSae / settings.groupSize) },
    complete: false,
    command: o.command ?? '',
  };
  const dir = o.out;
  const manifestPath = path.join(dir, MANIFEST_FILE);
  let manifest = fresh;
  if (fs.existsSync(manifestPath)) {
    const old = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as DashboardManifest;
    const same = (k: keyof DashboardManifest) => JSON.stringify(old[k]) === JSON.stringify(fresh[k]);
    const differ = (['format', 'sae_sha256', 'model_sha256', 'hook', 'settings', 'source'] as const).filter((k) => !same(k));
    if (differ.length) {
      throw new ProbityError('DASHBOARD_DATA', `${dir} holds dashboard data made with a different ${differ.join(', ')}; delete the folder or choose another --out`);
    }
    manifest = { ...old, command: old.command || fresh.command };
    if (manifest.complete && fs.existsSync(path.join(dir, INDEX_FILE))) return JSON.parse(fs.readFileSync(path.join(dir, INDEX_FILE), 'utf8')) as DashboardIndex;
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, '.gitignore'), '# generated by probity sae dashboard-data: a cache, never committed\n*\n');
  const saveManifest = () => writeAtomic(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  saveManifest();

  // ---- phase 1: codes of the scored tokens, chunk by chunk
  const p1 = manifest.phase1;
  // Chunk files are the truth (the manifest may be one chunk behind after a kill): count the whole ones on disk.
  p1.chunks = 0;
  while (fs.existsSync(path.join(dir, chunkFile(p1.chunks)))) p1.chunks++;
  let lastIndex = recount(dir, p1);
  o.onProgress?.('tokens', p1.tokens, settings.tokens);
  if (!p1.finished) {
    const it = src.docs(lastIndex + 1);
    let made = 0;
    while (p1.tokens < settings.tokens) {
      const batch: SourceDoc[] = [];
      for (let tokens = p1.tokens; batch.length < settings.docsPerChunk && tokens < settings.tokens; ) {
        const r = it.next();
        if (r.done) break;
        batch.push(r.value);
        tokens += r.value.to - r.value.from;
      }
      if (batch.length === 0) break;
      const chunk = await encodeChunk(model, sae, batch);
      writeChunk(path.join(dir, chunkFile(p1.chunks)), chunk);
      p1.chunks++;
      p1.tokens += chunk.n;
      p1.docs += batch.length;
      lastIndex = batch[batch.length - 1].index;
      saveManifest();
      o.onProgress?.('tokens', p1.tokens, settings.tokens);
      if (o.stopAfterChunks !== undefined && ++made >= o.stopAfterChunks) return null;
    }
    p1.finished = true;
    saveManifest();
  }

  // ---- phase 2: per-latent columns, then the details in groups
  const data = loadCodes(dir, p1.chunks, sae.dSae);
  const { N } = data;
  if (N === 0) throw new ProbityError('DASHBOARD_DATA', `no scored tokens in ${dir}: the document source is empty`);
  const names = organism ? [...CONCEPTS] : [];
  const positives = names.map((_, b) => {
    let p = 0;
    for (let t = 0; t < N; t++) if ((data.labels[t] >>> b) & 1) p++;
    return p;
  });
  const logitsTopK = new RowTopK(unembed.W, unembed.V, unembed.D, settings.topLogits);
  const unitDec = decoderRows(sae, 0, sae.dSae, null, true);
  const cosTopK = new RowTopK(unitDec, sae.dSae, sae.dOut, Math.min(sae.dSae, settings.neighbours + 1));
  const scratch = new Float32Array(N);
  const G = settings.groupSize;
  const total = manifest.phase2.total;
  manifest.phase2.groups = 0;
  while (manifest.phase2.groups < total && fs.existsSync(path.join(dir, groupFile(manifest.phase2.groups)))) manifest.phase2.groups++;
  o.onProgress?.('latents', Math.min(sae.dSae, manifest.phase2.groups * G), sae.dSae);
  for (let g = manifest.phase2.groups; g < total; g++) {
    if (fs.existsSync(path.join(dir, groupFile(g)))) continue;
    const from = g * G;
    const to = Math.min(sae.dSae, from + G);
    const unembedIn = unembed.D === sae.dOut ? decoderRows(sae, from, to, unembed.normWeight) : null;
    const lg = unembedIn ? await logitsTopK.run(unembedIn, to - from) : null;
    const nb = await cosTopK.run(unitDec.subarray(from * sae.dOut, to * sae.dOut), to - from);
    const details: LatentDetail[] = [];
    for (let i = from; i < to; i++) {
      const col = data.column(i);
      const d = latentDetail(i, col, data, settings, scratch, names, positives);
      if (lg) {
        d.promoted = lg.high[i - from].map((x) => ({ token: x.index, value: round(x.value) }));
        d.suppressed = lg.low[i - from].map((x) => ({ token: x.index, value: round(x.value) }));
      }
      d.neighbours = nb.high[i - from].filter((x) => x.index !== i).slice(0, settings.neighbours).map((x) => ({ latent: x.index, cosine: round(x.value) }));
      details.push(d);
    }
    writeAtomic(path.join(dir, groupFile(g)), JSON.stringify({ from, to, latents: details }));
    manifest.phase2.groups = g + 1;
    saveManifest();
    o.onProgress?.('latents', to, sae.dSae);
  }

  // ---- the latent list and the token table
  const vocab = Array.from({ length: model.spec.vocab }, (_, id) => model.tokenizer.decode([id]));
  writeAtomic(path.join(dir, TOKENS_FILE), JSON.stringify(vocab));
  const index = makeIndex(dir, manifest, N, p1.docs, vocab, organism);
  writeAtomic(path.join(dir, INDEX_FILE), JSON.stringify(index));
  manifest.complete = true;
  saveManifest();
  fs.rmSync(path.join(dir, 'acts'), { recursive: true, force: true });
  return index;
}

function hashIf(p: string): string {
  return fs.existsSync(p) ? fileHash(p) : '';
}

/** The manifest's phase-1 counts from the chunk files on disk; returns the last document index in them (-1: none). */
function recount(dir: string, p1: DashboardManifest['phase1']): number {
  let tokens = 0;
  let docs = 0;
  let last = -1;
  for (let c = 0; c < p1.chunks; c++) {
    const h = readChunk(path.join(dir, chunkFile(c)));
    tokens += h.n;
    docs += h.docs.length;
    last = h.docs[h.docs.length - 1].index;
  }
  p1.tokens = tokens;
  p1.docs = docs;
  return last;
}

interface Codes {
  N: number;
  tokens: Int32Array;
  labels: Uint32Array;
  /** Per token: its document's sequence number; per document: first token, length, corpus index. */
  docOf: Int32Array;
  docFirst: number[];
  docLen: number[];
  docIndex: number[];
  column(i: number): Column;
}

/** All chunks as per-latent columns (CSR over latents, positions ascending within a latent). */
function loadCodes(dir: string, chunks: number, S: number): Codes {
  const parts = Array.from({ length: chunks }, (_, c) => readChunk(path.join(dir, chunkFile(c))));
  const N = parts.reduce((a, c) => a + c.n, 0);
  const tokens = new Int32Array(N);
  const labels = new Uint32Array(N);
  const docOf = new Int32Array(N);
  const docFirst: number[] = [];
  const docLen: number[] = [];
  const docIndex: number[] = [];
  const count = new Int32Array(S + 1);
  let o = 0;
  for (const c of parts) {
    tokens.set(c.tokens, o);
    labels.set(c.labels, o);
    let t = o;
    for (const d of c.docs) {
      docOf.fill(docFirst.length, t, t + d.n);
      docFirst.push(t);
      docLen.push(d.n);
      docIndex.push(d.index);
      t += d.n;
    }
    for (let j = 0; j < c.idx.length; j++) if (c.val[j] !== 0) count[c.idx[j] + 1]++;
    o += c.n;
  }
  for (let i = 0; i < S; i++) count[i + 1] += count[i];
  const pos = new Int32Array(count[S]);
  const val = new Float32Array(count[S]);
  const fill = count.slice(0, S);
  o = 0;
  for (const c of parts) {
    for (let t = 0; t < c.n; t++) {
      for (let j = 0; j < c.k; j++) {
        const v = c.val[t * c.k + j];
        if (v === 0) continue;
        const i = c.idx[t * c.k + j];
        pos[fill[i]] = o + t;
        val[fill[i]] = v;
        fill[i]++;
      }
    }
    o += c.n;
  }
  return {
    N, tokens, labels, docOf, docFirst, docLen, docIndex,
    column: (i) => ({ pos: pos.subarray(count[i], count[i + 1]), val: val.subarray(count[i], count[i + 1]) }),
  };
}

function latentDetail(id: number, col: Column, data: Codes, s: DashboardSettings, scratch: Float32Array, names: string[], positives: number[]): LatentDetail {
  const m = col.val.length;
  for (let j = 0; j < m; j++) scratch[col.pos[j]] = col.val[j];
  const context = (t: number): Context => {
    const d = data.docOf[t];
    const a = Math.max(data.docFirst[d], t - s.contextBefore);
    const b = Math.min(data.docFirst[d] + data.docLen[d], t + s.contextAfter + 1);
    const c: Context = { doc: data.docIndex[d], at: t - a, tokens: Array.from(data.tokens.subarray(a, b)), acts: Array.from(scratch.subarray(a, b), round) };
    if (names.length) c.labels = Array.from(data.labels.subarray(a, b));
    return c;
  };
  const order = ascending(col);
  let sum = 0;
  let max = 0;
  for (let j = 0; j < m; j++) {
    sum += col.val[j];
    if (col.val[j] > max) max = col.val[j];
  }
  // Top contexts: each document's strongest token, the strongest documents first.
  const bestInDoc = new Map<number, number>();
  for (let j = 0; j < m; j++) {
    const d = data.docOf[col.pos[j]];
    const k = bestInDoc.get(d);
    if (k === undefined || col.val[j] > col.val[k]) bestInDoc.set(d, j);
  }
  const top = [...bestInDoc.values()].sort((a, b) => col.val[b] - col.val[a] || a - b).slice(0, s.topContexts).map((j) => context(col.pos[j]));
  // Contexts sampled from every quantile bin of the non-zero activations (distinct documents where the bin allows).
  const rand = uniform(fmix32((s.seed * 0x9e3779b1) ^ id));
  const { entries, ranges } = quantileRanges(col, order, s.quantiles);
  const quantiles = ranges.map(({ from, to }) => {
    const cand = Array.from(entries.subarray(from, to));
    for (let i = cand.length - 1; i > 0; i--) {
      const r = Math.floor(rand() * (i + 1));
      [cand[i], cand[r]] = [cand[r], cand[i]];
    }
    const docs = new Set<number>();
    const pick: number[] = [];
    for (const j of cand) {
      if (pick.length >= s.perQuantile) break;
      if (docs.has(data.docOf[col.pos[j]])) continue;
      docs.add(data.docOf[col.pos[j]]);
      pick.push(j);
    }
    for (const j of cand) if (pick.length < s.perQuantile && !pick.includes(j)) pick.push(j);
    pick.sort((a, b) => col.val[b] - col.val[a] || a - b);
    return { lo: round(col.val[entries[from]]), hi: round(col.val[entries[to - 1]]), n: to - from, contexts: pick.map((j) => context(col.pos[j])) };
  }).reverse();
  const h = histogram(col, data.N, s.histBins);
  const concepts = names.length && m > 0 ? conceptMatches(col, order, data.labels, data.N, positives, names).slice(0, s.conceptMatches) : [];
  const sens = concepts.slice(0, s.sensitivityConcepts).map((c) => {
    const b = names.indexOf(c.concept);
    return { concept: c.concept, base: round(positives[b] / data.N), bins: sensitivity(col, data.labels, data.N, b, positives[b], s.sensitivityBins).map((x) => ({ lo: round(x.lo), hi: round(x.hi), n: x.n, fractionPositive: round(x.fractionPositive) })) };
  });
  for (let j = 0; j < m; j++) scratch[col.pos[j]] = 0;
  return {
    id,
    density: m / data.N,
    active: m,
    maxAct: round(max),
    meanAct: m ? round(sum / m) : 0,
    histogram: { edges: h.edges.map(round), counts: h.counts, zeros: h.zeros },
    top,
    quantiles,
    promoted: [],
    suppressed: [],
    neighbours: [],
    concepts: concepts.map((c) => ({ ...c, auroc: round(c.auroc), precision: round(c.precision), recall: round(c.recall), f1: round(c.f1) })),
    sensitivity: sens,
  };
}

function makeIndex(dir: string, manifest: DashboardManifest, N: number, docs: number, vocab: string[], organism: boolean): DashboardIndex {
  const S = manifest.dSae;
  const ix: DashboardIndex = {
    format: DASHBOARD_FORMAT, sae: manifest.sae, hook: manifest.hook, dSae: S, tokens: N, docs, source: manifest.source, groupSize: manifest.settings.groupSize, concepts: organism,
    density: [], maxAct: [], meanAct: [], topTokens: [], snippet: [], bestConcept: [], bestF1: [], aurocConcept: [], bestAuroc: [],
  };
  for (let g = 0; g < manifest.phase2.total; g++) {
    const grp = JSON.parse(fs.readFileSync(path.join(dir, groupFile(g)), 'utf8')) as { latents: LatentDetail[] };
    for (const d of grp.latents) {
      ix.density.push(round(d.density));
      ix.maxAct.push(d.maxAct);
      ix.meanAct.push(d.meanAct);
      // The most frequent token texts at the latent's top contexts' activating tokens (then its quantile samples').
      const counts = new Map<string, number>();
      for (const c of [...d.top, ...d.quantiles.flatMap((q) => q.contexts)]) {
        const w = vocab[c.tokens[c.at]] ?? '';
        counts.set(w, (counts.get(w) ?? 0) + (d.top.includes(c) ? 2 : 1));
      }
      ix.topTokens.push([...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([w]) => w));
      // The best context's text around its activating token (the list shows it; searches read it).
      const c0 = d.top[0];
      ix.snippet.push(c0 ? c0.tokens.slice(Math.max(0, c0.at - 12), c0.at + 4).map((t) => vocab[t] ?? '').join('') : '');
      const byF1 = [...d.concepts].sort((a, b) => b.f1 - a.f1)[0];
      ix.bestConcept.push(byF1 ? byF1.concept : null);
      ix.bestF1.push(byF1 ? byF1.f1 : null);
      ix.aurocConcept.push(d.concepts[0] ? d.concepts[0].concept : null);
      ix.bestAuroc.push(d.concepts[0] ? d.concepts[0].auroc : null);
    }
  }
  return ix;
}
