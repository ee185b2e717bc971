// The spurious suite's stories: organism stories of two tones whose weather falls in one of two weather classes, drawn
// by rejection from the story generator (writeStory with a fixed tone; the weather is the generator's own draw), and
// the two token-deletion variants of the critique's baseline. Everything is a pure function of (docsSeed, config).
import { ProbityError, show } from '../../../errors.js';
import { B, GENRE_BIT, TextBuilder, lexicalPass, tokenLabels } from '../../../organism/concepts.js';
import { writeStory } from '../../../organism/genres/story.js';
import { Rng } from '../../../organism/rng.js';
import { BOS, EOS, organismTokenizer } from '../../../organism/tokenizer.js';
import { TONES, WEATHERS, type Tone, type Weather } from '../../../organism/vocab.js';
import { Rng as StatsRng } from '../../../stats/index.js';

/** One story: tone class 0/1 (the tone pair's order) and weather class 0/1 (weather class i goes with tone i). */
export interface Story {
  /** Stable id: `${tone}/${index}` in the generator's stream. */
  id: string;
  tokens: Uint16Array;
  /** Per-token concept masks (0 for <bos>/<eos>). */
  labels: Uint32Array;
  tone: 0 | 1;
  weather: 0 | 1;
  /** The story's own weather word (sunny, rainy, ...). */
  weatherName: Weather;
}

export interface PairSpec {
  tones: readonly [Tone, Tone];
  /** weathers[i]: the weathers of class i, the class that agrees with tones[i] on the ambiguous split. */
  weathers: readonly [readonly Weather[], readonly Weather[]];
}

export function checkPair(p: PairSpec, where: string): void {
  if (!Array.isArray(p.tones) || p.tones.length !== 2 || p.tones[0] === p.tones[1] || p.tones.some((t) => !(TONES as readonly string[]).includes(t))) {
    throw new ProbityError('BENCH_INPUT', `${where}.tones must be two different tones of ${TONES.join(', ')}, got ${show(p.tones)}`);
  }
  if (!Array.isArray(p.weathers) || p.weathers.length !== 2 || p.weathers.some((w) => !Array.isArray(w) || w.length === 0 || w.some((x) => !(WEATHERS as readonly string[]).includes(x)))) {
    throw new ProbityError('BENCH_INPUT', `${where}.weathers must be two non-empty lists of ${WEATHERS.join(', ')}, got ${show(p.weathers)}`);
  }
  if (p.weathers[0].some((w) => p.weathers[1].includes(w))) throw new ProbityError('BENCH_INPUT', `${where}.weathers: the two classes overlap: ${show(p.weathers)}`);
}

/** Group index of (tone, weather): tone * 2 + weather. Groups 0 and 3 agree (the ambiguous split's), 1 and 2 are reversed. */
export const groupOf = (s: { tone: number; weather: number }): number => s.tone * 2 + s.weather;
export function groupName(p: PairSpec, g: number): string {
  return `${p.tones[g >> 1]}/${p.weathers[g & 1].join('+')}`;
}

/** One story of tone `tone` from the stream (docsSeed, tone), tokenized and labelled as the corpus does. */
export function makeStory(docsSeed: number, tone: Tone, index: number): { tokens: Uint16Array; labels: Uint32Array; weather: Weather; text: string } {
  const rng = Rng.forItem(docsSeed, index, `spurious/${tone}`);
  const b = new TextBuilder(GENRE_BIT.story);
  const attrs = writeStory(b, rng, { tone });
  const text = b.text();
  const mask = b.charMask();
  lexicalPass(text, mask);
  const { ids, pieces } = organismTokenizer().encodePieces(text);
  const inner = tokenLabels(pieces, mask);
  const tokens = new Uint16Array(ids.length + 2);
  tokens[0] = BOS;
  tokens.set(ids, 1);
  tokens[ids.length + 1] = EOS;
  const labels = new Uint32Array(ids.length + 2);
  labels.set(inner, 1);
  return { tokens, labels, weather: attrs.weather, text };
}

/**
 * `perGroup[g]` stories of each group g, drawn by rejection from each tone's stream in index order (so a larger
 * request extends a smaller one). Throws when a group needs more than maxDraws stories of its tone.
 */
/** How much of each story the classifier reads: all of it, or its opening up to the end of its first `n` tone sentences. */
export type StoryCut = 'full' | number;

/** The story cut after the sentence end ('.', '!', '?') that closes its n-th tone sentence, <eos> appended. */
export function cutStory(tokens: Uint16Array, labels: Uint32Array, n: number): { tokens: Uint16Array; labels: Uint32Array } {
  const tok = organismTokenizer();
  const ends = new Set(['.', '!', '?'].map((p) => tok.idOf(p)).filter((x): x is number => x !== undefined));
  const toneBits = B['tone:happy'] | B['tone:sad'] | B['tone:angry'] | B['tone:scared'];
  let seen = 0;
  let inTone = false;
  for (let t = 1; t < tokens.length - 1; t++) {
    if (labels[t] & toneBits) inTone = true;
    if (inTone && ends.has(tokens[t])) {
      seen++;
      if (seen === n) {
        const out = new Uint16Array(t + 2);
        out.set(tokens.subarray(0, t + 1));
        out[t + 1] = EOS;
        const lab = new Uint32Array(t + 2);
        lab.set(labels.subarray(0, t + 1));
        return { tokens: out, labels: lab };
      }
    }
  }
  return { tokens, labels };
}

export function drawStories(docsSeed: number, pair: PairSpec, perGroup: readonly number[], maxDraws = 200_000, cut: StoryCut = 'full'): Story[][] {
  const out: Story[][] = [[], [], [], []];
  for (let tone = 0 as 0 | 1; tone < 2; tone = (tone + 1) as 0 | 1) {
    const need = [perGroup[tone * 2], perGroup[tone * 2 + 1]];
    for (let i = 0; out[tone * 2].length < need[0] || out[tone * 2 + 1].length < need[1]; i++) {
      if (i >= maxDraws) throw new ProbityError('BENCH_INPUT', `spurious: ${maxDraws} ${pair.tones[tone]} stories gave too few of weather ${show(pair.weathers)} (need ${show(need)})`);
      const s = makeStory(docsSeed, pair.tones[tone], i);
      const w = pair.weathers[0].includes(s.weather) ? 0 : pair.weathers[1].includes(s.weather) ? 1 : -1;
      if (w < 0) continue;
      const g = tone * 2 + w;
      if (out[g].length >= need[w]) continue;
      const c = cut === 'full' ? s : cutStory(s.tokens, s.labels, cut);
      out[g].push({ id: `${pair.tones[tone]}/${i}`, tokens: c.tokens, labels: c.labels, tone, weather: w as 0 | 1, weatherName: s.weather });
    }
  }
  return out;
}

/** Sizes of one seed's splits (stories). */
export interface SplitSizes {
  /** Ambiguous train: this many stories of each agreeing group (0 and 3). */
  train: number;
  /** Ambiguous validation: this many of each agreeing group. */
  val: number;
  /** Balanced test: this many of each of the four groups; the reversed test: this many of each reversed group. */
  test: number;
}

export interface SeedSplits {
  seed: number;
  /** Ambiguous (weather agrees with tone in every story). */
  train: Story[];
  val: Story[];
  /** The oracle's train set: balanced, train / 2 per group (the same total as the ambiguous train). */
  oracleTrain: Story[];
  testBalanced: Story[];
  testReversed: Story[];
}

/** Stories each group needs per seed. */
export function perSeedNeed(z: SplitSizes): number[] {
  const half = Math.ceil(z.train / 2);
  const agree = z.train + z.val + half + z.test;
  const rev = half + 2 * z.test;
  return [agree, rev, rev, agree];
}

/** Disjoint splits for every seed: each seed takes its own block of every group's pool, shuffled by its seed. */
export function makeSplits(docsSeed: number, pair: PairSpec, sizes: SplitSizes, seeds: readonly number[], cut: StoryCut = 'full'): SeedSplits[] {
  const need = perSeedNeed(sizes);
  const pools = drawStories(docsSeed, pair, need.map((n) => n * seeds.length), 200_000, cut);
  const half = Math.ceil(sizes.train / 2);
  return seeds.map((seed, si) => {
    const take = (g: number): Story[] => {
      const block = pools[g].slice(si * need[g], (si + 1) * need[g]);
      const r = new StatsRng(seed * 7919 + g);
      for (let i = block.length - 1; i > 0; i--) {
        const j = r.int(i + 1);
        [block[i], block[j]] = [block[j], block[i]];
      }
      return block;
    };
    const gs = [0, 1, 2, 3].map(take);
    const cut = (xs: Story[], n: number) => xs.splice(0, n);
    const train = [...cut(gs[0], sizes.train), ...cut(gs[3], sizes.train)];
    const val = [...cut(gs[0], sizes.val), ...cut(gs[3], sizes.val)];
    const oracleTrain = [0, 1, 2, 3].flatMap((g) => cut(gs[g], half));
    const testBalanced = [0, 1, 2, 3].flatMap((g) => cut(gs[g], sizes.test));
    const testReversed = [1, 2].flatMap((g) => cut(gs[g], sizes.test));
    return { seed, train, val, oracleTrain, testBalanced, testReversed };
  });
}

export type DeletionKind = 'words' | 'sentence';

/**
 * The critique's baseline's training text: `words` deletes every token labelled entity:weather; `sentence` deletes
 * every sentence (from after the previous '.', '!' or '?' token, or the story's start, through the next one) holding
 * such a token. <bos> and <eos> stay. Returns the edited story and how many tokens went.
 */
export function deleteWeather(s: Story, kind: DeletionKind): { story: Story; deleted: number } {
  const tok = organismTokenizer();
  const ends = new Set(['.', '!', '?'].map((p) => tok.idOf(p)).filter((x): x is number => x !== undefined));
  const L = s.tokens.length;
  const drop = new Uint8Array(L);
  const weatherAt = (t: number) => (s.labels[t] & B['entity:weather']) !== 0;
  if (kind === 'words') {
    for (let t = 1; t < L - 1; t++) if (weatherAt(t)) drop[t] = 1;
  } else {
    let start = 1;
    for (let t = 1; t < L - 1; t++) {
      const isEnd = ends.has(s.tokens[t]) || t === L - 2;
      if (!isEnd) continue;
      let hit = false;
      for (let u = start; u <= t; u++) if (weatherAt(u)) hit = true;
      if (hit) for (let u = start; u <= t; u++) drop[u] = 1;
      start = t + 1;
    }
  }
  const keep: number[] = [];
  for (let t = 0; t < L; t++) if (!drop[t]) keep.push(t);
  const story: Story = { ...s, id: `${s.id}-del-${kind}`, tokens: Uint16Array.from(keep, (t) => s.tokens[t]), labels: Uint32Array.from(keep, (t) => s.labels[t]) };
  return { story, deleted: L - keep.length };
}
