// What the bench hands each of the conditional, spurious and audit suites: one shape, so a suite cannot quietly take
// a different document pool or seed list from the others.
import type { Model } from '../../models/model.js';
import type { Sae } from '../../dictionaries/sae.js';
import type { ConceptActivations } from './detect.js';

export interface SuiteRunOptions<C> {
  model: Model;
  hook: string;
  /** The SAE of split seed `seed` (undefined: no SAE methods). */
  saeOf: (seed: number) => Sae | undefined;
  seeds: number[];
  /** The bench's shared document pool (its first trainDocs documents are every seed's train candidates as in detect). */
  activations: ConceptActivations;
  trainDocs: number;
  valDocs: number;
  testDocs: number;
  docsSeed: number;
  /** The suite's own settings. */
  config: C;
  bootstrapIterations: number;
  onProgress?: (what: string) => void;
}
