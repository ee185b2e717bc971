// Chat messages -> the prompt a model was trained to continue. One template per model, found in this order:
//   the organism           its corpus's own layout (src/organism/genres/chat.ts): "User: <request> Assistant: <reply>",
//                          turns joined by "\n", the prompt ending "Assistant:" (src/organism/prompts.ts chatPrompt)
//   a Jinja chat_template  GGUF `tokenizer.chat_template`, or a Hugging Face folder's `chat_template.jinja`,
//                          `chat_template.json` or `tokenizer_config.json` `chat_template`, rendered with
//                          @huggingface/jinja as transformers does (add_generation_prompt, bos_token, eos_token); the
//                          text is tokenized with no BOS added (the template writes its own, as apply_chat_template)
//   a plain fallback       "User: ...\nAssistant: ...\nAssistant:", which says it is one (`source`)
import fs from 'node:fs';
import path from 'node:path';
import { Template } from '@huggingface/jinja';
import type { Model } from '../models/model.js';
import { readGguf } from '../models/loaders/gguf.js';
import { ProbityError, show } from '../errors.js';
import { chatPrompt } from '../organism/prompts.js';

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplate {
  kind: 'organism' | 'jinja' | 'plain';
  /** Where the template came from, in words (a fallback says so). */
  source: string;
  /** The prompt text, ending where the assistant's reply begins. */
  render(messages: readonly ChatMessage[]): string;
  /** The prompt's token ids. */
  encode(messages: readonly ChatMessage[]): number[];
  /** Where the assistant's turn ends besides EOS: text that starts the next turn, end-of-turn token ids. */
  stopStrings: string[];
  stopTokens: number[];
}

/** Messages the template cannot render; `index` is the message at fault (the HTTP layer's `messages[i]`). */
export class ChatTemplateError extends ProbityError {
  constructor(
    readonly index: number | null,
    message: string,
  ) {
    super('CHAT_TEMPLATE', message);
  }
}

/** The chat template of a loaded model. */
export function chatTemplateFor(model: Model): ChatTemplate {
  const src = model.source;
  const isDir = fs.existsSync(src) && fs.statSync(src).isDirectory();
  if (isDir && fs.existsSync(path.join(src, 'tokenizer.organism.json'))) return organismTemplate(model);
  if (/\.gguf$/i.test(src) && fs.existsSync(src)) {
    const meta = readGguf(src, { lazy: true }).metadata;
    const tpl = meta['tokenizer.chat_template'];
    if (typeof tpl === 'string' && tpl.trim()) {
      const tokens = meta['tokenizer.ggml.tokens'] as string[] | undefined;
      const types = meta['tokenizer.ggml.token_type'] as number[] | undefined;
      // llama.cpp's parse_special: control and user-defined tokens written by the template are their own ids.
      const specials = new Map<string, number>();
      tokens?.forEach((t, i) => {
        if (t && (types?.[i] === 3 || types?.[i] === 4)) specials.set(t, i);
      });
      const eot = meta['tokenizer.ggml.eot_token_id'];
      return jinjaTemplate(tpl, `GGUF tokenizer.chat_template of ${path.basename(src)}`, model, specials, {}, typeof eot === 'number' ? [eot] : []);
    }
  }
  if (isDir) {
    const found = hfChatTemplate(src);
    if (found) return jinjaTemplate(found.template, found.source, model, null, found.tokens);
  }
  return plainTemplate(model);
}

/** The organism's corpus layout. It has no system role: the model never saw one. */
export function organismTemplate(model: Model): ChatTemplate {
  const render = (messages: readonly ChatMessage[]) => {
    if (messages.length === 0) throw new ChatTemplateError(null, 'messages is empty; expected at least one user message');
    const turns: string[] = [];
    messages.forEach((m, i) => {
      const want = i % 2 === 0 ? 'user' : 'assistant';
      if (m.role !== want) {
        const why = m.role === 'system' || m.role === 'developer' ? 'the organism was trained without system prompts' : 'its turns alternate user, assistant, user, ...';
        throw new ChatTemplateError(i, `role ${show(m.role)} at message ${i}: the organism's chat format expects "${want}" here (${why})`);
      }
      if (want === 'user') turns.push(chatPrompt(m.content));
      else turns[turns.length - 1] += ` ${m.content}`;
    });
    if (messages[messages.length - 1].role !== 'user') throw new ChatTemplateError(messages.length - 1, 'the last message must be the user\'s: the reply follows it');
    return turns.join('\n');
  };
  return {
    kind: 'organism', source: 'the organism\'s own chat format ("User: ... Assistant: ...")', render, encode: (m) => model.tokenizer.encode(render(m)),
    stopStrings: ['\nUser:'], stopTokens: [],
  };
}

/** "Role: content" lines and a final "Assistant:", for models that ship no template. */
export function plainTemplate(model: Model): ChatTemplate {
  const render = (messages: readonly ChatMessage[]) => {
    if (messages.length === 0) throw new ChatTemplateError(null, 'messages is empty; expected at least one message');
    const role = (r: string) => r.charAt(0).toUpperCase() + r.slice(1);
    return [...messages.map((m) => `${role(m.role)}: ${m.content}`), 'Assistant:'].join('\n');
  };
  return {
    kind: 'plain',
    source: 'plain fallback ("User: ...\\nAssistant:"): the model ships no chat template, so chat replies are not what it was tuned on',
    render,
    encode: (m) => model.tokenizer.encode(render(m)),
    stopStrings: ['\nUser:'],
    stopTokens: [],
  };
}

/**
 * A Jinja chat template. `specials` (GGUF) maps special-token strings to ids: the rendered text is split at them and
 * the pieces between are tokenized alone. Without it the tokenizer itself turns special strings into ids
 * (tokenizer.json added tokens, as Hugging Face does).
 */
export function jinjaTemplate(
  template: string, source: string, model: Model, specials: Map<string, number> | null, tokens: { bos?: string; eos?: string } = {}, stopTokens: number[] = [],
): ChatTemplate {
  let tpl: Template;
  try {
    tpl = new Template(template);
  } catch (e) {
    throw new ProbityError('CHAT_TEMPLATE', `${source}: the chat template does not parse: ${(e as Error).message}`);
  }
  const tok = model.tokenizer;
  const text = (id: number | null) => (id === null ? '' : tok.tokenText(id)); // the raw entry, e.g. "<s>"
  const bos = tokens.bos ?? text(tok.bos);
  const eos = tokens.eos ?? text(tok.eos);
  const render = (messages: readonly ChatMessage[]) => {
    if (messages.length === 0) throw new ChatTemplateError(null, 'messages is empty; expected at least one message');
    try {
      return tpl.render({ messages: messages.map((m) => ({ ...m })), add_generation_prompt: true, bos_token: bos, eos_token: eos });
    } catch (e) {
      throw new ChatTemplateError(null, `the chat template refused the messages: ${(e as Error).message}`);
    }
  };
  const encode = (messages: readonly ChatMessage[]) => {
    const s = render(messages);
    if (!specials || specials.size === 0) return tok.encode(s, { bos: false });
    return encodeWithSpecials(s, specials, (piece) => tok.encode(piece, { bos: false }));
  };
  // The template's eos_token (e.g. "<|im_end|>" where it differs from the tokenizer's EOS) ends the turn too.
  const eosIds = eos ? (specials?.has(eos) ? [specials.get(eos)!] : tok.encode(eos, { bos: false })) : [];
  const extra = eosIds.length === 1 && eosIds[0] !== tok.eos ? eosIds : [];
  return { kind: 'jinja', source, render, encode, stopStrings: [], stopTokens: [...new Set([...stopTokens, ...extra])] };
}

/** Split `s` at the longest special string found at each point; encode the text between. */
export function encodeWithSpecials(s: string, specials: Map<string, number>, encode: (piece: string) => number[]): number[] {
  const names = [...specials.keys()].sort((a, b) => b.length - a.length);
  const ids: number[] = [];
  let from = 0;
  let piece = '';
  while (from < s.length) {
    const hit = names.find((n) => s.startsWith(n, from));
    if (hit) {
      if (piece) ids.push(...encode(piece));
      piece = '';
      ids.push(specials.get(hit)!);
      from += hit.length;
    } else piece += s[from++];
  }
  if (piece) ids.push(...encode(piece));
  return ids;
}

/** A Hugging Face folder's chat template and its bos/eos strings, or null. */
function hfChatTemplate(dir: string): { template: string; source: string; tokens: { bos?: string; eos?: string } } | null {
  const cfgPath = path.join(dir, 'tokenizer_config.json');
  let cfg: Record<string, unknown> = {};
  if (fs.existsSync(cfgPath)) {
    try {
      cfg = JSON.parse(fs.readFileSync(cfgPath, 'utf8'));
    } catch (e) {
      throw new ProbityError('CHAT_TEMPLATE', `${cfgPath}: not valid JSON: ${(e as Error).message}`);
    }
  }
  const tokenString = (v: unknown) => (typeof v === 'string' ? v : v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : undefined);
  const tokens = { bos: tokenString(cfg.bos_token), eos: tokenString(cfg.eos_token) };
  const pick = (v: unknown, where: string): string | null => {
    if (typeof v === 'string') return v;
    if (Array.isArray(v)) {
      // Named templates ([{name, template}]): the "default" one, as transformers picks.
      const d = v.find((t) => t && t.name === 'default');
      if (d && typeof d.template === 'string') return d.template;
      throw new ProbityError('CHAT_TEMPLATE', `${where}: chat_template is a list with no "default" entry (names: ${show(v.map((t) => t?.name))})`);
    }
    return null;
  };
  const jinja = path.join(dir, 'chat_template.jinja');
  if (fs.existsSync(jinja)) return { template: fs.readFileSync(jinja, 'utf8'), source: jinja, tokens };
  const json = path.join(dir, 'chat_template.json');
  if (fs.existsSync(json)) {
    const t = pick((JSON.parse(fs.readFileSync(json, 'utf8')) as Record<string, unknown>).chat_template, json);
    if (t) return { template: t, source: json, tokens };
  }
  const t = pick(cfg.chat_template, cfgPath);
  return t ? { template: t, source: `${cfgPath} chat_template`, tokens } : null;
}
