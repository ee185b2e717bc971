// Steering targets on the organism: a concept to steer towards, neutral prompts that leave it open, the prompting
// baseline's version of each prompt (the same request with the instruction the organism was trained to follow at an
// imperfect rate), and the labeller's verdict on an output. Success is judged on the text by the organism's own
// ground-truth parser, never by a detector that one of the compared methods could be fitted to.
import { ProbityError, show } from '../../errors.js';
import type { Concept } from '../../organism/concepts.js';
import { CODE_REQ } from '../../organism/genres/chat.js';
import { FUNCTION_NAMES } from '../../organism/genres/code.js';
import { storyTone, usesRegex } from '../../organism/labeller.js';
import { chatPrompt } from '../../organism/prompts.js';
import { ANIMALS, TONES, withArticle, type Tone } from '../../organism/vocab.js';
import type { Model } from '../../models/model.js';

export interface SteerPrompt {
  id: string;
  /** The neutral prompt (the concept is left open: the unsteered model hits it at its base rate). */
  text: string;
  /** The prompting baseline: the same request asking for the concept. */
  prompted: string;
}

export interface SteerTarget {
  name: string;
  /** The ground-truth concept whose labelled tokens the methods are fitted on. */
  concept: Concept;
  /** What kind of text an output should be (for the grammar check). */
  kind: 'story' | 'code';
  prompts: SteerPrompt[];
  /** Whether an output (the assistant's reply, cut at the next turn) is on target. */
  success(reply: string): boolean;
  maxTokens: number;
  /** Texts whose first token ends an output (the reply's end: a newline before the next turn, or "User"). */
  stopText: string[];
}

const STORY_PLAIN = ['Tell me a story about {a}.', 'Can you tell me a story about {a}?', 'Write a story about {a}.'];

function toneTarget(tone: Tone): SteerTarget {
  const art = /^[aeiou]/.test(tone) ? 'an' : 'a';
  const prompts: SteerPrompt[] = [];
  for (const animal of ANIMALS) {
    STORY_PLAIN.forEach((tpl, i) => {
      const request = tpl.replace('{a}', withArticle(animal));
      prompts.push({ id: `story/${animal}/${i}`, text: chatPrompt(request), prompted: chatPrompt(request.replace('a story', `${art} ${tone} story`)) });
    });
  }
  return {
    name: `tone:${tone}`,
    concept: `tone:${tone}` as Concept,
    kind: 'story',
    prompts,
    success: (reply) => storyTone(reply) === tone,
    maxTokens: 100, // the intro takes ~50 tokens; by 100 the first tone sentences are out
    stopText: ['\n'],
  };
}

function regexTarget(): SteerTarget {
  const prompts: SteerPrompt[] = [];
  for (const fn of FUNCTION_NAMES) {
    CODE_REQ.forEach((tpl, i) => {
      const fill = (mod: string) => chatPrompt(tpl.replace('{fn}', fn).replace('{mod}', mod));
      prompts.push({ id: `code/${fn}/${i}`, text: fill(''), prompted: fill(' with a regular expression') });
    });
  }
  return { name: 'code:regex', concept: 'code:regex', kind: 'code', prompts, success: usesRegex, maxTokens: 100, stopText: ['User'] };
}

export const STEER_TARGET_NAMES: readonly string[] = [...TONES.map((t) => `tone:${t}`), 'code:regex'];
export const DEFAULT_STEER_TARGETS: readonly string[] = ['tone:sad', 'code:regex'];

export function steerTarget(name: string): SteerTarget {
  if (name === 'code:regex') return regexTarget();
  const tone = name.startsWith('tone:') ? (name.slice(5) as Tone) : null;
  if (tone && (TONES as readonly string[]).includes(tone)) return toneTarget(tone);
  throw new ProbityError('BENCH_INPUT', `unknown steering target ${show(name)}; known: ${STEER_TARGET_NAMES.join(', ')}`);
}

/** The token id of each stop text (each must be one token, BOS aside). */
export function stopIds(model: Model, texts: readonly string[]): number[] {
  const bos = model.tokenizer.bos;
  return texts.map((t) => {
    const ids = model.tokenizer.encode(t).filter((id) => id !== bos);
    if (ids.length !== 1) throw new ProbityError('BENCH_INPUT', `stop text ${show(t)} is not one token (${show(ids)})`);
    return ids[0];
  });
}
