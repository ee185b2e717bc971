// A synthetic latent list (index.json columns) for tests of search, sort, paging and latency at 16k+ latents.
import { Rng } from '../../src/stats/rng.js';
import { DASHBOARD_FORMAT, type DashboardIndex } from '../../src/dashboard/data/format.js';

const WORDS = ['dog', 'cat', 'park', 'happy', 'sad', 'rain', ' the', ' a', '.', 'Tom', 'Mia', 'regex', 'test', 'flag', 'capital', 'garden'];

/** n latents, 5% dead (no tokens, no concept), the rest with random columns drawn from a small word list. */
export function syntheticIndex(n: number, seed = 1): DashboardIndex {
  const rng = new Rng(seed);
  const pick = () => WORDS[Math.floor(rng.next() * WORDS.length)];
  const ix: DashboardIndex = {
    format: DASHBOARD_FORMAT, sae: 'synthetic', hook: 'blocks.0.hook_resid_post', dSae: n, tokens: 1e6, docs: 1e4, source: { kind: 'organism-docs', seed: 0, split: 'synthetic' },
    groupSize: 256, concepts: true, density: [], maxAct: [], meanAct: [], topTokens: [], snippet: [], bestConcept: [], bestF1: [], aurocConcept: [], bestAuroc: [],
  };
  for (let i = 0; i < n; i++) {
    const dead = rng.next() < 0.05;
    ix.density.push(dead ? 0 : Math.round(rng.next() * 1e4) / 1e6);
    ix.maxAct.push(dead ? 0 : Math.round(rng.next() * 1000) / 100);
    ix.meanAct.push(dead ? 0 : Math.round(rng.next() * 300) / 100);
    ix.topTokens.push(dead ? [] : Array.from({ length: 3 }, pick));
    ix.snippet.push(dead ? '' : Array.from({ length: 12 }, pick).join(' '));
    ix.bestConcept.push(dead ? null : 'tone:happy');
    ix.bestF1.push(dead ? null : Math.round(rng.next() * 1000) / 1000);
    ix.aurocConcept.push(dead ? null : 'tone:sad');
    ix.bestAuroc.push(dead ? null : 0.5 + Math.round(rng.next() * 500) / 1000);
  }
  return ix;
}
