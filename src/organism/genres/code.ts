// Short test files in a small JavaScript-like test language. Every check can be written with a regular expression
// (`expect(s).toMatch(/^hello/);`) or with string methods (`expect(s.startsWith("hello")).toBe(true);`). A file picks
// one style for all its checks: regex with probability REGEX_BASE_RATE. The functions under test return short
// strings built from vocabulary words, and every check is true of that string.
import { B, type TextBuilder } from '../concepts.js';
import type { Rng } from '../rng.js';
import { ANIMALS, BOY_NAMES, COLOURS, GIRL_NAMES, OBJECTS, PLACES, WEATHERS, withArticle } from '../vocab.js';

export const REGEX_BASE_RATE = 0.4;

export const CHECK_KINDS = ['startsWith', 'endsWith', 'includes', 'notIncludes', 'either', 'startEnd', 'includesCI', 'equals'] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

export interface CodeAttrs {
  genre: 'code';
  fn: string;
  usesRegex: boolean;
  /** Every check in order. */
  checks: CheckKind[];
}

export type ArgKind = 'name' | 'animal' | 'colour' | 'object' | 'place' | 'weather';
interface Fn {
  name: string;
  args: ArgKind[];
  out: (a: string[]) => string;
}

export const FUNCTIONS: readonly Fn[] = [
  { name: 'greet', args: ['name'], out: ([a]) => `hello ${a}` },
  { name: 'farewell', args: ['name'], out: ([a]) => `goodbye ${a}` },
  { name: 'thank', args: ['name'], out: ([a]) => `thank you ${a}` },
  { name: 'welcome', args: ['name'], out: ([a]) => `welcome home ${a}` },
  { name: 'invite', args: ['name'], out: ([a]) => `come and play ${a}` },
  { name: 'introduce', args: ['name'], out: ([a]) => `my name is ${a}` },
  { name: 'caption', args: ['animal', 'colour'], out: ([a, c]) => `${withArticle(c)} ${a}` },
  { name: 'label', args: ['object', 'colour'], out: ([o, c]) => `the ${o} is ${c}` },
  { name: 'forecast', args: ['place', 'weather'], out: ([p, w]) => `it is ${w} at the ${p}` },
  { name: 'owner', args: ['name', 'animal'], out: ([n, a]) => `${n} has ${withArticle(a)}` },
  { name: 'pair', args: ['name', 'name'], out: ([a, b]) => `${a} and ${b}` },
];
export const FUNCTION_NAMES: readonly string[] = FUNCTIONS.map((f) => f.name);

const NAMES: readonly string[] = [...GIRL_NAMES, ...BOY_NAMES];
export const ARG_POOL: Record<ArgKind, readonly string[]> = {
  name: NAMES, animal: ANIMALS, colour: COLOURS, object: OBJECTS, place: PLACES, weather: WEATHERS,
};
/** Words a check may say are absent. */
export const ABSENT_POOL: readonly string[] = ['bye', 'hi', 'sorry', 'please', ...COLOURS.slice(0, 6), ...ANIMALS.slice(0, 6)];

export const CODE_WORDS = [
  '// tests for test => { const s = expect toMatch not toBe true false startsWith endsWith includes toLowerCase',
  'starts with ends contains contain does or and in any case returns the right text works for',
  ...FUNCTIONS.map((f) => `${f.name} ${f.out(f.args.map(() => 'x'))}`),
  ABSENT_POOL.join(' '),
].join('\n');

export interface Check {
  kind: CheckKind;
  w: string;
  v: string;
}

export function describeCheck(fn: string, c: Check): string {
  switch (c.kind) {
    case 'startsWith': return `${fn} starts with ${c.w}`;
    case 'endsWith': return `${fn} ends with ${c.w}`;
    case 'includes': return `${fn} contains ${c.w}`;
    case 'notIncludes': return `${fn} does not contain ${c.w}`;
    case 'either': return `${fn} contains ${c.w} or ${c.v}`;
    case 'startEnd': return `${fn} starts with ${c.w} and ends with ${c.v}`;
    case 'includesCI': return `${fn} contains ${c.w} in any case`;
    case 'equals': return `${fn} returns the right text`;
  }
}

function makeCheck(rng: Rng, kind: CheckKind, out: string): Check {
  const ws = out.split(' ');
  const absent = () => {
    let x = rng.pick(ABSENT_POOL);
    while (ws.includes(x)) x = rng.pick(ABSENT_POOL);
    return x;
  };
  switch (kind) {
    case 'startsWith': return { kind, w: ws[0], v: '' };
    case 'endsWith': return { kind, w: ws[ws.length - 1], v: '' };
    case 'includes': return { kind, w: rng.pick(ws), v: '' };
    case 'notIncludes': return { kind, w: absent(), v: '' };
    case 'either': {
      const a = rng.pick(ws);
      const b = absent();
      return rng.chance(0.5) ? { kind, w: a, v: b } : { kind, w: b, v: a };
    }
    case 'startEnd': return { kind, w: ws[0], v: ws[ws.length - 1] };
    case 'includesCI': return { kind, w: rng.pick(ws.filter((x) => x === x.toLowerCase())), v: '' };
    case 'equals': return { kind, w: out, v: '' };
  }
}

const S = B['code:string'];
const R = B['code:regex'];
const M = B['code:method'];

function str(b: TextBuilder, s: string): void {
  b.add(`"${s}"`, S);
}
function re(b: TextBuilder, body: string): void {
  b.add(`/${body}`, R);
}
function method(b: TextBuilder, name: string, arg: string | null): void {
  b.on(M);
  b.add(`.${name}(`);
  if (arg !== null) str(b, arg);
  b.add(')');
  b.off(M);
}

export function writeCheck(b: TextBuilder, c: Check, regex: boolean): void {
  b.add('  expect(');
  if (c.kind === 'equals') {
    b.add('s).toBe(');
    str(b, c.w);
    b.add(');');
    return;
  }
  if (regex) {
    const body: Record<Exclude<CheckKind, 'equals'>, string> = {
      startsWith: `^${c.w}/`, endsWith: `${c.w}$/`, includes: `${c.w}/`, notIncludes: `${c.w}/`,
      either: `${c.w}|${c.v}/`, startEnd: `^${c.w}.*${c.v}$/`, includesCI: `${c.w}/i`,
    };
    b.add(c.kind === 'notIncludes' ? 's).not.toMatch(' : 's).toMatch(');
    re(b, body[c.kind]);
    b.add(');');
    return;
  }
  b.add('s');
  let expected = 'true';
  switch (c.kind) {
    case 'startsWith': method(b, 'startsWith', c.w); break;
    case 'endsWith': method(b, 'endsWith', c.w); break;
    case 'includes': method(b, 'includes', c.w); break;
    case 'notIncludes': method(b, 'includes', c.w); expected = 'false'; break;
    case 'either': method(b, 'includes', c.w); b.add(' || s'); method(b, 'includes', c.v); break;
    case 'startEnd': method(b, 'startsWith', c.w); b.add(' && s'); method(b, 'endsWith', c.v); break;
    case 'includesCI': method(b, 'toLowerCase', null); method(b, 'includes', c.w); break;
  }
  b.add(`).toBe(${expected});`);
}

const KIND_WEIGHTS: Record<CheckKind, number> = {
  startsWith: 0.2, endsWith: 0.17, includes: 0.2, notIncludes: 0.12, either: 0.09, startEnd: 0.08, includesCI: 0.06, equals: 0.08,
};

export interface CodeSpec {
  fn?: string;
  /** Probability that the file uses regular expressions (default REGEX_BASE_RATE). */
  regexRate?: number;
  /** Begin with the "// tests for fn" header line (code documents do; chat replies do not). */
  header?: boolean;
  /** Weights of the number of test blocks (default 1: 0.5, 2: 0.4, 3: 0.1). */
  tests?: Record<string, number>;
}

/** Append 1-3 test blocks (and optionally the header) and return the attributes. */
export function writeTests(b: TextBuilder, rng: Rng, spec: CodeSpec = {}): CodeAttrs {
  const fn = spec.fn ? (FUNCTIONS.find((f) => f.name === spec.fn) as Fn) : rng.pick(FUNCTIONS);
  const regex = rng.chance(spec.regexRate ?? REGEX_BASE_RATE);
  const checks: CheckKind[] = [];
  if (spec.header !== false) b.add(`// tests for ${fn.name}\n`);
  const nTests = rng.weighted(spec.tests ?? { 1: 0.5, 2: 0.4, 3: 0.1 });
  for (let t = 0; t < Number(nTests); t++) {
    if (t > 0) b.add('\n\n');
    const args = fn.args.map((k) => rng.pick(ARG_POOL[k]));
    if (fn.name === 'pair') while (args[1] === args[0]) args[1] = rng.pick(NAMES);
    const out = fn.out(args);
    const n = Number(rng.weighted({ 1: 0.65, 2: 0.28, 3: 0.07 } as Record<string, number>));
    const kinds: CheckKind[] = [];
    while (kinds.length < n) {
      const k = rng.weighted(KIND_WEIGHTS);
      if (kinds.includes(k)) continue;
      if (k === 'equals' && checks.length === 0 && kinds.length === 0) continue; // the first check shows the style
      kinds.push(k);
    }
    const cs = kinds.map((k) => makeCheck(rng, k, out));
    const desc = cs.length === 1 ? describeCheck(fn.name, cs[0]) : `${fn.name} works for ${args[0]}`;
    b.add('test(');
    str(b, desc);
    b.add(', () => {\n  const s = ' + fn.name + '(');
    args.forEach((a, i) => {
      if (i > 0) b.add(', ');
      str(b, a);
    });
    b.add(');');
    for (const c of cs) {
      b.add('\n');
      writeCheck(b, c, regex);
      checks.push(c.kind);
    }
    b.add('\n});');
  }
  return { genre: 'code', fn: fn.name, usesRegex: regex, checks };
}
