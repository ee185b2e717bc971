// The fictional world of the fact genre: 32 countries, each with six attributes. Which name plays which role is drawn
// from the world seed; the word pools are fixed (vocab.ts), so the vocabulary does not depend on the seed.
// Half of the facts (drawn by the world seed) also appear in question/answer form in the corpus ("qa" facts); all
// facts appear as statements. Eval prompts ask every fact in Q/A form, so the other half tests generalisation from
// statements to questions.
import { Rng, checkSeed } from './rng.js';
import { ANIMALS, CITY_NAMES, COLOURS, COUNTRY_NAMES, FOODS, LANGUAGE_NAMES, LEADER_NAMES } from './vocab.js';

export const ATTRIBUTES = ['capital', 'language', 'flag', 'animal', 'food', 'leader'] as const;
export type Attribute = (typeof ATTRIBUTES)[number];

export interface Fact {
  country: string;
  attribute: Attribute;
  value: string;
  /** Whether this fact also appears in Q/A form in the training corpus. */
  qa: boolean;
}

export interface World {
  seed: number;
  countries: string[];
  table: Record<string, Record<Attribute, string>>;
  facts: Fact[];
  /** "Country.attribute" -> fact */
  byKey: Map<string, Fact>;
}

export const DEFAULT_WORLD_SEED = 1;

export function factKey(country: string, attribute: Attribute): string {
  return `${country}.${attribute}`;
}

/** "Zorbia.capital=Mellow" */
export function factString(f: { country: string; attribute: Attribute; value: string }): string {
  return `${f.country}.${f.attribute}=${f.value}`;
}

const cache = new Map<number, World>();

export function makeWorld(seed = DEFAULT_WORLD_SEED): World {
  checkSeed(seed, 'world seed');
  const hit = cache.get(seed);
  if (hit) return hit;
  const rng = Rng.forItem(seed, 0, 'world');
  const countries = rng.shuffled(COUNTRY_NAMES);
  const capitals = rng.shuffled(CITY_NAMES);
  const leaders = rng.shuffled(LEADER_NAMES);
  const table: World['table'] = {};
  const facts: Fact[] = [];
  const byKey = new Map<string, Fact>();
  countries.forEach((c, i) => {
    const row: Record<Attribute, string> = {
      capital: capitals[i],
      language: rng.pick(LANGUAGE_NAMES),
      flag: rng.pick(COLOURS),
      animal: rng.pick(ANIMALS),
      food: rng.pick(FOODS),
      leader: leaders[i],
    };
    table[c] = row;
    for (const a of ATTRIBUTES) {
      const f: Fact = { country: c, attribute: a, value: row[a], qa: rng.chance(0.5) };
      facts.push(f);
      byKey.set(factKey(c, a), f);
    }
  });
  const w: World = { seed, countries, table, facts, byKey };
  cache.set(seed, w);
  return w;
}
