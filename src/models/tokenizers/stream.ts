// Streaming detokenisation for generation loops: token bytes go in, only complete characters come out.
import type { Tokenizer } from './types.js';

export interface StreamDecoder {
  /** Text that became complete with this token (may be "" while a multi-byte character is still partial). */
  push(id: number): string;
  /** Whatever is left (an incomplete character becomes U+FFFD). */
  end(): string;
}

export function createStreamDecoder(tok: Tokenizer, prev: number | null = null): StreamDecoder {
  const decoder = new TextDecoder('utf-8');
  return {
    push(id) {
      const text = decoder.decode(tok.decodeToken(id, prev), { stream: true });
      prev = id;
      return text;
    },
    end: () => decoder.decode(),
  };
}
