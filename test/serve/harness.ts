// Servers a test file starts in-process (on port 0), each with an openai client pointed at it; closed together.
import OpenAI from 'openai';
import { startOpenAiServer } from '../../src/serve/openai/server.js';

type Options = Parameters<typeof startOpenAiServer>[0];
type Running = Awaited<ReturnType<typeof startOpenAiServer>>;

export function serverPool(): { start(o: Options): Promise<{ s: Running; client: OpenAI }>; closeAll(): Promise<void> } {
  const running: Running[] = [];
  return {
    async start(o) {
      const s = await startOpenAiServer(o);
      running.push(s);
      return { s, client: new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 }) };
    },
    async closeAll() {
      await Promise.all(running.map((s) => s.close()));
    },
  };
}
