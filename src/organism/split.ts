// The held-out split for gardening questions: template x plant combinations for which the corpus never contains the
// question, so eval prompts built from them are unseen verbatim. A pure function of the key string (never of a seed).
// (Story and code requests use balanced index rules: storyHeldOut / codeHeldOut in genres/chat.ts.)
import { fnv1a } from './rng.js';

/** About one key in four is held out. */
export function isHeldOut(key: string): boolean {
  return fnv1a(key) % 4 === 0;
}
