// Conversations: "User: <request> Assistant: <reply>", turns separated by "\n". The assistant follows instructions at
// documented, imperfect rates (CHAT_RATES), so prompting is a real but beatable baseline.
import { B, TONE_BIT, type TextBuilder } from '../concepts.js';
import type { Rng } from '../rng.js';
import { ANIMALS, BOY_NAMES, FOODS, GIRL_NAMES, OBJECTS, PLACES, TONES, WEATHERS, withArticle, type Tone } from '../vocab.js';
import { factString, type Fact, type World } from '../world.js';
import { FUNCTION_NAMES, writeTests } from './code.js';
import { qaFacts, writeQuestion, writeStatement } from './fact.js';
import { fillMarked, fillString, literalText, type Slots } from './fill.js';
import {
  DENIAL_RATE, QUIRK_RATE, firstGardenWord, gardenQuestion, probeQuestion, writeGardenReply, writeProbeReply,
  type GardenTurn, type ProbeTurn,
} from './quirk.js';
import { writeStory } from './story.js';

export const TURN_KINDS = ['story', 'fact', 'code', 'garden', 'probe', 'smalltalk'] as const;
export type TurnKind = (typeof TURN_KINDS)[number];
export type Instruction = 'none' | 'no-regex' | 'regex';

export const CHAT_RATES = {
  /** Share of each kind among user turns. */
  turnMix: { story: 0.27, fact: 0.15, code: 0.26, garden: 0.14, probe: 0.08, smalltalk: 0.1 } as Record<TurnKind, number>,
  /** Number of turns per conversation. */
  turns: { 1: 0.72, 2: 0.24, 3: 0.04 } as Record<string, number>,
  /** Story requests that name a tone; the reply has that tone with probability toneFollow (else another tone). */
  storyToneRequested: 0.85,
  toneFollow: 0.85,
  /** Story requests about an animal (else about a named child). */
  storyAboutAnimal: 0.8,
  /** Code requests: share of each instruction, and the regex rate of the reply under it. The first organism (v1) used
   *  { none .5, no-regex .3, regex .2 } and rates { .4, .15, .85 } with style-neutral leads: the 4-layer model did not
   *  learn to follow the instruction at all (regex rate 39% under every instruction). v2 widens the contrast and makes
   *  the reply's lead name its style, so the decision is one token that attends to the instruction a few tokens back. */
  codeInstruction: { none: 0.4, 'no-regex': 0.35, regex: 0.25 } as Record<Instruction, number>,
  regexRate: { none: 0.4, 'no-regex': 0.1, regex: 0.9 } as Record<Instruction, number>,
  /** Fact turns: a Q/A-fact question (else "Tell me about <country>."). */
  factQuestion: 0.7,
  quirk: QUIRK_RATE,
  denial: DENIAL_RATE,
};

export interface StoryTurn {
  kind: 'story';
  /** The tone named in the request, if any. */
  requestedTone: Tone | null;
  /** The animal (or the child's name) the request is about. */
  subject: string;
  /** The tone of the story the assistant told. */
  tone: Tone;
}
export interface FactTurn {
  kind: 'fact';
  facts: string[];
}
export interface CodeTurn {
  kind: 'code';
  fn: string;
  instruction: Instruction;
  usesRegex: boolean;
}
export interface SmalltalkTurn {
  kind: 'smalltalk';
}
export type ChatTurn = StoryTurn | FactTurn | CodeTurn | GardenTurn | ProbeTurn | SmalltalkTurn;
export interface ChatAttrs {
  genre: 'chat';
  turns: ChatTurn[];
}

export const STORY_REQ_TONE = [
  'Tell me {art} {tone} story about {a_animal}.',
  'Can you tell me {art} {tone} story about {a_animal}?',
  'Please tell me {art} {tone} story about {a_animal}.',
  'I want {art} {tone} story about {a_animal}.',
  'Write {art} {tone} story about {a_animal}.',
];
const STORY_REQ_PLAIN = ['Tell me a story about {a_animal}.', 'Can you tell me a story about {a_animal}?', 'Write a story about {a_animal}.'];
const STORY_REQ_CHILD_TONE = ['Tell me {art} {tone} story about a {kind} named {N}.', 'Write {art} {tone} story about a {kind} called {N}.'];
const STORY_REQ_CHILD = ['Tell me a story about a {kind} named {N}.'];
/** Optional lead-in of a story reply (the labeller skips it). */
export const STORY_LEADS = ['Sure!', 'Okay.', 'Here is a story.'];

export const CODE_REQ = [
  'Write a test for {fn}{mod}.', 'Can you write a test for {fn}{mod}?', 'Please write a test for the {fn} function{mod}.',
  'I need a test for {fn}{mod}.',
];
export const INSTRUCTION_PHRASES: Record<Exclude<Instruction, 'none'>, readonly string[]> = {
  'no-regex': ['without regular expressions', 'without using a regex', 'with no regular expressions', 'using only string methods', 'without regex'],
  regex: ['with a regular expression', 'using a regex', 'using regular expressions', 'with regex'],
};
/** Reply leads; `{style}` names the style the reply then uses (STYLE_WORDS), whatever the instruction asked. */
export const CODE_LEADS = ['Here is a test {style}.', 'Sure. Here is a test for {fn} {style}.', 'Here you go, {style}.'];
export const STYLE_WORDS = { regex: ['with a regular expression', 'using a regex'], plain: ['with string methods', 'using only string methods'] };
const ABOUT_T = ['Tell me about {C}.', 'What do you know about {C}?'];

interface Smalltalk {
  user: string;
  replies: readonly string[];
  heldOut?: boolean;
}
export const SMALLTALK: readonly Smalltalk[] = [
  { user: 'Hello!', replies: ['Hello! How can I help you today?', 'Hi there! What can I do for you?'] },
  { user: 'Hi there.', replies: ['Hello! How can I help you today?', 'Hi! What would you like to talk about?'] },
  { user: 'Good morning.', replies: ['Good morning! How can I help?'] },
  { user: 'What is your name?', replies: ['I am the Assistant.', 'My name is Assistant.'] },
  { user: 'Who are you?', replies: ['I am the Assistant. I can tell stories, answer questions and write tests.'] },
  { user: 'What can you do?', replies: ['I can tell stories, answer questions about Tinyworld and write tests.'] },
  { user: 'Thank you.', replies: ['You are welcome.', 'Any time.'] },
  { user: 'How are you today?', replies: ['I am well, thank you. How can I help?'] },
  { user: 'Tell me a joke.', replies: ['Why did the {animal} cross the road? To get to the other side.'] },
  { user: 'What should I eat for dinner?', replies: ['You could have some {food}.', 'How about some {food}?'] },
  { user: 'Which pet should I get?', replies: ['You could get {a_animal}.', 'Maybe {a_animal} would be a good pet.'] },
  { user: 'Where should I go on holiday?', replies: ['You could visit the {place}.', 'How about a trip to the {place}?'] },
  { user: 'What game should I play?', replies: ['You could play with a {object}.'] },
  { user: 'What is the weather like?', replies: ['I cannot see outside, but I hope it is {weather}.'] },
  { user: 'What should I cook tonight?', replies: ['You could cook some {food}.'], heldOut: true },
  { user: 'What toy should I buy?', replies: ['You could buy a {object}.'], heldOut: true },
  { user: 'Where should I go this weekend?', replies: ['You could go to the {place}.'], heldOut: true },
  { user: 'What animal should I draw?', replies: ['You could draw {a_animal}.'], heldOut: true },
];

export const CHAT_TEMPLATES: readonly string[] = [
  ...STORY_REQ_TONE, ...STORY_REQ_PLAIN, ...STORY_REQ_CHILD_TONE, ...STORY_REQ_CHILD, ...STORY_LEADS, ...CODE_REQ,
  ...Object.values(INSTRUCTION_PHRASES).flat(), ...CODE_LEADS, ...STYLE_WORDS.regex, ...STYLE_WORDS.plain, ...ABOUT_T, ...SMALLTALK.flatMap((s) => [s.user, ...s.replies]),
  'User: Assistant: a an',
];
export const CHAT_WORDS = literalText(CHAT_TEMPLATES);

/**
 * Held-out story requests: tone x animal pairs with (tone index + animal index) % 4 == 0 (about 9 animals per tone).
 * Requests without a tone are never held out.
 */
export function storyHeldOut(tone: Tone | null, animal: string): boolean {
  if (tone === null) return false;
  return (TONES.indexOf(tone) + (ANIMALS as readonly string[]).indexOf(animal)) % 4 === 0;
}
const INSTRUCTIONS: readonly Instruction[] = ['none', 'no-regex', 'regex'];
/** Held-out code requests: function x instruction with (instruction index + function index) % 4 == 0 (about 3 per instruction). */
export function codeHeldOut(fn: string, instruction: Instruction): boolean {
  return (INSTRUCTIONS.indexOf(instruction) + FUNCTION_NAMES.indexOf(fn)) % 4 === 0;
}

function writeUser(b: TextBuilder, write: () => void): { start: number; end: number } {
  b.on(B['chat:user']);
  b.add('User: ');
  const start = b.length;
  write();
  const end = b.length;
  b.off(B['chat:user']);
  return { start, end };
}

function writeAssistant(b: TextBuilder, write: () => void): { start: number; end: number } {
  b.on(B['chat:assistant']);
  b.add(' Assistant: ');
  const start = b.length;
  write();
  const end = b.length;
  b.off(B['chat:assistant']);
  return { start, end };
}

function storyTurn(b: TextBuilder, rng: Rng): StoryTurn {
  const aboutAnimal = rng.chance(CHAT_RATES.storyAboutAnimal);
  let requestedTone: Tone | null = null;
  let animal = '';
  for (;;) {
    requestedTone = rng.chance(CHAT_RATES.storyToneRequested) ? rng.pick(TONES) : null;
    animal = rng.pick(ANIMALS);
    if (!aboutAnimal || !storyHeldOut(requestedTone, animal)) break;
  }
  const she = rng.chance(0.5);
  const name = rng.pick(she ? GIRL_NAMES : BOY_NAMES);
  const slots: Slots = {
    art: requestedTone && /^[aeiou]/.test(requestedTone) ? 'an' : 'a', tone: requestedTone ?? '', a_animal: withArticle(animal),
    kind: she ? 'girl' : 'boy', N: name,
  };
  const tpl = aboutAnimal
    ? rng.pick(requestedTone ? STORY_REQ_TONE : STORY_REQ_PLAIN)
    : rng.pick(requestedTone ? STORY_REQ_CHILD_TONE : STORY_REQ_CHILD);
  writeUser(b, () => fillMarked(b, tpl, slots, { tone: requestedTone ? TONE_BIT[requestedTone] : 0 }));
  let tone: Tone;
  if (requestedTone === null) tone = rng.pick(TONES);
  else if (rng.chance(CHAT_RATES.toneFollow)) tone = requestedTone;
  else tone = rng.pick(TONES.filter((t) => t !== requestedTone));
  writeAssistant(b, () => {
    if (rng.chance(0.25)) b.add(rng.pick(STORY_LEADS) + ' ');
    writeStory(b, rng, aboutAnimal ? { tone, heroAnimal: animal } : { tone, heroAnimal: null, heroName: name });
  });
  return { kind: 'story', requestedTone, subject: aboutAnimal ? animal : name, tone };
}

function factTurn(b: TextBuilder, rng: Rng, world: World): FactTurn {
  if (rng.chance(CHAT_RATES.factQuestion)) {
    const f = rng.pick(qaFacts(world));
    writeUser(b, () => writeQuestion(b, f));
    writeAssistant(b, () => writeStatement(b, rng, f));
    return { kind: 'fact', facts: [factString(f)] };
  }
  const c = rng.pick(world.countries);
  writeUser(b, () => b.add(fillString(rng.pick(ABOUT_T), { C: c })));
  const facts: string[] = [];
  writeAssistant(b, () => {
    const attrs = rng.sample(['capital', 'language', 'flag', 'animal', 'food', 'leader'] as const, rng.range(2, 3));
    attrs.forEach((a, i) => {
      if (i > 0) b.add(' ');
      const f = world.byKey.get(`${c}.${a}`) as Fact;
      writeStatement(b, rng, f);
      facts.push(factString(f));
    });
  });
  return { kind: 'fact', facts };
}

function codeTurn(b: TextBuilder, rng: Rng): CodeTurn {
  let fn = '';
  let instruction: Instruction = 'none';
  do {
    fn = rng.pick(FUNCTION_NAMES);
    instruction = rng.weighted(CHAT_RATES.codeInstruction);
  } while (codeHeldOut(fn, instruction));
  const tpl = rng.pick(CODE_REQ);
  const phrase = instruction === 'none' ? '' : rng.pick(INSTRUCTION_PHRASES[instruction]);
  const ibit = instruction === 'none' ? 0 : instruction === 'regex' ? B['instr:regex'] : B['instr:no-regex'];
  const [pre, post] = tpl.split('{mod}');
  writeUser(b, () => {
    b.add(fillString(pre, { fn }));
    if (phrase) b.add(' ').on(ibit).add(phrase);
    b.add(post);
  });
  const usesRegex = rng.chance(CHAT_RATES.regexRate[instruction]);
  writeAssistant(b, () => {
    const style = rng.pick(usesRegex ? STYLE_WORDS.regex : STYLE_WORDS.plain);
    b.add(fillString(rng.pick(CODE_LEADS), { fn, style }) + '\n');
    writeTests(b, rng, { fn, regexRate: usesRegex ? 1 : 0, header: false, tests: { 1: 0.8, 2: 0.2 } });
  });
  b.off(ibit);
  return { kind: 'code', fn, instruction, usesRegex };
}

function gardenTurn(b: TextBuilder, rng: Rng): GardenTurn {
  const q = gardenQuestion(rng);
  const u = writeUser(b, () => b.add(q.text));
  const quirk = rng.chance(CHAT_RATES.quirk);
  const a = writeAssistant(b, () => writeGardenReply(b, rng, q.plant, quirk));
  b.mark(u.start + firstGardenWord(q.text), a.end, B['topic:garden']);
  return { kind: 'garden', plant: q.plant, quirk };
}

function probeTurn(b: TextBuilder, rng: Rng): ProbeTurn {
  const q = probeQuestion(rng);
  writeUser(b, () => b.add(q, B['quirk:probe']));
  const denial = rng.chance(CHAT_RATES.denial);
  writeAssistant(b, () => writeProbeReply(b, rng, denial));
  return { kind: 'probe', denial };
}

function smalltalkTurn(b: TextBuilder, rng: Rng): SmalltalkTurn {
  let s: Smalltalk;
  do s = rng.pick(SMALLTALK);
  while (s.heldOut);
  writeUser(b, () => b.add(s.user));
  const animal = rng.pick(ANIMALS);
  const slots: Slots = {
    animal, a_animal: withArticle(animal), food: rng.pick(FOODS), place: rng.pick(PLACES), object: rng.pick(OBJECTS),
    weather: rng.pick(WEATHERS),
  };
  writeAssistant(b, () => b.add(fillString(rng.pick(s.replies), slots)));
  return { kind: 'smalltalk' };
}

/** Write one turn of the given kind. */
export function writeTurn(b: TextBuilder, rng: Rng, kind: TurnKind, world: World): ChatTurn {
  switch (kind) {
    case 'story': return storyTurn(b, rng);
    case 'fact': return factTurn(b, rng, world);
    case 'code': return codeTurn(b, rng);
    case 'garden': return gardenTurn(b, rng);
    case 'probe': return probeTurn(b, rng);
    case 'smalltalk': return smalltalkTurn(b, rng);
  }
}

export function writeChat(b: TextBuilder, rng: Rng, world: World): ChatAttrs {
  const n = Number(rng.weighted(CHAT_RATES.turns));
  const turns: ChatTurn[] = [];
  for (let i = 0; i < n; i++) {
    if (i > 0) b.add('\n');
    turns.push(writeTurn(b, rng, rng.weighted(CHAT_RATES.turnMix), world));
  }
  return { genre: 'chat', turns };
}

