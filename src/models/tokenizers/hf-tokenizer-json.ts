// Hugging Face tokenizer.json files, encoded and decoded by the @huggingface/tokenizers library and wrapped behind our
// Tokenizer interface. We check the fields we rely on first, so a bad file fails with a ProbityError naming the file
// and field rather than a TypeError from inside the library. Supported: BPE models, i.e. GPT-2-style byte-level BPE
// and Llama-style BPE with byte fallback.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ProbityError, show } from '../../errors.js';
import { byteToUnicode } from './bpe.js';
import { bosPrefix, checkId, EMPTY, parseByteToken, utf8 } from './bytes.js';
import type { Tokenizer } from './types.js';

type Json = Record<string, unknown>;
type AddedToken = { id: number; content: string; special?: boolean };

const BOS_NAMES = ['<s>', '<|begin_of_text|>', '<bos>', '<|endoftext|>'];
const EOS_NAMES = ['</s>', '<|end_of_text|>', '<eos>', '<|endoftext|>'];

export interface HfTokenizerOptions {
  /** tokenizer_config.json contents (bos_token, eos_token, add_bos_token). loadHfTokenizer reads the sibling file. */
  config?: Json;
  /** Override the BOS / EOS token by its text, e.g. "<|endoftext|>" for GPT-2. */
  bos?: string;
  eos?: string;
  /** Names the file in error messages. */
  source?: string;
}

/** Reads `path` (a tokenizer.json) and, when present, the tokenizer_config.json beside it. */
export function loadHfTokenizer(path: string, opts: { bos?: string; eos?: string } = {}): Tokenizer {
  const json = readJson(path);
  const configPath = join(dirname(path), 'tokenizer_config.json');
  const config = existsSync(configPath) ? readJson(configPath) : {};
  if (!isObject(config)) throw new ProbityError('TOKENIZER_BAD_JSON', `${configPath}: expected a JSON object`);
  return hfTokenizerFromJson(json, { ...opts, config, source: path });
}

export function hfTokenizerFromJson(json: unknown, opts: HfTokenizerOptions = {}): Tokenizer {
  const source = opts.source ?? 'tokenizer.json';
  const config = opts.config ?? {};
  const model = checkFields(json, source);
  const root = json as Json;
  const added = (root.added_tokens ?? []) as AddedToken[];

  let lib: HfTokenizer;
  try {
    // The library wants every component key present (null = none). clean_up_tokenization_spaces would turn " ." into
    // "." and break decode(encode(s)) === s, so it is always off.
    lib = new HfTokenizer(
      { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...root, added_tokens: added },
      { ...config, clean_up_tokenization_spaces: false },
    );
  } catch (e) {
    throw new ProbityError(
      'TOKENIZER_UNSUPPORTED_COMPONENT',
      `${source}: @huggingface/tokenizers cannot build this tokenizer: ${(e as Error).message}`,
    );
  }

  const specials = new Map(added.filter((t) => t.special).map((t) => [t.content, t.id]));
  const resolve = (name: string, what: string): number => {
    const id = lib.token_to_id(name);
    if (id !== undefined) return id;
    throw new ProbityError('TOKENIZER_BAD_FIELD', `${source}: ${what} ${show(name)} is not in the vocabulary`);
  };
  const byName = (names: string[]) => names.map((n) => specials.get(n)).find((id) => id !== undefined) ?? null;
  // What the post-processor adds around an empty text tells us whether (and which) BOS the model expects.
  let probe: number[] = [];
  try {
    probe = lib.encode('', { add_special_tokens: true }).ids;
  } catch {
    // no usable template: fall back to names
  }
  const bosName = opts.bos ?? tokenName(config.bos_token);
  const eosName = opts.eos ?? tokenName(config.eos_token);
  const templateBos = probe.length > 0 && [...specials.values()].includes(probe[0]) ? probe[0] : null;
  const bos = bosName !== null ? resolve(bosName, 'BOS token') : (templateBos ?? byName(BOS_NAMES));
  const eos = eosName !== null ? resolve(eosName, 'EOS token') : byName(EOS_NAMES);
  const addBos = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : bos !== null && probe[0] === bos;

  const ids = [...Object.values(model.vocab as Json), ...added.map((t) => t.id)] as number[];
  const vocabSize = ids.reduce((a, b) => Math.max(a, b), -1) + 1;
  return new HfJsonTokenizer(lib, vocabSize, bos, eos, addBos, tokenBytesFn(lib, root, model, added));
}

class HfJsonTokenizer implements Tokenizer {
  constructor(
    private readonly lib: HfTokenizer,
    readonly vocabSize: number,
    readonly bos: number | null,
    readonly eos: number | null,
    readonly addBos: boolean,
    private readonly bytes: { of(id: number): Uint8Array; stripAfterBos: boolean },
  ) {}

  encode(text: string, opts: { bos?: boolean } = {}): number[] {
    const ids = this.lib.encode(text, { add_special_tokens: false }).ids;
    return [...bosPrefix(this.bos, opts.bos ?? this.addBos), ...ids];
  }

  decode(ids: readonly number[]): string {
    for (const id of ids) checkId(id, this.vocabSize);
    if (ids.length === 0) return ''; // the library refuses empty input
    return this.lib.decode([...ids], { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  decodeToken(id: number, prev: number | null): Uint8Array {
    checkId(id, this.vocabSize);
    const b = this.bytes.of(id);
    if (this.bytes.stripAfterBos && prev !== null && prev === this.bos && b[0] === 0x20) return b.subarray(1);
    return b;
  }

  tokenText(id: number): string {
    checkId(id, this.vocabSize);
    const t = this.lib.id_to_token(id);
    if (t === undefined) throw new ProbityError('TOKENIZER_BAD_ID', `token id ${id} is a hole in the vocabulary`);
    return t;
  }
}

/** Per-token bytes for streaming, which the library cannot give (it decodes whole sequences to strings, so half a
 *  character comes out as U+FFFD). Mirrors the decoder in the file: byte-level characters -> bytes, or
 *  "▁" -> space with <0xXX> byte fallback. */
function tokenBytesFn(lib: HfTokenizer, root: Json, model: Json, added: AddedToken[]) {
  const decoder = root.decoder;
  const byteLevel = find(decoder, (n) => n.type === 'ByteLevel');
  const replacesMeta = (n: Json) => n.type === 'Replace' && isObject(n.pattern) && n.pattern.String === '\u2581';
  const metaspace = find(decoder, (n) => n.type === 'Metaspace' || replacesMeta(n));
  const byteFallback = model.byte_fallback === true || find(decoder, (n) => n.type === 'ByteFallback');
  // The decoder strips the dummy-prefix space at the start of a text; streaming does the same right after BOS.
  const stripAfterBos = find(decoder, (n) =>
    (n.type === 'Strip' && typeof n.start === 'number' && n.start > 0) ||
    (n.type === 'Metaspace' && n.add_prefix_space !== false && n.prepend_scheme !== 'never'),
  );
  const addedById = new Map(added.map((t) => [t.id, t]));
  const charByte = new Map(byteToUnicode().map((c, b) => [c, b]));
  return {
    stripAfterBos,
    of(id: number): Uint8Array {
      const a = addedById.get(id);
      if (a) return a.special ? EMPTY : utf8(a.content); // added tokens are stored as raw text
      const piece = lib.id_to_token(id);
      if (piece === undefined) return EMPTY;
      if (byteLevel) return Uint8Array.from([...piece].flatMap((c) => charByte.get(c) ?? [...utf8(c)]));
      const byte = byteFallback ? parseByteToken(piece) : null;
      if (byte !== null) return Uint8Array.of(byte);
      if (metaspace) return utf8(piece.replaceAll('\u2581', ' '));
      return utf8(lib.decode([id], { skip_special_tokens: true, clean_up_tokenization_spaces: false }));
    },
  };
}

/** Checks the fields we and the library rely on; returns `model`. */
function checkFields(json: unknown, source: string): Json {
  if (!isObject(json)) throw new ProbityError('TOKENIZER_BAD_JSON', `${source}: expected a JSON object at the top level`);
  const model = json.model;
  if (!isObject(model)) throw missing(source, 'model', model, 'an object');
  // Files from older versions of the tokenizers crate may omit model.type; merges then mean BPE.
  const type = model.type ?? ('merges' in model ? 'BPE' : undefined);
  if (type !== 'BPE') {
    throw new ProbityError(
      'TOKENIZER_UNSUPPORTED_MODEL',
      `${source}: model.type is ${show(model.type)}; probity supports "BPE" (GPT-2 byte-level or Llama-style byte fallback)`,
    );
  }
  if (!isObject(model.vocab) || !Object.values(model.vocab).every((id) => Number.isInteger(id))) {
    throw missing(source, 'model.vocab', model.vocab, 'an object mapping tokens to integer ids');
  }
  if (!Array.isArray(model.merges)) throw missing(source, 'model.merges', model.merges, 'an array of merges');
  const added = json.added_tokens;
  const isAdded = (t: unknown) => isObject(t) && typeof t.id === 'number' && typeof t.content === 'string';
  if (added !== undefined && !(Array.isArray(added) && added.every(isAdded))) {
    throw missing(source, 'added_tokens', added, 'an array of { id, content, special }');
  }
  return model;
}

function missing(source: string, field: string, value: unknown, expected: string): ProbityError {
  if (value === undefined) {
    return new ProbityError('TOKENIZER_MISSING_FIELD', `${source}: missing field ${field}; expected ${expected}`);
  }
  const shown = Array.isArray(value) ? 'an array' : show(value);
  return new ProbityError('TOKENIZER_BAD_FIELD', `${source}: field ${field} is ${shown}; expected ${expected}`);
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ProbityError('TOKENIZER_READ_FAILED', `${path}: cannot read tokenizer file: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ProbityError('TOKENIZER_BAD_JSON', `${path}: not valid JSON: ${(e as Error).message}`);
  }
}

/** tokenizer_config.json writes special tokens as "<s>" or as { content: "<s>", ... }. */
function tokenName(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (isObject(v) && typeof v.content === 'string') return v.content;
  return null;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Depth-first search of a component tree (Sequence decoders nest their parts in arrays). */
function find(node: unknown, pred: (n: Json) => boolean): boolean {
  if (Array.isArray(node)) return node.some((n) => find(n, pred));
  if (!isObject(node)) return false;
  return pred(node) || Object.values(node).some((v) => find(v, pred));
}
