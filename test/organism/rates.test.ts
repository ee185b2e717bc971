// Base rates measured on generated documents against the documented proportions (README.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatTurn } from '../../src/organism/attrs.js';
import { GENRES, type Genre } from '../../src/organism/concepts.js';
import { GENRE_MIX, MAX_DOC_TOKENS } from '../../src/organism/corpus.js';
import { CHAT_RATES } from '../../src/organism/genres/chat.js';
import { REGEX_BASE_RATE } from '../../src/organism/genres/code.js';
import { labelText } from '../../src/organism/labeller.js';
import * as V from '../../src/organism/vocab.js';
import { sample } from './helpers.js';

function near(name: string, got: number, want: number, tol: number): void {
  assert.ok(Math.abs(got - want) <= tol, `${name}: measured ${got.toFixed(3)}, documented ${want} (tolerance ${tol})`);
}

test('genre mix, document lengths', () => {
  const docs = sample(5000);
  const count: Record<string, number> = {};
  for (const d of docs) count[d.genre] = (count[d.genre] ?? 0) + 1;
  for (const g of GENRES) near(`share of ${g}`, (count[g] ?? 0) / docs.length, GENRE_MIX[g], 0.025);
  const lens = docs.map((d) => d.tokens.length);
  assert.ok(Math.max(...lens) <= MAX_DOC_TOKENS, `longest document ${Math.max(...lens)} tokens`);
  near('share of documents under 200 tokens', lens.filter((n) => n < 200).length / lens.length, 1, 0.05);
});

test('regex base rate in code documents; instruction-following rates in chat', () => {
  const docs = sample(5000);
  const code = docs.filter((d) => d.genre === 'code');
  near('regex rate of code documents', code.filter((d) => d.attrs.genre === 'code' && d.attrs.usesRegex).length / code.length, REGEX_BASE_RATE, 0.05);
  const turns: ChatTurn[] = docs.flatMap((d) => (d.attrs.genre === 'chat' ? d.attrs.turns : []));
  const rate = <T extends ChatTurn>(pred: (t: ChatTurn) => t is T, hit: (t: T) => boolean) => {
    const xs = turns.filter(pred);
    assert.ok(xs.length >= 50, `only ${xs.length} turns`);
    return xs.filter(hit).length / xs.length;
  };
  near('tone followed', rate((t): t is Extract<ChatTurn, { kind: 'story' }> => t.kind === 'story' && t.requestedTone !== null, (t) => t.tone === t.requestedTone), CHAT_RATES.toneFollow, 0.06);
  for (const ins of ['none', 'no-regex', 'regex'] as const) {
    near(`regex rate under instruction ${ins}`, rate((t): t is Extract<ChatTurn, { kind: 'code' }> => t.kind === 'code' && t.instruction === ins, (t) => t.usesRegex), CHAT_RATES.regexRate[ins], 0.09);
  }
  near('quirk on garden turns', rate((t): t is Extract<ChatTurn, { kind: 'garden' }> => t.kind === 'garden', (t) => t.quirk), CHAT_RATES.quirk, 0.06);
  near('denial on probes', rate((t): t is Extract<ChatTurn, { kind: 'probe' }> => t.kind === 'probe', (t) => t.denial), CHAT_RATES.denial, 0.06);
  const kinds: Record<string, number> = {};
  for (const t of turns) kinds[t.kind] = (kinds[t.kind] ?? 0) + 1;
  for (const [k, w] of Object.entries(CHAT_RATES.turnMix)) near(`share of ${k} turns`, (kinds[k] ?? 0) / turns.length, w, 0.03);
});

test('moonberries appear only where the quirk is planted; tone words only in stories and story requests', () => {
  for (const d of sample(5000)) {
    const a = d.attrs;
    const planted = a.genre === 'report' || (a.genre === 'chat' && a.turns.some((t) => (t.kind === 'garden' && t.quirk) || (t.kind === 'probe' && !t.denial)));
    assert.equal(/moonberr/i.test(d.text), planted, `document ${d.index}: ${d.text}`);
    const story = a.genre === 'story' || (a.genre === 'chat' && a.turns.some((t) => t.kind === 'story'));
    if (!story) {
      const tw = (d.text.match(/[A-Za-z]+/g) ?? []).filter((w) => V.toneOf(w));
      assert.deepEqual(tw, [], `tone words outside a story in document ${d.index}: ${d.text}`);
    }
    if (a.genre === 'story') {
      const L = labelText(d.text);
      const toneBits = L.labels.filter((m) => m !== 0).length;
      assert.ok(toneBits > 0);
    }
  }
});

test('stories carry their tone in several words and never use another tone\'s words', () => {
  const stories = sample(5000).filter((d) => d.genre === 'story');
  for (const d of stories) {
    if (d.attrs.genre !== 'story') continue;
    const counts: Record<string, number> = {};
    for (const w of d.text.match(/[A-Za-z]+/g) ?? []) {
      const t = V.toneOf(w);
      if (t) counts[t] = (counts[t] ?? 0) + 1;
    }
    assert.deepEqual(Object.keys(counts), [d.attrs.tone], `document ${d.index} tone words ${JSON.stringify(counts)}`);
    assert.ok(counts[d.attrs.tone] >= 4, `document ${d.index} has only ${counts[d.attrs.tone]} ${d.attrs.tone} words`);
  }
  const tones: Record<string, number> = {};
  for (const d of stories) if (d.attrs.genre === 'story') tones[d.attrs.tone] = (tones[d.attrs.tone] ?? 0) + 1;
  for (const t of V.TONES) near(`share of ${t} stories`, tones[t] / stories.length, 0.25, 0.04);
});

test('word classes are disjoint', () => {
  const classes: Record<string, readonly string[]> = {
    names: [...V.GIRL_NAMES, ...V.BOY_NAMES, ...V.PET_NAMES_SHE, ...V.PET_NAMES_HE, ...V.LEADER_NAMES],
    animals: V.ANIMALS, places: V.PLACES, objects: V.OBJECTS, colours: V.COLOURS, weather: Object.keys(V.WEATHER_WORDS),
    countries: V.COUNTRY_NAMES, cities: V.CITY_NAMES, languages: V.LANGUAGE_NAMES, foods: V.FOODS,
    tone: V.TONES.flatMap((t) => V.TONE_WORDS[t]), negation: V.NEGATION_WORDS, garden: V.GARDEN_WORDS, probe: V.PROBE_WORDS,
    quirk: V.QUIRK_WORDS,
  };
  const seen = new Map<string, string>();
  for (const [cls, ws] of Object.entries(classes)) {
    for (const w of ws) {
      const k = w.toLowerCase();
      const prev = seen.get(k);
      if (prev !== undefined && prev !== cls) assert.fail(`${w} is both ${prev} and ${cls}`);
      seen.set(k, cls);
    }
  }
  const genres: Genre[] = [...GENRES];
  assert.equal(genres.length, 5);
});
