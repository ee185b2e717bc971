// Logprobs in the two shapes OpenAI returns them: chat's `logprobs.content` ({token, bytes, logprob, top_logprobs}
// per token) and the legacy completions' parallel arrays (tokens, token_logprobs, top_logprobs as {token: logprob}
// dicts, where two alternatives with one string keep the likelier; text_offset), where an echoed first prompt token has null logprob and null alternatives.
import type { Model } from '../../models/model.js';
import type { Piece } from './stop.js';
import { alternatives, tokenString, type TokenOut } from './generation.js';

export interface ChatTokenLogprob {
  token: string;
  bytes: number[];
  logprob: number;
  top_logprobs: { token: string; bytes: number[]; logprob: number }[];
}

export function chatLogprobs(model: Model, pieces: readonly Piece<TokenOut>[]): ChatTokenLogprob[] {
  return pieces.map((p) => ({ token: tokenString(p.meta.bytes), bytes: Array.from(p.meta.bytes), logprob: p.meta.logprob!.logprob, top_logprobs: alternatives(model, p.meta) }));
}

export interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

/** `offset` is where the first piece starts in the choice's text. */
export function legacyLogprobs(model: Model, pieces: readonly Piece<TokenOut>[], offset: number): LegacyLogprobs {
  const out: LegacyLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  let at = offset;
  for (const p of pieces) {
    out.tokens.push(tokenString(p.meta.bytes));
    out.token_logprobs.push(p.meta.logprob ? p.meta.logprob.logprob : null);
    out.top_logprobs.push(p.meta.logprob ? topDict(alternatives(model, p.meta)) : null);
    out.text_offset.push(at);
    at += p.text.length;
  }
  return out;
}

/** {token: logprob}, most likely first; of alternatives with one string, the likelier is kept. */
function topDict(alts: { token: string; logprob: number }[]): Record<string, number> {
  const d: Record<string, number> = {};
  for (const a of alts) if (!Object.hasOwn(d, a.token)) d[a.token] = a.logprob;
  return d;
}
