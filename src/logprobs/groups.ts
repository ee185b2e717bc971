// Identical requests and the positions where their answers share a context. Two answers to one request see the same
// distribution at position t exactly when their sampled tokens agree before t; that is where logprob values can be
// compared (noise) and where a differing sampled token is a sampling difference (determinism).
import type { Sequence, TokenObservation } from './types.js';

export interface RequestGroup {
  key: string;
  members: Sequence[];
}

/** Groups of >= 2 logged answers to identical requests (only sequences that carry logprobs, when `withLogprobs`). */
export function identicalGroups(seqs: readonly Sequence[], withLogprobs = false): RequestGroup[] {
  const by = new Map<string, Sequence[]>();
  for (const s of seqs) {
    if (s.groupKey === null || (withLogprobs && !s.hasLogprobs)) continue;
    const g = by.get(s.groupKey) ?? [];
    g.push(s);
    by.set(s.groupKey, g);
  }
  return [...by].filter(([, m]) => m.length >= 2).map(([key, members]) => ({ key, members }));
}

/** One position t shared by >= 2 members of a group: their observations at t, all with identical tokens before t. */
export interface SharedPosition {
  position: number;
  observations: TokenObservation[];
  members: Sequence[];
}

/** Every (position, context) shared by at least two members, walking the members' token prefixes. */
export function sharedPositions(group: RequestGroup): SharedPosition[] {
  const out: SharedPosition[] = [];
  // A bucket holds the members whose tokens agreed at every earlier position.
  let buckets: Sequence[][] = [group.members];
  for (let t = 0; buckets.length > 0; t++) {
    const next: Sequence[][] = [];
    for (const b of buckets) {
      const alive = b.filter((s) => t < s.tokens.length);
      if (alive.length < 2) continue;
      out.push({ position: t, observations: alive.map((s) => s.tokens[t]), members: alive });
      const byToken = new Map<string, Sequence[]>();
      for (const s of alive) byToken.set(s.tokens[t].token, [...(byToken.get(s.tokens[t].token) ?? []), s]);
      for (const sub of byToken.values()) if (sub.length >= 2) next.push(sub);
    }
    buckets = next;
  }
  return out;
}
