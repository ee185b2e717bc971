// Is a text grammatical under TinyWorld's generative grammar? The steering benchmark's fluency metric: a steered
// model's reply counts as fluent when every sentence (prose) or line (code) is one the corpus generator could have
// written, up to the choice of slot fillers. Word salad, repeated words, a word of the wrong class in a slot and
// truncated sentences all fail; everything the generator emits passes (test/organism/grammar.test.ts checks both).
//
// The tables are compiled from the generators' own templates (genres/story.ts, chat.ts, code.ts), so a template
// change moves the grammar with it. Each slot becomes an alternation of exactly the words of its class (longest
// first), and agreement the templates impose inside one sentence or block is kept: pronouns, {kind} and the hero's
// name share one gender; a tone adjective belongs to the tone of its template; a test's description and its call name
// the same function, with arguments of that function's classes. Nothing across sentences is checked (tone
// consistency, who the hero is, whether a check is true of the function's output): those are content, which the
// benchmark's other metrics score. Code lines must also come in the order writeTests emits them (a small state
// machine: header or lead, then blocks of test/const/1-3 checks/close separated by one blank line, at most 3 blocks),
// and two rules catch loops, the commonest way steered outputs degrade, which the generator never produces: a
// sentence identical to the one before it, and a check kind repeated in a block.
//
// Validity is prefix-closed at unit boundaries: a text cut after a complete sentence or line is valid, a text cut
// inside one is not. So an output stopped by a token limit can be judged on its complete units (the steering task
// drops the unfinished last unit), while a model that stops mid-sentence or mid-line fails.
import { ProbityError } from '../errors.js';
import { TextBuilder } from './concepts.js';
import { CODE_LEADS, STORY_LEADS, STYLE_WORDS } from './genres/chat.js';
import { ABSENT_POOL, ARG_POOL, CHECK_KINDS, FUNCTIONS, FUNCTION_NAMES, describeCheck, writeCheck, type CheckKind } from './genres/code.js';
import {
  ENDING_T, FRIEND_T, INTRO_ANIMAL, INTRO_CHILD, NEUTRAL_T, OBJECT_T, SETTING, TONE_ADJ, TONE_T, WEATHER_T,
} from './genres/story.js';
import { detectGenre, sentences } from './labeller.js';
import {
  ANIMALS, BOY_NAMES, COLOURS, GIRL_NAMES, OBJECTS, PET_NAMES_HE, PET_NAMES_SHE, PLACES, TONES, withArticle,
} from './vocab.js';

export interface GrammarCheck {
  valid: boolean;
  /** Sentences (prose) or lines (code) examined. */
  units: number;
  /** How many of them failed. */
  invalid: number;
  /** The first failing unit's text, or null. */
  firstInvalid: string | null;
}

/**
 * kind 'story': a story, or a chat story reply (optionally opening with a STORY_LEADS lead).
 * kind 'code': a code document ("// tests for fn" header) or a chat code reply (a CODE_LEADS lead line); the first
 * line may also be neither, as in a completion of a bare header prompt.
 * kind 'any': code when the labeller sees code (detectGenre), else story. Chat replies are the text after
 * "Assistant:", trimmed; whole chat documents, facts and reports are not covered and come out invalid.
 */
export function checkGrammar(text: string, kind: 'story' | 'code' | 'any' = 'any'): GrammarCheck {
  const t = text.trim();
  const k = kind === 'any' ? (detectGenre(t) === 'code' ? 'code' : 'story') : kind;
  return k === 'code' ? checkCode(t) : checkStory(t);
}

// ---------------------------------------------------------------- template compiler

type SlotWords = Readonly<Record<string, readonly string[]>>;

const SLOT = /\{([A-Za-z_0-9]+)\}/g;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** An alternation of exactly these words, longest first (so "Pippa" is tried before "Pip"). */
function alternation(words: readonly string[]): string {
  const uniq = [...new Set(words)].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  return '(?:' + uniq.map(escapeRe).join('|') + ')';
}

/** Regex source of a template: literal text escaped, each {slot} an alternation of its words. */
function templateSource(tpl: string, slots: SlotWords): string {
  let src = '';
  let last = 0;
  for (const m of tpl.matchAll(SLOT)) {
    const words = slots[m[1]];
    // A slot we have no class for means a generator gained a slot this file does not know: fail loudly at build.
    if (!words || words.length === 0) throw new ProbityError('E_ORGANISM_INTERNAL', `grammar: no word class for slot {${m[1]}} in ${JSON.stringify(tpl)}`);
    src += escapeRe(tpl.slice(last, m.index)) + alternation(words);
    last = (m.index as number) + m[0].length;
  }
  return src + escapeRe(tpl.slice(last));
}

const anchored = (src: string) => new RegExp('^(?:' + src + ')$');

// ---------------------------------------------------------------- stories

interface StoryTables {
  leads: RegExp[];
  body: RegExp[];
}

const SHE = { he: ['she'], He: ['She'], his: ['her'], His: ['Her'], him: ['her'], kind: ['girl'], N: [...GIRL_NAMES, ...PET_NAMES_SHE] };
const HE = { he: ['he'], He: ['He'], his: ['his'], His: ['His'], him: ['him'], kind: ['boy'], N: [...BOY_NAMES, ...PET_NAMES_HE] };
const GENDERED = /\{(?:he|He|his|His|him|kind)\}/;

/** Story slots whose words do not depend on the hero's gender. */
function storySlots(): Record<string, readonly string[]> {
  const names = [...PET_NAMES_SHE, ...PET_NAMES_HE, ...GIRL_NAMES, ...BOY_NAMES];
  const aAnimals = ANIMALS.map(withArticle);
  return {
    N: names, F: names, animal: ANIMALS, fanimal: ANIMALS, a_animal: aAnimals, a_fanimal: aAnimals, place: PLACES,
    object: OBJECTS, colour: COLOURS, a_colour: COLOURS.map(withArticle),
  };
}

/** One regex per gender for a template with pronouns (the generator binds them to the hero), else one. */
function compileStory(tpl: string, adj: readonly string[]): RegExp[] {
  const base = { ...storySlots(), adj };
  if (!GENDERED.test(tpl)) return [anchored(templateSource(tpl, base))];
  return [SHE, HE].map((g) => anchored(templateSource(tpl, { ...base, ...g })));
}

function buildStoryTables(): StoryTables {
  // A tone template may use {adj}: its words are the adjectives of every tone whose pool holds the template.
  const adjOf = new Map<string, Set<string>>();
  const note = (tpl: string, words: readonly string[]) => {
    const s = adjOf.get(tpl) ?? new Set<string>();
    for (const w of words) s.add(w);
    adjOf.set(tpl, s);
  };
  for (const tone of TONES) for (const tpl of TONE_T[tone]) note(tpl, TONE_ADJ[tone]);
  const plain = [
    ...INTRO_ANIMAL, ...INTRO_CHILD, ...SETTING, ...Object.values(WEATHER_T).flat(), ...OBJECT_T, ...FRIEND_T,
    ...TONES.flatMap((t) => ENDING_T[t]), ...NEUTRAL_T,
    'The end.', // writeStory's closing line (a literal there, not in a template list)
  ];
  for (const tpl of plain) note(tpl, []);
  const body: RegExp[] = [];
  for (const [tpl, adj] of adjOf) body.push(...compileStory(tpl, [...adj]));
  return { leads: STORY_LEADS.map((l) => anchored(escapeRe(l))), body };
}

let storyTables: StoryTables | null = null;

function checkStory(text: string): GrammarCheck {
  storyTables ??= buildStoryTables();
  const { leads, body } = storyTables;
  const r = new Tally();
  let prevEnd = -1;
  let prev = '';
  for (const [a, b] of sentences(text)) {
    const s = text.slice(a, b);
    const first = prevEnd < 0;
    // Sentences are joined by exactly one space; anything else (newlines, double spaces) is not the grammar's.
    const gapOk = first || text.slice(prevEnd, a) === ' ';
    const ok = gapOk && s !== prev && (body.some((re) => re.test(s)) || (first && leads.some((re) => re.test(s))));
    r.unit(ok, gapOk ? s : text.slice(prevEnd, b));
    prevEnd = b;
    prev = s;
  }
  return r.result();
}

/** Counts units and remembers the first failure. */
class Tally {
  units = 0;
  invalid = 0;
  first: string | null = null;

  unit(ok: boolean, text: string): void {
    this.units++;
    if (!ok) this.fail(text);
  }

  fail(text: string): void {
    this.invalid++;
    this.first ??= text;
  }

  result(): GrammarCheck {
    return { valid: this.units >= 1 && this.invalid === 0, units: this.units, invalid: this.invalid, firstInvalid: this.first };
  }
}

// ---------------------------------------------------------------- code

type LineKind = 'head' | 'open' | 'const' | 'check' | 'close' | 'blank';

interface FnTables {
  open: RegExp;
  call: RegExp;
  equals: RegExp;
}

interface CodeTables {
  head: RegExp;
  fns: Map<string, FnTables>;
  /** Checks of both styles except equals (whose string depends on the function). */
  checks: { kind: CheckKind; re: RegExp }[];
}

/** The lines writeCheck emits for one kind and style, with {w} and {v} where the words go. */
function checkTemplate(kind: CheckKind, regex: boolean): string {
  const b = new TextBuilder();
  writeCheck(b, { kind, w: '{w}', v: '{v}' }, regex);
  return b.text();
}

function buildCodeTables(): CodeTables {
  // Every string a function can return, and the words of those strings plus the absent pool: the vocabulary of
  // checks. Enumerated from the functions themselves (a few thousand strings), so articles ("an orange") come out right.
  const outputs = new Map<string, string[]>();
  for (const f of FUNCTIONS) {
    let combos: string[][] = [[]];
    for (const k of f.args) combos = combos.flatMap((c) => ARG_POOL[k].map((w) => [...c, w]));
    outputs.set(f.name, combos.map((c) => f.out(c)));
  }
  const words = [...new Set([...[...outputs.values()].flat().flatMap((o) => o.split(' ')), ...ABSENT_POOL])];
  // includesCI only ever picks a lower-case word (a name there would make the check false).
  const lower = words.filter((w) => w === w.toLowerCase());
  const slotsFor = (kind: CheckKind): SlotWords => (kind === 'includesCI' ? { w: lower, v: lower } : { w: words, v: words });

  const checks: CodeTables['checks'] = [];
  for (const kind of CHECK_KINDS) {
    if (kind === 'equals') continue;
    for (const regex of [true, false]) checks.push({ kind, re: anchored(templateSource(checkTemplate(kind, regex), slotsFor(kind))) });
  }

  const fns = new Map<string, FnTables>();
  for (const f of FUNCTIONS) {
    const descs = CHECK_KINDS.map((kind) => templateSource(describeCheck('{fn}', { kind, w: '{w}', v: '{v}' }), { fn: [f.name], ...slotsFor(kind) }));
    descs.push(templateSource('{fn} works for {a0}', { fn: [f.name], a0: ARG_POOL[f.args[0]] })); // writeTests' multi-check name
    const argSlots: Record<string, readonly string[]> = { fn: [f.name] };
    f.args.forEach((k, i) => (argSlots[`a${i}`] = ARG_POOL[k]));
    const call = `  const s = {fn}(${f.args.map((_, i) => `"{a${i}}"`).join(', ')});`;
    fns.set(f.name, {
      open: anchored(escapeRe('test("') + '(?:' + descs.join('|') + ')' + escapeRe('", () => {')),
      call: anchored(templateSource(call, argSlots)),
      equals: anchored(templateSource(checkTemplate('equals', false), { w: outputs.get(f.name) as string[] })),
    });
  }

  const styles = [...STYLE_WORDS.regex, ...STYLE_WORDS.plain];
  const heads = [
    templateSource('// tests for {fn}', { fn: FUNCTION_NAMES }),
    ...CODE_LEADS.map((l) => templateSource(l, { fn: FUNCTION_NAMES, style: styles })),
  ];
  return { head: anchored(heads.join('|')), fns, checks };
}

let codeTables: CodeTables | null = null;

/** What may follow each line kind ('start' = before the first line). */
const NEXT: Record<LineKind | 'start', readonly LineKind[]> = {
  start: ['head', 'open'], head: ['open'], open: ['const'], const: ['check'], check: ['check', 'close'], close: ['blank'], blank: ['open'],
};
const MAX_CHECKS = 3;
const MAX_TESTS = 3;

/** The function a test line names ("test(\"greet ..." / "  const s = greet("), if it is one we know. */
function fnOf(line: string, tables: CodeTables): FnTables | null {
  const m = /^(?:test\("|  const s = )([A-Za-z]+)/.exec(line);
  return (m && tables.fns.get(m[1])) || null;
}

/** Line kind by shape alone, plus the check kind; null when the line is no line of the grammar. */
function classify(line: string, tables: CodeTables, blockFn: FnTables | null): { kind: LineKind; check?: CheckKind; fn?: FnTables } | null {
  if (line === '') return { kind: 'blank' };
  if (line === '});') return { kind: 'close' };
  if (tables.head.test(line)) return { kind: 'head' };
  const f = fnOf(line, tables);
  if (f && f.open.test(line)) return { kind: 'open', fn: f };
  if (f && f.call.test(line)) return { kind: 'const', fn: f };
  for (const c of tables.checks) if (c.re.test(line)) return { kind: 'check', check: c.kind };
  // equals names the output of the block's function; outside a known block, of any function.
  const cands = blockFn ? [blockFn] : [...tables.fns.values()];
  if (cands.some((x) => x.equals.test(line))) return { kind: 'check', check: 'equals' };
  return null;
}

function checkCode(text: string): GrammarCheck {
  codeTables ??= buildCodeTables();
  const tables = codeTables;
  const r = new Tally();
  if (text === '') return r.result();
  const lines = text.split('\n');
  let state: LineKind | 'start' = 'start';
  let blockFn: FnTables | null = null;
  let kinds: CheckKind[] = [];
  let tests = 0;
  for (const line of lines) {
    const c = classify(line, tables, blockFn);
    // An unknown line is taken as the line that was due, so one garbled line costs one unit, not a cascade.
    const kind: LineKind = c?.kind ?? NEXT[state][0];
    let ok = c !== null && NEXT[state].includes(kind);
    if (kind === 'open') {
      blockFn = c?.fn ?? null;
      kinds = [];
      ok &&= ++tests <= MAX_TESTS;
    } else if (kind === 'const' && c?.fn) {
      ok &&= blockFn === null || c.fn === blockFn; // the description and the call name the same function
      blockFn ??= c.fn;
    } else if (kind === 'check' && c?.check) {
      ok &&= !kinds.includes(c.check) && kinds.length < MAX_CHECKS;
      kinds.push(c.check);
    }
    r.unit(ok, line);
    state = kind;
  }
  // No rule at the end: like a story cut after a full stop, code cut after a full line (an open block) is valid.
  return r.result();
}
