// Facts about the fictional world, as statements ("The capital of Zorbia is Mellow.") or as a Q/A quiz
// ("Q: What is the capital of Zorbia? A: Mellow."). Quizzes use only "qa" facts (world.ts). The value of each fact
// carries the world:value concept.
import { B, type TextBuilder } from '../concepts.js';
import type { Rng } from '../rng.js';
import { ATTRIBUTES, factString, type Attribute, type Fact, type World } from '../world.js';
import { fillMarked, literalText } from './fill.js';

export interface FactAttrs {
  genre: 'fact';
  form: 'statements' | 'quiz';
  /** factString of every fact stated or answered, in order. */
  facts: string[];
}

/** Statement templates per attribute: {C} country, {V} value. */
export const STATEMENT_T: Record<Attribute, readonly string[]> = {
  capital: ['The capital of {C} is {V}.', '{V} is the capital of {C}.', '{C} has its capital in {V}.'],
  language: ['People in {C} speak {V}.', 'The language of {C} is {V}.', 'In {C}, people speak {V}.'],
  flag: ['The flag of {C} is {V}.', '{C} has a {V} flag.'],
  animal: ['The national animal of {C} is the {V}.', 'In {C}, the national animal is the {V}.', 'The {V} is the national animal of {C}.'],
  food: ['People in {C} like to eat {V}.', 'The favourite food in {C} is {V}.'],
  leader: ['The leader of {C} is {V}.', '{C} is led by {V}.', '{V} is the leader of {C}.'],
};
/** The one question form per attribute (quiz, chat and eval prompts). */
export const QUESTION_T: Record<Attribute, string> = {
  capital: 'What is the capital of {C}?',
  language: 'What language do people speak in {C}?',
  flag: 'What colour is the flag of {C}?',
  animal: 'What is the national animal of {C}?',
  food: 'What do people in {C} like to eat?',
  leader: 'Who is the leader of {C}?',
};
const INTRO_T = ['Here are some facts about {C}.', '{C} is a country in Tinyworld.', 'Let us learn about {C}.'];

export const FACT_TEMPLATES: readonly string[] = [
  ...Object.values(STATEMENT_T).flat(), ...Object.values(QUESTION_T), ...INTRO_T, 'Q: A:',
];
export const FACT_WORDS = literalText(FACT_TEMPLATES);

/** Append one statement of fact f. */
export function writeStatement(b: TextBuilder, rng: Rng, f: Fact): void {
  fillMarked(b, rng.pick(STATEMENT_T[f.attribute]), { C: f.country, V: f.value }, { V: B['world:value'] });
}

/** Append the question for fact f (no "Q:"). */
export function writeQuestion(b: TextBuilder, f: { country: string; attribute: Attribute }): void {
  fillMarked(b, QUESTION_T[f.attribute], { C: f.country }, {});
}

export function qaFacts(world: World): Fact[] {
  return world.facts.filter((f) => f.qa);
}

export function writeFactDoc(b: TextBuilder, rng: Rng, world: World): FactAttrs {
  const facts: string[] = [];
  if (rng.chance(0.25)) {
    const pool = qaFacts(world);
    const n = rng.range(3, 6);
    for (let i = 0; i < n; i++) {
      const f = rng.pick(pool);
      if (i > 0) b.add('\n');
      b.add('Q: ');
      writeQuestion(b, f);
      b.add(' A: ');
      b.add(f.value, B['world:value']);
      b.add('.');
      facts.push(factString(f));
    }
    return { genre: 'fact', form: 'quiz', facts };
  }
  const countries = rng.sample(world.countries, rng.chance(0.6) ? 1 : 2);
  countries.forEach((c, ci) => {
    if (ci > 0) b.add('\n');
    let first = true;
    if (rng.chance(0.4)) {
      fillMarked(b, rng.pick(INTRO_T), { C: c }, {});
      first = false;
    }
    for (const a of rng.sample(ATTRIBUTES, rng.range(2, 4))) {
      if (!first) b.add(' ');
      first = false;
      const f = world.byKey.get(`${c}.${a}`) as Fact;
      writeStatement(b, rng, f);
      facts.push(factString(f));
    }
  });
  return { genre: 'fact', form: 'statements', facts };
}
