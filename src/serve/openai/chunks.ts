// Streaming: the server-sent-event chunks of both endpoints, in OpenAI's shapes. Chat: a first chunk per choice with
// the role, content deltas (with `logprobs.content` when asked), a last chunk per choice with an empty delta and the
// finish_reason. Completions: `text_completion` chunks with text (and legacy logprobs), then one with the
// finish_reason. With stream_options.include_usage every chunk carries `usage: null` and one more chunk, with no
// choices, carries the usage; then `data: [DONE]`.
import type { EventStream } from '../http.js';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usage(prompt: number, completion: number): Usage {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

export class ChunkWriter {
  constructor(
    private readonly stream: EventStream,
    private readonly head: { id: string; object: 'chat.completion.chunk' | 'text_completion'; created: number; model: string; system_fingerprint: string },
    private readonly includeUsage: boolean,
  ) {}

  /** One choice's part. */
  choice(choice: Record<string, unknown>): void {
    this.stream.send({ ...this.head, choices: [choice], ...(this.includeUsage ? { usage: null } : {}) });
  }

  /** The usage chunk (if asked for) and [DONE]. */
  end(u: Usage): void {
    if (this.includeUsage) this.stream.send({ ...this.head, choices: [], usage: u });
    this.stream.done();
  }

  /** An error after the stream began (its 200 is already sent): an error event, then the end. */
  fail(error: unknown): void {
    this.stream.send(error);
    this.stream.done();
  }

  get closed(): boolean {
    return this.stream.closed;
  }
}
