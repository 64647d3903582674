/**
 * How many cases a fuzz target runs and from which seed. `npm test` runs each
 * target's own default; scripts/fuzz.ts sets FUZZ_RUNS and FUZZ_SEED for a
 * longer run. fast-check prints the seed and the shrink path of a failure,
 * and the same seed (plus path) replays it.
 */
import type { Parameters } from 'fast-check';

export interface FuzzSettings {
  /** Cases per target; undefined: the target's default. */
  runs?: number;
  seed?: number;
}

function envNumber(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, not ${JSON.stringify(text)}`);
  return value;
}

export function settingsFromEnv(): FuzzSettings {
  const runs = envNumber('FUZZ_RUNS');
  const seed = envNumber('FUZZ_SEED');
  return { ...(runs === undefined ? {} : { runs }), ...(seed === undefined ? {} : { seed }) };
}

/** fast-check parameters for a target whose default is `defaultRuns` cases. */
export function fuzzParameters<T>(defaultRuns: number, settings: FuzzSettings = settingsFromEnv()): Parameters<T> {
  return {
    numRuns: settings.runs ?? defaultRuns,
    ...(settings.seed === undefined ? {} : { seed: settings.seed }),
  };
}
